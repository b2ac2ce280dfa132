// Opening the SQLite file: one write connection with the pragmas the writer relies on, and
// read-only connections for API reads (WAL lets them read beside the writer).
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** How the write connection trades durability for speed. */
export type SynchronousMode = 'NORMAL' | 'FULL';

/** Opens the write connection: WAL, the requested synchronous level, foreign keys enforced. */
export function openWriteConnection(dbPath: string, synchronous: SynchronousMode): Database.Database {
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const db = new Database(dbPath);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  // Another process (a `tav` command) may hold the write lock for a moment.
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -16000');
  db.pragma('temp_store = MEMORY');
  return db;
}

/** Opens a read-only connection for queries that must not wait on the writer. */
export function openReadConnection(dbPath: string): Database.Database {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma('cache_size = -8000');
  return db;
}

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** The prepared statement for `sql` on `db`, prepared on first use and then reused. */
export function statement(db: Database.Database, sql: string): Database.Statement {
  let statements = cache.get(db);
  if (!statements) {
    statements = new Map();
    cache.set(db, statements);
  }
  let prepared = statements.get(sql);
  if (!prepared) {
    prepared = db.prepare(sql);
    statements.set(sql, prepared);
  }
  return prepared;
}
