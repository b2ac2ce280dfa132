// The two queue backends behind one asynchronous facade, so one contract suite
// (test/integration/queue-contract.test.ts) drives SQLite and PostgreSQL alike. Each backend gets a
// database of its own per run (a temp data folder; a fresh PostgreSQL schema) and an injected clock.
// Setup that has no queue method (a workflow to point at, an open approval question, an execution's
// status) is done with plain rows, as the store's other families would leave them.
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import type { Clock } from '../../src/domain/clock.js';
import type { ClaimedEvent, EnqueueRequest, QueuedEvent } from '../../src/domain/event.js';
import { createLogger } from '../../src/log.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { PgQueue } from '../../src/store/pg/pg-queue.js';
import type { EnqueueOutcome, QueueDepth, RunFinish } from '../../src/store/queue-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeDataDir, prepareDatabase } from './daemon.js';
import { createBareWorkflow } from './store-fixture.js';

/** The queue operations the contract exercises, every one a Promise whatever the backend. */
export interface ContractQueue {
  enqueue(request: EnqueueRequest, sortKey: number, maxPending?: number): Promise<EnqueueOutcome>;
  claim(limit: number, owner: string, leaseMs: number, maxPerWorkflow?: number): Promise<ClaimedEvent[]>;
  finishRun(finish: RunFinish): Promise<boolean>;
  cancelPendingEvent(id: number): Promise<{ cancelled: boolean; event: QueuedEvent } | null>;
  getEvent(id: number): Promise<QueuedEvent | null>;
  queueDepth(): Promise<QueueDepth>;
  nextDueAt(): Promise<number | null>;
  /** An empty, active workflow for events to point at. */
  createWorkflow(id: string): Promise<void>;
  /** An approval question still waiting for an answer on this execution (what makes a pause hold). */
  openQuestion(workflowId: string, executionId: string): Promise<void>;
  /** The execution's status, or null when there is none. */
  executionStatus(id: string): Promise<string | null>;
}

/** One backend: `start` once per run, `fresh` an empty queue per test, `stop` at the end. */
export interface QueueBackend {
  name: string;
  start(clock: Clock): Promise<void>;
  fresh(): Promise<ContractQueue>;
  /** Releases connections; drops the database unless `keep` (a failing run keeps it for inspection). */
  stop(keep: boolean): Promise<void>;
}

const pgUrl = process.env.TAV_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** SQLite: a new temp data folder per test (the root hooks remove them after a passing run). */
export function createSqliteBackend(): QueueBackend {
  let clock: Clock;
  let current: SqliteStore | null = null;
  return {
    name: 'SQLite',
    async start(given) {
      clock = given;
    },
    async fresh() {
      await current?.close();
      const dataDir = makeDataDir('queue-contract');
      await prepareDatabase(dataDir);
      const store = new SqliteStore({ dbPath: path.join(dataDir, 'tav_engine.db'), synchronous: 'NORMAL', writerMaxBatch: 1000, writerMaxDelayMs: 0, clock, log: createLogger('error', { silent: true }) });
      current = store;
      return {
        enqueue: (request, sortKey, maxPending) => store.enqueue(request, sortKey, maxPending),
        claim: (limit, owner, leaseMs, maxPerWorkflow) => store.claim(limit, owner, leaseMs, maxPerWorkflow),
        finishRun: (finish) => store.finishRun(finish),
        cancelPendingEvent: (id) => store.cancelPendingEvent(id),
        getEvent: (id) => store.getEvent(id),
        queueDepth: () => store.queueDepth(),
        nextDueAt: () => store.nextDueAt(),
        createWorkflow: (id) => createBareWorkflow(store, id),
        openQuestion: async (workflowId, executionId) => {
          await store.createInteraction({ interactionId: randomUUID(), tokenHash: 'contract', workflowId, executionId, nodeId: 'ask', emailData: {}, expiresAtMs: clock.now() + 3_600_000 });
        },
        executionStatus: async (id) => (await store.getExecution(id))?.status ?? null,
      };
    },
    async stop() {
      await current?.close();
      current = null;
    },
  };
}

/** PostgreSQL: one fresh schema per run, migrated by the project's migrations, emptied before each test. */
export function createPgBackend(): QueueBackend {
  const schema = `tav_contract_${randomBytes(6).toString('hex')}`;
  let admin: Knex | null = null;
  let pool: Knex | null = null;
  let clock: Clock;
  return {
    name: 'PostgreSQL',
    async start(given) {
      clock = given;
      admin = knexFactory({ client: 'pg', connection: pgUrl, pool: { min: 0, max: 1 } });
      await admin.raw('CREATE SCHEMA ??', [schema]);
      pool = knexFactory({ client: 'pg', connection: pgUrl, searchPath: [schema], pool: { min: 0, max: 4 } });
      await migrateToLatest(pool);
    },
    async fresh() {
      const db = pool as Knex;
      // Row deletes (not TRUNCATE) so the depth triggers keep workflow_queue_depth in step.
      await db('email_interactions').delete();
      await db('event_queue').delete();
      await db('executions').delete();
      const queue = new PgQueue(db, clock);
      return {
        enqueue: (request, sortKey, maxPending) => queue.enqueue(request, sortKey, maxPending),
        claim: (limit, owner, leaseMs, maxPerWorkflow) => queue.claim(limit, owner, leaseMs, maxPerWorkflow),
        finishRun: (finish) => queue.finishRun(finish),
        cancelPendingEvent: (id) => queue.cancelPendingEvent(id),
        getEvent: (id) => queue.getEvent(id),
        queueDepth: () => queue.queueDepth(),
        nextDueAt: () => queue.nextDueAt(),
        createWorkflow: async (id) => {
          await db('workflows').insert({ id, name: `wf ${id}`, workflow_data: JSON.stringify({ nodes: [], connections: [] }), is_active: true, created_at: new Date(clock.now()).toISOString() });
        },
        openQuestion: async (workflowId, executionId) => {
          await db('email_interactions').insert({
            interaction_id: randomUUID(),
            workflow_id: workflowId,
            execution_id: executionId,
            node_id: 'ask',
            email_data: JSON.stringify({}),
            status: 'pending',
            token_hash: 'contract',
            created_at: new Date(clock.now()).toISOString(),
            expires_at: new Date(clock.now() + 3_600_000).toISOString(),
          });
        },
        executionStatus: async (id) => {
          const row = (await db('executions').where({ id }).first('status')) as { status: string } | undefined;
          return row?.status ?? null;
        },
      };
    },
    async stop(keep) {
      await pool?.destroy();
      if (keep) console.error(`queue contract: PostgreSQL schema kept as ${schema}`);
      else await admin?.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
      await admin?.destroy();
    },
  };
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
