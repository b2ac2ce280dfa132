// The two stores the contract suite (test/integration/contract-*.test.ts, through test/helpers/contract.ts)
// runs against, opened as the daemon opens them: a SqliteStore on a temp data folder, and a whole PgStore
// on a schema migrated by migratePostgres. Each test gets an empty database and an injected clock; a
// failing test's database is kept for inspection. The setup helpers below go through the port too, so
// the suite never writes a row behind the store's back.
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import type { Clock } from '../../src/domain/clock.js';
import { createLogger } from '../../src/log.js';
import { migratePostgres, type OpenedStore } from '../../src/store/open-store.js';
import { PgStore } from '../../src/store/pg/pg-store.js';
import type { RunFinish, Store } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createBareWorkflow } from './store-fixture.js';
import { makeDataDir, prepareDatabase } from './daemon.js';
import { testPgUrl } from './pg-schema.js';

/** The lease upkeep of a fleet (PostgreSQL): the heartbeat and the reclaim of a dead daemon's events. */
export interface LeaseUpkeep {
  renewLeases(owner: string, leaseMs: number, eventIds: number[]): Promise<number>;
  reclaimExpired(): Promise<{ requeued: number; failed: number }>;
}

/** What a test drives: the whole port with retention, and the lease upkeep where the store has one. */
export interface OpenedBackend {
  store: OpenedStore;
  leases: LeaseUpkeep | null;
}

/** One kind of store: `open` an empty one per test, `close` it after, `stop` once at the end. */
export interface StoreBackend {
  name: 'SQLite' | 'PostgreSQL';
  /** True where several daemons share the database, so leases are renewed and reclaimed while they run. */
  fleet: boolean;
  open(clock: Clock): Promise<OpenedBackend>;
  /** Closes the test's store; `keep` (the test failed) leaves its database for inspection. */
  close(keep: boolean): Promise<void>;
  stop(): Promise<void>;
}

const silentLog = () => createLogger('error', { silent: true });

/** SQLite: a new temp data folder per test; the root hooks remove them after a passing run. */
export function createSqliteBackend(): StoreBackend {
  let current: SqliteStore | null = null;
  return {
    name: 'SQLite',
    fleet: false,
    async open(clock) {
      const dataDir = makeDataDir('store-contract');
      await prepareDatabase(dataDir);
      current = new SqliteStore({ dbPath: path.join(dataDir, 'tav_engine.db'), synchronous: 'NORMAL', writerMaxBatch: 1000, writerMaxDelayMs: 0, clock, log: silentLog() });
      return { store: current, leases: null };
    },
    async close() {
      await current?.close();
      current = null;
    },
    async stop() {},
  };
}

/**
 * PostgreSQL: a schema migrated as a daemon migrates it. Migrating takes about half a second, so after
 * a passing test the schema is emptied (TRUNCATE of every table, identities restarted: as new) and the
 * next test reuses it; a failing test's schema is kept, and the next test migrates a new one.
 */
export function createPgBackend(): StoreBackend {
  let schema: string | null = null;
  let current: PgStore | null = null;
  let admin: Knex | null = null;
  const adminPool = () => (admin ??= knexFactory({ client: 'pg', connection: testPgUrl, pool: { min: 0, max: 1 } }));
  return {
    name: 'PostgreSQL',
    fleet: true,
    async open(clock) {
      if (schema === null) {
        schema = `tav_contract_${randomBytes(6).toString('hex')}`;
        await migratePostgres({ kind: 'postgres', url: testPgUrl, schema, poolMax: 2 });
      }
      current = new PgStore({ url: testPgUrl, schema, poolMax: 6, writerMaxBatch: 500, dataDir: makeDataDir('store-contract-pg'), clock, log: silentLog() });
      return { store: current, leases: current };
    },
    async close(keep) {
      await current?.close();
      current = null;
      if (schema === null) return;
      if (keep) {
        console.error(`store contract: PostgreSQL schema kept as ${schema}`);
        schema = null;
      } else {
        await emptySchema(adminPool(), schema);
      }
    },
    async stop() {
      if (schema !== null) await adminPool().raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
      schema = null;
      await admin?.destroy();
      admin = null;
    },
  };
}

// Every table but the migrations' own. workflow_queue_depth goes with event_queue: TRUNCATE fires no
// row triggers, so emptying one without the other would break the depth counter's invariant.
async function emptySchema(admin: Knex, schema: string): Promise<void> {
  const found = await admin.raw(`SELECT tablename FROM pg_tables WHERE schemaname = ? AND tablename NOT LIKE 'knex_migrations%'`, [schema]);
  const tables = (found.rows as Array<{ tablename: string }>).map((row) => `${schema}.${row.tablename}`);
  await admin.raw('TRUNCATE ?? RESTART IDENTITY CASCADE', [tables]);
}

/** Creates an empty, active workflow `id`: enough for events to point at. */
export function createWorkflow(store: Store, id: string): Promise<void> {
  return createBareWorkflow(store, id, `wf ${id}`);
}

/** Opens an approval question on the execution, still waiting for its answer (what makes a pause hold). */
export async function openQuestion(store: Store, workflowId: string, executionId: string, expiresAtMs: number, nodeId = 'ask'): Promise<string> {
  const interactionId = randomUUID();
  await store.createInteraction({ interactionId, tokenHash: 'contract', workflowId, executionId, nodeId, emailData: {}, expiresAtMs });
  return interactionId;
}

/** The execution's status, or null when there is none. */
export async function executionStatus(store: Store, id: string): Promise<string | null> {
  return (await store.getExecution(id))?.status ?? null;
}

/** The end of a claimed attempt as finishRun takes it: completed unless `overrides` say otherwise. */
export function runFinish(claimed: { id: number; leaseToken: string; executionId: string }, overrides: Partial<RunFinish> = {}): RunFinish {
  return {
    eventId: claimed.id,
    leaseToken: claimed.leaseToken,
    executionId: claimed.executionId,
    executionStatus: 'completed',
    nodeResults: {},
    finalOutputs: { done: true },
    errorMessage: null,
    executionMetadata: {},
    event: { kind: 'completed' },
    ...overrides,
  };
}
