// A fresh PostgreSQL schema for one drain run: created and migrated the way a daemon does it
// (migratePostgres), the benchmark settings written over the seeded defaults, dropped after the run.
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import { migratePostgres } from '../src/store/open-store.js';
import { benchSettings } from './bench-settings.js';

/** The server the PostgreSQL drains run on: TAV_BENCH_PG_URL, else the tests' (TAV_TEST_PG_URL), else the local one. */
export const benchPgUrl = process.env.TAV_BENCH_PG_URL ?? process.env.TAV_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The server as printed next to the figures: host, port and database, never the credentials. */
export function describePgServer(): string {
  const url = new URL(benchPgUrl);
  return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
}

/** One run's schema. */
export interface BenchSchema {
  schema: string;
  /** A small pool on the schema, for preloading and probing. */
  db: Knex;
  /** What points a daemon at the schema; every daemon gets the same encryption key. */
  env: Record<string, string>;
  /** Drops the schema and closes the pool. */
  drop(): Promise<void>;
}

/** Creates, migrates and configures a schema named after `label`. */
export async function createBenchSchema(label: string): Promise<BenchSchema> {
  const schema = `tav_bench_${label.replace(/\W/g, '_')}_${randomBytes(5).toString('hex')}`;
  const db = knexFactory({ client: 'pg', connection: { connectionString: benchPgUrl, application_name: 'tav-bench' }, searchPath: [schema], pool: { min: 0, max: 2 } });
  const drop = async () => {
    try {
      await db.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
    } finally {
      await db.destroy();
    }
  };
  try {
    await migratePostgres({ kind: 'postgres', url: benchPgUrl, schema, poolMax: 2 });
    await writeSettings(db, benchSettings);
  } catch (error) {
    await drop();
    throw error;
  }
  const env = { TAV_DATABASE_URL: benchPgUrl, TAV_DATABASE_SCHEMA: schema, TAV_ENCRYPTION_KEY: randomBytes(32).toString('base64') };
  return { schema, db, env, drop };
}

// As prepareDatabase does on SQLite: update the seeded row, insert the ones the seed lacks.
async function writeSettings(db: Knex, settings: Record<string, Record<string, unknown>>): Promise<void> {
  for (const [category, values] of Object.entries(settings)) {
    for (const [key, value] of Object.entries(values)) {
      const updated = await db('settings').where({ category, key }).update({ value: JSON.stringify(value) });
      if (updated === 0) await db('settings').insert({ category, key, value: JSON.stringify(value), updated_at: new Date().toISOString() });
    }
  }
}
