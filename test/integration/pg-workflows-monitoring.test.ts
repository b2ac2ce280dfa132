// The workflows and monitoring families on PostgreSQL, held to their SQLite twins: every step runs on a
// fresh SQLite store and on a fresh PostgreSQL schema with the same fake clock, and the two answers must
// be equal (shapes, times, order). Then what only PostgreSQL has: a delete racing an enqueue or a new
// execution on another connection must wait for it and answer 'busy' (never deadlock, never delete
// under running work), and two daemons starting one workflow's monitoring keep one start time.
// A failing run keeps its schema.
import path from 'node:path';
import { expect } from 'chai';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import { claimSortKey, type EnqueueRequest } from '../../src/domain/event.js';
import type { MonitoringStore, TriggerState } from '../../src/store/monitoring-store.js';
import { PgMonitoring } from '../../src/store/pg/pg-monitoring.js';
import { triggerStateNamespace as pgTriggerNamespace } from '../../src/store/pg/pg-monitoring-sql.js';
import * as queueSql from '../../src/store/pg/pg-queue-sql.js';
import { PgQueue } from '../../src/store/pg/pg-queue.js';
import { PgWorkflows } from '../../src/store/pg/pg-workflows.js';
import { PgWriter } from '../../src/store/pg/pg-writer.js';
import { triggerStateNamespace as sqliteTriggerNamespace } from '../../src/store/sqlite/monitoring-sql.js';
import { openKnexSqlite } from '../../src/store/sqlite/knex-sqlite.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { WorkflowInput, WorkflowStore } from '../../src/store/workflow-store.js';
import { openPgTestSchema, testPgUrl, type PgTestSchema } from '../helpers/pg-schema.js';
import { openTestStore } from '../helpers/store-fixture.js';

const minuteMs = 60_000;
const systemUser = 1;

function workflowInput(name: string, overrides: Partial<WorkflowInput> = {}): WorkflowInput {
  return {
    name,
    description: `${name} does things`,
    version: '2.1.0',
    workflow_data: {
      nodes: [{ node_id: 'n1', node_type: 'webhook_trigger', config: { path: '/hook', methods: ['POST'], nested: { deep: [1, 'two', null] } } }],
      connections: [],
      variables: { greeting: 'grüß dich' },
    },
    tags: ['ops', 'nightly'],
    execution_config: { timeout_seconds: 30, retries: { max: 2 } },
    is_active: true,
    is_template: false,
    template_category: null,
    author_id: systemUser,
    ...overrides,
  };
}

function eventRequest(workflowId: string, nowMs: number): EnqueueRequest {
  return { workflowId, eventType: 'manual', eventData: { n: 1 }, priority: 3, source: 'api', runAt: nowMs, maxAttempts: 3, dedupKey: null };
}

