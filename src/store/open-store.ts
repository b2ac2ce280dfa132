// Opening the configured store, for the daemon and the `tav` commands alike: the embedded SQLite file
// (the default: its lock file keeps a second daemon off it) or a PostgreSQL database that several
// daemons share (TAV_DATABASE_URL). Both are migrated by the same knex migrations before use.
import type { Knex } from 'knex';
import type { Config, DatabaseConfig } from '../config.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import { migrateToLatest } from './migrate.js';
import { advisoryLockKey } from './pg/pg-coordination-sql.js';
import { openPgPool, PgStore, type PgStoreOptions } from './pg/pg-store.js';
import type { RetentionStore } from './retention-store.js';
import { acquireDaemonLock } from './sqlite/daemon-lock.js';
import { openKnexSqlite } from './sqlite/knex-sqlite.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** A store with retention's access to it, whichever the dialect. */
export type OpenedStore = Store & { retention(): RetentionStore };

/** What the daemon passes the store to hear about (metrics, fleet wake-ups, readiness). */
export interface StoreHooks {
  onCommit?: (batchSize: number, commitMs: number) => void;
  onEnqueued?: PgStoreOptions['onEnqueued'];
  onConnectionLost?: PgStoreOptions['onConnectionLost'];
}

/** The opened store; `pg` is set on PostgreSQL (the fleet needs its queue and pool). */
export interface StoreHandle {
  store: OpenedStore;
  pg: PgStore | null;
  /** Releases what keeps other daemons off (the SQLite lock file); after store.close(). */
  release(): void;
}

/** Takes the SQLite lock when the store is SQLite, migrates, and opens the store. */
export async function openDaemonStore(config: Config, log: Logger, clock: Clock, hooks: StoreHooks): Promise<StoreHandle> {
  const database = config.database;
  if (database.kind === 'postgres') {
    const applied = await migratePostgres(database);
    if (applied.length > 0) log.info('migrations applied', { applied, schema: database.schema });
    const pg = new PgStore({ url: database.url, schema: database.schema, poolMax: database.poolMax, writerMaxBatch: config.writerMaxBatch, dataDir: config.dataDir, clock, log, ...hooks });
    return { store: pg, pg, release: () => undefined };
  }
  const release = acquireDaemonLock(config.dbPath);
  try {
    const knex = openKnexSqlite(config.dbPath);
    try {
      const applied = await migrateToLatest(knex);
      if (applied.length > 0) log.info('migrations applied', { applied });
    } finally {
      await knex.destroy();
    }
    const store = new SqliteStore({ dbPath: config.dbPath, synchronous: config.sqliteSynchronous, writerMaxBatch: config.writerMaxBatch, writerMaxDelayMs: config.writerMaxDelayMs, clock, log, onCommit: hooks.onCommit });
    return { store, pg: null, release };
  } catch (error) {
    release();
    throw error;
  }
}

/**
 * Creates the schema if needed and applies pending migrations, one daemon at a time: daemons of a
 * fleet started together would otherwise race for knex's migration lock and all but one fail.
 */
export async function migratePostgres(database: Extract<DatabaseConfig, { kind: 'postgres' }>): Promise<string[]> {
  const knex = openPgPool(database.url, database.schema, 2);
  try {
    return await withPostgresMigrationLock(knex, database.schema, async () => {
      await knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [database.schema]);
      return migrateToLatest(knex);
    });
  } finally {
    await knex.destroy();
  }
}

// A session advisory lock held on one pinned connection for the whole migration.
async function withPostgresMigrationLock<T>(knex: Knex, schema: string, run: () => Promise<T>): Promise<T> {
  const key = advisoryLockKey(`tav:migrate:${schema}`);
  const connection = await knex.client.acquireConnection();
  const query = (sql: string) => knex.raw(sql, [key]).connection(connection);
  try {
    await query('SELECT pg_advisory_lock(?::bigint)');
    try {
      return await run();
    } finally {
      await query('SELECT pg_advisory_unlock(?::bigint)');
    }
  } finally {
    await knex.client.releaseConnection(connection);
  }
}
