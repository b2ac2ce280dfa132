// Real daemons on the real PostgreSQL: a schema of their own per test (a fleet), settings written
// before they start, and every daemon after the first given the admin key the first one made (they
// share its users and keys through the database, not its data folder).
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { migratePostgres } from '../../src/store/open-store.js';
import { makeDataDir, startDaemon, type StartOptions, type TestDaemon } from './daemon.js';
import { testPgUrl } from './pg-schema.js';

/** One schema several daemons share. */
export interface TestFleet {
  schema: string;
  /** Environment that points a daemon at the fleet's schema. */
  env: Record<string, string>;
  /** Starts a daemon of the fleet; the first creates the admin key, later ones reuse it. */
  start(options?: StartOptions): Promise<TestDaemon>;
  /** Runs SQL on the fleet's schema (test setup and checks). */
  query<T = Record<string, unknown>>(sql: string, bindings?: unknown[]): Promise<T[]>;
  /** Drops the schema unless `keep` (a failing test keeps it for inspection). */
  drop(keep?: boolean): Promise<void>;
}

// Every daemon of a fleet must seal credentials with one key; a fixed test key (never a real one).
const fleetEncryptionKey = Buffer.alloc(32, 7).toString('base64');

/** Creates and migrates a schema, with `settings` written over the seeded defaults. */
export async function createTestFleet(label: string, settings: Record<string, Record<string, unknown>> = {}): Promise<TestFleet> {
  const schema = `tav_${label.replace(/\W/g, '_')}_${randomBytes(5).toString('hex')}`;
  await migratePostgres({ kind: 'postgres', url: testPgUrl, schema, poolMax: 2 });
  const db = knexFactory({ client: 'pg', connection: testPgUrl, searchPath: [schema], pool: { min: 0, max: 2 } });
  for (const [category, values] of Object.entries(settings)) {
    for (const [key, value] of Object.entries(values)) {
      const updated = await db('settings').where({ category, key }).update({ value: JSON.stringify(value) });
      if (updated === 0) await db('settings').insert({ category, key, value: JSON.stringify(value), updated_at: new Date().toISOString() });
    }
  }
  const env = { TAV_DATABASE_URL: testPgUrl, TAV_DATABASE_SCHEMA: schema, TAV_ENCRYPTION_KEY: fleetEncryptionKey };
  let adminKey: string | null = null;
  return {
    schema,
    env,
    async start(options = {}) {
      const dataDir = options.dataDir ?? makeDataDir(label);
      if (adminKey !== null) fs.writeFileSync(path.join(dataDir, 'admin-api-key'), `${adminKey}\n`, { mode: 0o600 });
      const daemon = await startDaemon({ ...options, dataDir, env: { ...env, ...options.env } });
      adminKey ??= daemon.key;
      return daemon;
    },
    async query<T>(sql: string, bindings: unknown[] = []) {
      const result = (await db.raw(sql, bindings as never[])) as { rows: T[] };
      return result.rows;
    },
    async drop(keep = false) {
      if (keep) console.error(`PostgreSQL schema kept as ${schema}`);
      else await db.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
      await db.destroy();
    },
  };
}