/** Trigger states as sorted entries: neither backend promises an order of the Map. */
function sortedStates(states: Map<string, TriggerState>): Array<[string, TriggerState]> {
  return [...states.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Polls until `check` holds; fails after `timeoutMs`. */
async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('PostgreSQL workflows and monitoring, twins of SQLite', function () {
  const clock = { at: Date.parse('2026-03-01T09:00:00.000Z'), now() { return this.at; } };
  let sqlite: SqliteStore;
  let sqliteKnex: Knex;
  let pgSchema: PgTestSchema;
  let pgWorkflows: PgWorkflows;
  let pgMonitoring: PgMonitoring;
  let pgQueue: PgQueue;
  let failed = false;

  /** Runs `step` on the SQLite side, then on the PostgreSQL side; the answers must be equal. Returns SQLite's. */
  function twins<Side>(sides: () => [Side, Side]) {
    return async <T>(step: (side: Side) => Promise<T>): Promise<T> => {
      const [onSqlite, onPg] = sides();
      const fromSqlite = await step(onSqlite);
      const fromPg = await step(onPg);
      expect(fromPg, 'PostgreSQL answers as SQLite does').to.deep.equal(fromSqlite);
      return fromSqlite;
    };
  }

  /** What a test needs of one backend: its families, plain rows, and its queue. */
  interface Backend {
    workflows: WorkflowStore;
    monitoring: MonitoringStore;
    db: Knex;
    enqueue(request: EnqueueRequest): Promise<number>;
    /** True when the event was pending and is now cancelled. */
    cancel(eventId: number): Promise<boolean | undefined>;
  }

  const both = twins<Backend>(() => [
    {
      workflows: sqlite,
      monitoring: sqlite,
      db: sqliteKnex,
      enqueue: async (request) => (await sqlite.enqueue(request, claimSortKey(request.priority, request.runAt, 1000), 100)).event.id,
      cancel: async (id) => (await sqlite.cancelPendingEvent(id))?.cancelled,
    },
    {
      workflows: pgWorkflows,
      monitoring: pgMonitoring,
      db: pgSchema.db,
      enqueue: async (request) => (await pgQueue.enqueue(request, claimSortKey(request.priority, request.runAt, 1000), 100)).event.id,
      cancel: async (id) => (await pgQueue.cancelPendingEvent(id))?.cancelled,
    },
  ]);

  before(async function () {
    const opened = await openTestStore('pg-twin-workflows-monitoring', clock);
    sqlite = opened.store;
    sqliteKnex = openKnexSqlite(path.join(opened.dataDir, 'tav_engine.db'));
    pgSchema = await openPgTestSchema('workflows_monitoring', clock);
    pgWorkflows = new PgWorkflows(pgSchema.context);
    pgMonitoring = new PgMonitoring(pgSchema.context);
    pgQueue = new PgQueue(pgSchema.db, clock);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    await sqliteKnex?.destroy();
    await sqlite?.close();
    await pgSchema?.close(failed);
  });

  describe('workflows', function () {
    // Each side's seeds ran at its own moment, so the times differ; all else must not. They are then
    // deleted, so the steps below see only the workflows they create.
    it('reads the shipped templates the seeds wrote alike, and deletes them', async function () {
      const seeded = await both(async ({ workflows }) => (await workflows.listWorkflows(100, 0)).map((workflow) => workflow.id).sort());
      expect(seeded).to.not.be.empty;
      for (const id of seeded) {
        await both(async ({ workflows }) => {
          const { created_at: _created, updated_at: _updated, ...rest } = (await workflows.getWorkflow(id))!;
          return rest;
        });
        expect(await both(({ workflows }) => workflows.deleteWorkflow(id))).to.equal('deleted');
      }
      expect(await both(({ workflows }) => workflows.countWorkflows())).to.equal(0);
    });

    it('creates workflows and reads them back whole', async function () {
      // Three at one instant, with ids whose byte order differs from a natural-language collation.
      for (const [id, overrides] of [
        ['wf-B', { is_template: true, template_category: 'mail' }],
        ['wf-a', {}],
        ['wf_c', { is_template: true, template_category: 'crm', is_active: false }],
      ] as const) {
        const created = await both(({ workflows }) => workflows.createWorkflow(id, workflowInput(`name ${id}`, overrides)));
        expect(created).to.deep.include({ id, status: 'na', created_at: '2026-03-01T09:00:00.000Z', last_run_at: null, last_execution_id: null });
      }
      clock.at += minuteMs;
      await both(({ workflows }) => workflows.createWorkflow('wf-d', workflowInput('name wf-d', { is_template: true, template_category: 'mail' })));
      const bare = await both(({ workflows }) => workflows.createWorkflow('wf-e', workflowInput('name wf-e', {
        description: null,
        tags: [],
        execution_config: {},
        author_id: null,
        workflow_data: { nodes: [], connections: [] },
      })));
      expect(bare).to.deep.include({ description: null, author_id: null, tags: [], execution_config: {}, is_template: false, updated_at: '2026-03-01T09:01:00.000Z' });

      const read = await both(({ workflows }) => workflows.getWorkflow('wf-B'));
      expect(read).to.deep.include({ is_template: true, is_active: true, template_category: 'mail', author_id: systemUser, tags: ['ops', 'nightly'] });
      expect(read?.workflow_data.variables).to.deep.equal({ greeting: 'grüß dich' });
      expect(await both(({ workflows }) => workflows.getWorkflow('wf_c'))).to.deep.include({ is_active: false });
    });

    it('answers null and false for a workflow that does not exist', async function () {
      expect(await both(({ workflows }) => workflows.getWorkflow('nope'))).to.equal(null);
      expect(await both(({ workflows }) => workflows.workflowExists('nope'))).to.equal(false);
      expect(await both(({ workflows }) => workflows.workflowExists('wf-a'))).to.equal(true);
    });

    it('replaces the client-set fields on update and answers null for a missing workflow', async function () {
      clock.at += minuteMs;
      const updated = await both(({ workflows }) => workflows.updateWorkflow('wf-a', workflowInput('renamed', {
        version: '3.0.0',
        tags: ['changed'],
        is_active: false,
        is_template: true,
        template_category: 'crm',
        author_id: null,
      })));
      expect(updated).to.deep.include({
        name: 'renamed',
        version: '3.0.0',
        tags: ['changed'],
        is_active: false,
        is_template: true,
        template_category: 'crm',
        author_id: null,
        created_at: '2026-03-01T09:00:00.000Z',
        updated_at: '2026-03-01T09:02:00.000Z',
      });
      expect(await both(({ workflows }) => workflows.updateWorkflow('nope', workflowInput('ghost')))).to.equal(null);
    });

    it('lists newest first with ties in id byte order, filtered and paged, and counts the same filters', async function () {
      const ids = async (limit: number, offset: number, filter?: Parameters<WorkflowStore['listWorkflows']>[2]) =>
        both(async ({ workflows }) => (await workflows.listWorkflows(limit, offset, filter)).map((workflow) => workflow.id));
      expect(await ids(10, 0)).to.deep.equal(['wf-d', 'wf-e', 'wf-B', 'wf-a', 'wf_c']);
      expect(await ids(2, 1)).to.deep.equal(['wf-e', 'wf-B']);
      expect(await ids(10, 4)).to.deep.equal(['wf_c']);
      expect(await ids(10, 5)).to.deep.equal([]);
      expect(await ids(10, 0, { isTemplate: true })).to.deep.equal(['wf-d', 'wf-B', 'wf-a', 'wf_c']);
      expect(await ids(10, 0, { isTemplate: false })).to.deep.equal(['wf-e']);
      expect(await ids(10, 0, { templateCategory: 'mail' })).to.deep.equal(['wf-d', 'wf-B']);
      expect(await ids(10, 1, { isTemplate: true, templateCategory: 'crm' })).to.deep.equal(['wf_c']);
      expect(await ids(10, 0, { templateCategory: 'none' })).to.deep.equal([]);
      // Whole records too, not only their ids.
      await both(({ workflows }) => workflows.listWorkflows(10, 0));

      const count = (filter?: Parameters<WorkflowStore['countWorkflows']>[0]) => both(({ workflows }) => workflows.countWorkflows(filter));
      expect(await count()).to.equal(5);
      expect(await count({})).to.equal(5);
      expect(await count({ isTemplate: true })).to.equal(4);
      expect(await count({ isTemplate: false })).to.equal(1);
      expect(await count({ templateCategory: 'crm' })).to.equal(2);
      expect(await count({ isTemplate: false, templateCategory: 'crm' })).to.equal(0);
    });
  });

  describe('deleting workflows', function () {
    it('answers missing for a workflow that does not exist', async function () {
      expect(await both(({ workflows }) => workflows.deleteWorkflow('nope'))).to.equal('missing');
    });

    it('refuses while an event is pending, and deletes once it is cancelled', async function () {
      const eventId = await both(({ enqueue }) => enqueue(eventRequest('wf-d', clock.now())));
      expect(await both(({ workflows }) => workflows.deleteWorkflow('wf-d'))).to.equal('busy');
      expect(await both(({ cancel }) => cancel(eventId))).to.equal(true);
      expect(await both(({ workflows }) => workflows.deleteWorkflow('wf-d'))).to.equal('deleted');
      expect(await both(({ workflows }) => workflows.getWorkflow('wf-d'))).to.equal(null);
      expect(await both(({ workflows }) => workflows.deleteWorkflow('wf-d'))).to.equal('missing');
      // Its history went with it (the foreign keys cascade).
      expect(await both(async ({ db }) => Number((await db('event_queue').where({ workflow_id: 'wf-d' }).count({ n: '*' }))[0]!.n))).to.equal(0);
    });

    it('refuses while an execution is running or paused, and deletes it with the workflow once it finished', async function () {
      await both(async ({ db }) => {
        await db('executions').insert({ id: 'ex-e', workflow_id: 'wf-e', status: 'running' });
      });
      expect(await both(({ workflows }) => workflows.deleteWorkflow('wf-e'))).to.equal('busy');
      await both(async ({ db }) => {
        await db('executions').where({ id: 'ex-e' }).update({ status: 'paused' });
      });
      expect(await both(({ workflows }) => workflows.deleteWorkflow('wf-e'))).to.equal('busy');
      await both(async ({ db }) => {
        await db('executions').where({ id: 'ex-e' }).update({ status: 'completed' });
      });
      expect(await both(({ workflows }) => workflows.deleteWorkflow('wf-e'))).to.equal('deleted');
      expect(await both(async ({ db }) => (await db('executions').where({ id: 'ex-e' })).length)).to.equal(0);
    });
  });

  describe('monitoring', function () {
    it('answers null for a workflow that does not exist', async function () {
      expect(await both(({ monitoring }) => monitoring.getMonitoring('nope'))).to.equal(null);
      expect(await both(({ monitoring }) => monitoring.startMonitoring('nope'))).to.equal(null);
      expect(await both(({ monitoring }) => monitoring.stopMonitoring('nope'))).to.equal(null);
    });

    it('starts once, keeps the first start time, stops once, and starts again', async function () {
      expect(await both(({ monitoring }) => monitoring.getMonitoring('wf-B'))).to.deep.equal({
        workflowId: 'wf-B', isActive: true, status: 'na', startedAt: null, stoppedAt: null, monitoring: false,
      });
      clock.at += minuteMs;
      const started = await both(({ monitoring }) => monitoring.startMonitoring('wf-B'));
      expect(started).to.deep.equal({ workflowId: 'wf-B', isActive: true, status: 'running', startedAt: '2026-03-01T09:03:00.000Z', stoppedAt: null, monitoring: true });
      clock.at += minuteMs;
      expect(await both(({ monitoring }) => monitoring.startMonitoring('wf-B'))).to.deep.equal(started);
      await both(({ monitoring }) => monitoring.startMonitoring('wf_c'));
      await both(({ monitoring }) => monitoring.startMonitoring('wf-a'));
      expect(await both(({ monitoring }) => monitoring.listMonitoringWorkflowIds())).to.deep.equal(['wf-B', 'wf-a', 'wf_c']);

      clock.at += minuteMs;
      const stopped = await both(({ monitoring }) => monitoring.stopMonitoring('wf-a'));
      expect(stopped).to.deep.include({ status: 'stopped', startedAt: '2026-03-01T09:04:00.000Z', stoppedAt: '2026-03-01T09:05:00.000Z', monitoring: false, isActive: false });
      clock.at += minuteMs;
      expect(await both(({ monitoring }) => monitoring.stopMonitoring('wf-a'))).to.deep.equal(stopped);
      expect(await both(({ monitoring }) => monitoring.listMonitoringWorkflowIds())).to.deep.equal(['wf-B', 'wf_c']);
      expect(await both(({ monitoring }) => monitoring.startMonitoring('wf-a'))).to.deep.include({ status: 'running', startedAt: '2026-03-01T09:06:00.000Z', stoppedAt: null, monitoring: true });
      expect(await both(({ monitoring }) => monitoring.getMonitoring('wf-a'))).to.deep.include({ monitoring: true });
    });
  });

  describe('trigger state', function () {
    it('keeps it in the same reserved namespace on both backends', function () {
      expect(pgTriggerNamespace).to.equal(sqliteTriggerNamespace);
    });

    it('saves each node\'s state and reads it back, replacing it on the next save', async function () {
      expect(await both(async ({ monitoring }) => sortedStates(await monitoring.triggerStates('wf-B')))).to.deep.equal([]);
      const firedAt = Date.parse('2026-03-01T08:59:59.123Z');
      await both(({ monitoring }) => monitoring.saveTriggerState('wf-B', 'schedule', { lastFiredAt: firedAt, executionCount: 3 }));
      await both(({ monitoring }) => monitoring.saveTriggerState('wf-B', 'webhook', { lastFiredAt: null, executionCount: 0 }));
      expect(await both(async ({ monitoring }) => sortedStates(await monitoring.triggerStates('wf-B')))).to.deep.equal([
        ['schedule', { lastFiredAt: firedAt, executionCount: 3 }],
        ['webhook', { lastFiredAt: null, executionCount: 0 }],
      ]);
      clock.at += minuteMs;
      await both(({ monitoring }) => monitoring.saveTriggerState('wf-B', 'schedule', { lastFiredAt: firedAt + minuteMs, executionCount: 4 }));
      expect(await both(async ({ monitoring }) => sortedStates(await monitoring.triggerStates('wf-B')))).to.deep.equal([
        ['schedule', { lastFiredAt: firedAt + minuteMs, executionCount: 4 }],
        ['webhook', { lastFiredAt: null, executionCount: 0 }],
      ]);
      const row = await both(async ({ db }) => {
        const found = (await db('workflow_state').where({ workflow_id: 'wf-B', state_key: 'schedule' }).first('version', 'value_type', 'namespace')) as Record<string, unknown>;
        return { ...found, version: Number(found.version) };
      });
      expect(row).to.deep.equal({ version: 2, value_type: 'object', namespace: '__triggers' });
    });

    it('reads unusable stored values as never fired, and ignores other namespaces', async function () {
      const now = '2026-03-01T09:00:00.000Z';
      await both(async ({ db }) => {
        await db('workflow_state').insert([
          { workflow_id: 'wf_c', namespace: '__triggers', state_key: 'odd', state_value: JSON.stringify({ last_fired_at: 'bogus', execution_count: -2 }), created_at: now },
          { workflow_id: 'wf_c', namespace: '__triggers', state_key: 'scalar', state_value: JSON.stringify('text'), created_at: now },
          { workflow_id: 'wf_c', namespace: '__triggers', state_key: 'empty', state_value: null, created_at: now },
          { workflow_id: 'wf_c', namespace: 'default', state_key: 'user-data', state_value: JSON.stringify({ execution_count: 9 }), created_at: now },
        ]);
      });
      expect(await both(async ({ monitoring }) => sortedStates(await monitoring.triggerStates('wf_c')))).to.deep.equal([
        ['empty', { lastFiredAt: null, executionCount: 0 }],
        ['odd', { lastFiredAt: null, executionCount: 0 }],
        ['scalar', { lastFiredAt: null, executionCount: 0 }],
      ]);
    });

    it('goes with the workflow when it is deleted', async function () {
      expect(await both(({ workflows }) => workflows.deleteWorkflow('wf-B'))).to.equal('deleted');
      expect(await both(async ({ monitoring }) => sortedStates(await monitoring.triggerStates('wf-B')))).to.deep.equal([]);
      expect(await both(async ({ db }) => (await db('workflow_state').where({ workflow_id: 'wf-B' })).length)).to.equal(0);
    });
  });

  describe('several daemons on one schema (PostgreSQL only)', function () {
    /** Waits until some connection is blocked by the transaction `trx` holds. */
    async function untilSomeoneWaitsFor(trx: Knex.Transaction): Promise<void> {
      const pid = Number((await trx.raw('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      await waitUntil(
        async () => (await pgSchema.db.raw('SELECT 1 FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))', [pid])).rows.length > 0,
        'the delete waits for the open transaction',
      );
    }

    it('a delete racing an enqueue waits for it and answers busy, without a deadlock', async function () {
      await pgWorkflows.createWorkflow('wf-race-event', workflowInput('race'));
      // The workflow's pending counter exists, as it does for any workflow that ever had an event.
      await pgSchema.db.transaction((trx) => queueSql.lockPendingCount(trx, 'wf-race-event'));
      // What PgQueue.enqueue does, paused in the middle: counter locked, event not yet inserted.
      const enqueue = await pgSchema.db.transaction();
      try {
        await queueSql.lockPendingCount(enqueue, 'wf-race-event');
        // A deadlock would be resolved by PostgreSQL aborting one side, and the writer replaying the
        // delete alone would hide it; only a group that commits first time counts in stats.commits.
        const commitsBefore = pgSchema.context.writer.stats.commits;
        const deleting = pgWorkflows.deleteWorkflow('wf-race-event');
        await untilSomeoneWaitsFor(enqueue);
        const request = eventRequest('wf-race-event', clock.now());
        await queueSql.insertEvent(enqueue, request, claimSortKey(request.priority, request.runAt, 1000), clock.now());
        await enqueue.commit();
        expect(await deleting).to.equal('busy');
        expect(pgSchema.context.writer.stats.commits, 'the delete committed at its first try').to.equal(commitsBefore + 1);
      } finally {
        if (!enqueue.isCompleted()) await enqueue.rollback();
      }
      expect(await pgWorkflows.workflowExists('wf-race-event')).to.equal(true);
    });

    it('a delete racing a new execution waits for it and answers busy', async function () {
      await pgWorkflows.createWorkflow('wf-race-run', workflowInput('race'));
      const opening = await pgSchema.db.transaction();
      try {
        await opening('executions').insert({ id: 'ex-race-run', workflow_id: 'wf-race-run', status: 'running' });
        const deleting = pgWorkflows.deleteWorkflow('wf-race-run');
        await untilSomeoneWaitsFor(opening);
        await opening.commit();
        expect(await deleting).to.equal('busy');
      } finally {
        if (!opening.isCompleted()) await opening.rollback();
      }
      expect(await pgWorkflows.workflowExists('wf-race-run')).to.equal(true);
    });

    it('two daemons starting one workflow\'s monitoring at once keep one start time', async function () {
      await pgWorkflows.createWorkflow('wf-race-monitor', workflowInput('race'));
      const secondPool = knexFactory({ client: 'pg', connection: testPgUrl, searchPath: [pgSchema.schema], pool: { min: 0, max: 2 } });
      const secondWriter = new PgWriter(secondPool, { maxBatch: 500, log: pgSchema.context.log });
      try {
        const laterClock = { now: () => clock.now() + minuteMs };
        const daemonB = new PgMonitoring({ ...pgSchema.context, db: secondPool, writer: secondWriter, clock: laterClock });
        const [a, b] = await Promise.all([pgMonitoring.startMonitoring('wf-race-monitor'), daemonB.startMonitoring('wf-race-monitor')]);
        expect(a?.monitoring).to.equal(true);
        expect(b).to.deep.equal(a);
        expect(await pgMonitoring.getMonitoring('wf-race-monitor')).to.deep.equal(a);
      } finally {
        await secondWriter.close();
        await secondPool.destroy();
      }
    });
  });
});
