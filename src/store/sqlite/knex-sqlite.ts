// A knex handle on the SQLite file, for migrations and seeds (knex owns the schema; the hot path
// uses hand-written statements on the writer's own connection).
import fs from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';

/** Opens knex on `dbPath` with foreign keys enforced; destroy it when done. */
export function openKnexSqlite(dbPath: string): Knex {
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  return knexFactory({
    client: 'better-sqlite3',
    connection: { filename: dbPath },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      afterCreate: (connection: { pragma(sql: string): unknown }, done: (error: Error | null, connection: unknown) => void) => {
        connection.pragma('journal_mode = WAL');
        connection.pragma('foreign_keys = ON');
        connection.pragma('busy_timeout = 5000');
        done(null, connection);
      },
    },
  });
}
