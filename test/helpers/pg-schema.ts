// A fresh PostgreSQL schema per test file, migrated by the project's migrations: what the PostgreSQL
// family tests stand on. The server is the real one (TAV_TEST_PG_URL, else the machine's local one);
// the schema is dropped at close unless the run failed and `keep` asks to inspect it.
import os from 'node:os';
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import type { Clock } from '../../src/domain/clock.js';
import { createLogger } from '../../src/log.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import type { PgContext } from '../../src/store/pg/pg-family.js';
import { PgWriter } from '../../src/store/pg/pg-writer.js';

export const testPgUrl = process.env.TAV_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A migrated schema of its own, a pool on it, and a PgContext for the adapter's families. */
export interface PgTestSchema {
  schema: string;
  db: Knex;
  context: PgContext;
  close(keep?: boolean): Promise<void>;
}

/** Creates and migrates a schema named after `label`; `clock` defaults to the real one. */
export async function openPgTestSchema(label: string, clock: Clock = { now: () => Date.now() }): Promise<PgTestSchema> {
  const schema = `tav_${label.replace(/\W/g, '_')}_${randomBytes(5).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: testPgUrl, pool: { min: 0, max: 1 } });
  await admin.raw('CREATE SCHEMA ??', [schema]);
  const db = knexFactory({ client: 'pg', connection: testPgUrl, searchPath: [schema], pool: { min: 0, max: 6 } });
  await migrateToLatest(db);
  const log = createLogger('error', { silent: true });
  const writer = new PgWriter(db, { maxBatch: 500, log });
  const resultsRoot = mkdtempSync(path.join(os.tmpdir(), 'tav-pg-results-'));
  const resultsDir = path.join(resultsRoot, 'results');
  return {
    schema,
    db,
    context: { db, writer, clock, log, resultsDir },
    async close(keep = false) {
      await writer.close();
      await db.destroy();
      if (keep) console.error(`PostgreSQL schema kept as ${schema}`);
      else await admin.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
      await admin.destroy();
      rmSync(resultsRoot, { recursive: true, force: true });
    },
  };
}
