// The interactions family and the queue's control operations (cancel, requeue, list, rescue) on
// PostgreSQL, each call made on a SQLite store as well, answer for answer: the PostgreSQL adapter
// must answer exactly as SQLite does. The PostgreSQL side is the real server (TAV_TEST_PG_URL), in a
// schema of its own; both sides share one fake clock, so times compare exactly and expiry is a clock
// move, never a sleep. A failing run keeps the schema and the SQLite folder for inspection.
import { expect } from 'chai';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import { claimSortKey, type EnqueueRequest } from '../../src/domain/event.js';
import type { NodeRunRecord } from '../../src/domain/execution.js';
import { hashInteractionToken, newInteractionToken } from '../../src/domain/interaction.js';
import type { InteractionStore } from '../../src/store/interaction-store.js';
import { PgInteractions } from '../../src/store/pg/pg-interactions.js';
import { PgQueue } from '../../src/store/pg/pg-queue.js';
import { PgWriter } from '../../src/store/pg/pg-writer.js';
import type { QueueStore } from '../../src/store/queue-store.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { removeIfAllPassed } from '../helpers/api-assertions.js';
import { openPgTestSchema, testPgUrl, type PgTestSchema } from '../helpers/pg-schema.js';
import { runFinish } from '../helpers/queue-backends.js';
import { createBareWorkflow, openTestStore } from '../helpers/store-fixture.js';

const agingMs = 60_000;
const leaseMs = 30_000;
const minuteMs = 60_000;
const sortKeyAt = (priority: number, runAt: number) => claimSortKey(priority, runAt, agingMs);

/** One backend under test. */
interface Side {
  name: string;
  queue: QueueStore;
  interactions: InteractionStore;
  /** The interactions of a second daemon on the same database (SQLite has one daemon per file: itself). */
  rival: InteractionStore;
  createWorkflow(id: string): Promise<void>;
  /** This side's execution ids, named in the order they appeared, so the two sides' answers compare. */
  labels: Map<string, string>;
}

/** The same value on the SQLite side and on the PostgreSQL side. */
type Pair<T> = [sqlite: T, pg: T];

// Execution ids and lease tokens are random per side; everything else must be equal.
function normalize(value: unknown, side: Side): unknown {
  if (typeof value === 'string') return side.labels.get(value) ?? value;
  if (Array.isArray(value)) return value.map((item) => normalize(item, side));
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, key === 'leaseToken' && typeof item === 'string' ? '<lease>' : normalize(item, side)]));
}

describe('PostgreSQL interactions and queue control, answer for answer as SQLite', function () {
  const clock = { at: Date.parse('2026-03-01T08:00:00.000Z'), now() { return this.at; } };
  let sqlite: { store: SqliteStore; dataDir: string };
  let pg: PgTestSchema;
  let rivalPool: Knex;
  let rivalWriter: PgWriter;
  let sides: Pair<Side>;
  const workflows = new Set<string>();
  let failed = false;

  before(async function () {
    sqlite = await openTestStore('pg-interactions', clock);
    pg = await openPgTestSchema('interactions', clock);
    rivalPool = knexFactory({ client: 'pg', connection: testPgUrl, searchPath: [pg.schema], pool: { min: 0, max: 2 } });
    rivalWriter = new PgWriter(rivalPool, { maxBatch: 500, log: pg.context.log });
    const store = sqlite.store;
    sides = [
      { name: 'SQLite', queue: store, interactions: store, rival: store, createWorkflow: (id) => createBareWorkflow(store, id), labels: new Map() },
      {
        name: 'PostgreSQL',
        queue: new PgQueue(pg.db, clock),
        interactions: new PgInteractions(pg.context),
        rival: new PgInteractions({ ...pg.context, db: rivalPool, writer: rivalWriter }),
        createWorkflow: async (id) => {
          await pg.db('workflows').insert({ id, name: id, workflow_data: JSON.stringify({ nodes: [], connections: [] }), is_active: true, created_at: new Date(clock.now()).toISOString() });
        },
        labels: new Map(),
      },
    ];
  });

  // Every test starts from a quiet queue: what earlier tests left live is cancelled on both sides.
  beforeEach(async function () {
    for (const side of sides) {
      for (const status of ['pending', 'processing', 'paused'] as const) {
        for (const event of await side.queue.listEvents({ status, limit: 1000 })) {
          if (event.executionId) await side.queue.cancelExecution(event.executionId);
          else await side.queue.cancelPendingEvent(event.id);
        }
      }
    }
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    await sqlite?.store.close();
    await rivalWriter?.close();
    await rivalPool?.destroy();
    await pg?.close(failed);
    removeIfAllPassed(this.test!.parent!, sqlite.dataDir);
  });

  /** Makes the call on each side and expects the same answer; returns both answers. */
  async function both<T>(call: (side: Side, index: 0 | 1) => Promise<T>): Promise<Pair<T>> {
    const answers = [await call(sides[0], 0), await call(sides[1], 1)] as Pair<T>;
    expect(normalize(answers[1], sides[1]), 'PostgreSQL answers as SQLite').to.deep.equal(normalize(answers[0], sides[0]));
    return answers;
  }

  function request(workflowId: string, overrides: Partial<EnqueueRequest> = {}): EnqueueRequest {
    return { workflowId, eventType: 'manual', eventData: { n: 1 }, priority: 3, source: 'api', runAt: clock.now(), maxAttempts: 3, dedupKey: null, ...overrides };
  }

  /** Enqueues an event of the workflow on each side and claims it: the run is processing. */
  function startRun(workflowId: string, overrides: Partial<EnqueueRequest> = {}) {
    return both(async (side) => {
      const req = request(workflowId, overrides);
      await side.queue.enqueue(req, sortKeyAt(req.priority, req.runAt));
      const claimed = await side.queue.claim(1, 'daemon', leaseMs);
      expect(claimed, `${side.name} claims the new event`).to.have.length(1);
      side.labels.set(claimed[0]!.executionId, `execution ${side.labels.size + 1}`);
      return claimed[0]!;
    });
  }

  /** Creates the workflow on each side, unless an earlier call did. */
  async function ensureWorkflow(workflowId: string): Promise<void> {
    if (workflows.has(workflowId)) return;
    await both((side) => side.createWorkflow(workflowId));
    workflows.add(workflowId);
  }

  /** Starts a run of the workflow that opens a question (node 'ask') and pauses on it. */
  async function pauseOnQuestion(workflowId: string, expiresInMs = 60 * minuteMs) {
    await ensureWorkflow(workflowId);
    const runs = await startRun(workflowId);
    const question = newInteractionToken();
    const [view] = await both((side, i) =>
      side.interactions.createInteraction({ ...question, workflowId, executionId: runs[i].executionId, nodeId: 'ask', emailData: { draft: 'hello' }, expiresAtMs: clock.now() + expiresInMs }),
    );
    expect(await both((side, i) => side.queue.finishRun(runFinish(runs[i], { executionStatus: 'paused', event: { kind: 'paused' } })))).to.deep.equal([true, true]);
    return { runs, question, view };
  }

  function answer(interactionId: string, tokenHash: string | null, action: 'approve' | 'reject' = 'approve', editedDraft?: string) {
    return { interactionId, tokenHash, action, editedDraft };
  }

  describe('interactions', function () {
    it('opens a question and finds it by its token only, and by its execution and node', async function () {
      await ensureWorkflow('wf-open');
      const runs = await startRun('wf-open');
      const question = newInteractionToken();
      const [view] = await both((side, i) =>
        side.interactions.createInteraction({ ...question, workflowId: 'wf-open', executionId: runs[i].executionId, nodeId: 'ask', emailData: { draft: 'hi', to: ['a@b.c'] }, expiresAtMs: clock.now() + minuteMs }),
      );
      expect(view).to.include({ id: question.interactionId, status: 'pending', interaction_type: 'approval', response_data: null, responded_at: null });
      expect(view.expires_at).to.equal(new Date(clock.now() + minuteMs).toISOString());
      expect((await both((side) => side.interactions.getInteractionByToken(question.interactionId, question.tokenHash)))[0]).to.deep.equal(view);
      expect((await both((side) => side.interactions.getInteractionByToken(question.interactionId, hashInteractionToken('guess'))))[0]).to.equal(null);
      expect((await both((side) => side.interactions.getInteractionByToken('no-such-id', question.tokenHash)))[0]).to.equal(null);
      expect((await both((side, i) => side.interactions.findApproval(runs[i].executionId, 'ask')))[0]).to.deep.equal(view);
      expect((await both((side, i) => side.interactions.findApproval(runs[i].executionId, 'other')))[0]).to.equal(null);
    });

    it('expires a question the running node finds past its time', async function () {
      await ensureWorkflow('wf-late');
      const runs = await startRun('wf-late');
      const question = newInteractionToken();
      await both((side, i) => side.interactions.createInteraction({ ...question, workflowId: 'wf-late', executionId: runs[i].executionId, nodeId: 'ask', emailData: null, expiresAtMs: clock.now() + minuteMs }));
      clock.at += 2 * minuteMs;
      const [found] = await both((side, i) => side.interactions.findApproval(runs[i].executionId, 'ask'));
      expect(found).to.include({ status: 'expired', responded_at: new Date(clock.now()).toISOString() });
      expect(found!.response_data).to.deep.equal({ action: 'expired' });
    });

    it('answers once and resumes the paused run; a wrong token, an unknown id and a second answer are refused', async function () {
      const { runs, question } = await pauseOnQuestion('wf-answer');
      expect((await both((side) => side.interactions.answerInteraction(answer(question.interactionId, hashInteractionToken('guess')), sortKeyAt)))[0]).to.deep.equal({ kind: 'not_found' });
      expect((await both((side) => side.interactions.answerInteraction(answer('no-such-id', null), sortKeyAt)))[0]).to.deep.equal({ kind: 'not_found' });
      clock.at += 5_000;
      const [answered] = await both((side) => side.interactions.answerInteraction(answer(question.interactionId, question.tokenHash, 'approve', 'edited'), sortKeyAt));
      expect(answered).to.deep.include({ kind: 'answered', resumed: true });
      if (answered.kind !== 'answered') throw new Error('not answered');
      expect(answered.interaction).to.deep.include({ status: 'approved', response_data: { action: 'approve', edited_draft: 'edited' }, responded_at: new Date(clock.now()).toISOString() });
      const [event] = await both((side, i) => side.queue.getEvent(runs[i].id));
      expect(event).to.include({ status: 'pending', runAt: clock.now(), attempts: 0, leaseToken: null });
      expect((await both((side) => side.interactions.answerInteraction(answer(question.interactionId, question.tokenHash, 'reject'), sortKeyAt)))[0]).to.deep.equal({ kind: 'already_answered', status: 'approved' });
      expect((await both((side) => side.interactions.answerInteraction(answer(question.interactionId, null, 'reject'), sortKeyAt)))[0]).to.deep.equal({ kind: 'already_answered', status: 'approved' });
      await both((side) => side.queue.queueDepth());
    });

    it('takes one of two answers given at once by two daemons and tells the other it was already answered', async function () {
      const { runs, question } = await pauseOnQuestion('wf-race');
      for (const [i, side] of sides.entries()) {
        const outcomes = await Promise.all([
          side.interactions.answerInteraction(answer(question.interactionId, question.tokenHash, 'approve'), sortKeyAt),
          side.rival.answerInteraction(answer(question.interactionId, question.tokenHash, 'reject'), sortKeyAt),
        ]);
        expect(outcomes.map((outcome) => outcome.kind).sort(), side.name).to.deep.equal(['already_answered', 'answered']);
        expect(await side.queue.getEvent(runs[i].id), side.name).to.include({ status: 'pending', attempts: 0 });
      }
      const [depth] = await both((side) => side.queue.queueDepth());
      expect(depth.byStatus.pending).to.equal(1);
    });

    it('expires a question whose time is up and resumes its run: not before, and only once', async function () {
      const { runs, question } = await pauseOnQuestion('wf-expire', 10 * minuteMs);
      expect((await both((side) => side.interactions.dueInteractionIds(10)))[0]).to.deep.equal([]);
      expect((await both((side) => side.interactions.nextInteractionExpiry()))[0]).to.equal(clock.now() + 10 * minuteMs);
      expect((await both((side) => side.interactions.expireInteraction(question.interactionId, sortKeyAt)))[0]).to.equal(false);
      clock.at += 11 * minuteMs;
      expect((await both((side) => side.interactions.dueInteractionIds(10)))[0]).to.deep.equal([question.interactionId]);
      expect((await both((side) => side.interactions.expireInteraction(question.interactionId, sortKeyAt)))[0]).to.equal(true);
      expect((await both((side) => side.interactions.expireInteraction(question.interactionId, sortKeyAt)))[0]).to.equal(false);
      expect((await both((side) => side.interactions.expireInteraction('no-such-id', sortKeyAt)))[0]).to.equal(false);
      expect((await both((side, i) => side.queue.getEvent(runs[i].id)))[0]).to.include({ status: 'pending', runAt: clock.now() });
      expect((await both((side) => side.interactions.dueInteractionIds(10)))[0]).to.deep.equal([]);
      expect((await both((side) => side.interactions.nextInteractionExpiry()))[0]).to.equal(null);
    });

    it('answers an answer that comes after the deadline with expired, and resumes the run down its expired path', async function () {
      const { runs, question } = await pauseOnQuestion('wf-too-late', minuteMs);
      clock.at += 2 * minuteMs;
      expect((await both((side) => side.interactions.answerInteraction(answer(question.interactionId, question.tokenHash), sortKeyAt)))[0]).to.deep.equal({ kind: 'expired' });
      expect((await both((side, i) => side.queue.getEvent(runs[i].id)))[0]).to.include({ status: 'pending' });
      expect((await both((side) => side.interactions.answerInteraction(answer(question.interactionId, null), sortKeyAt)))[0]).to.deep.equal({ kind: 'expired' });
    });

    it('refuses an answer to a question closed with its cancelled execution', async function () {
      const { runs, question } = await pauseOnQuestion('wf-closed');
      await both((side, i) => side.queue.cancelExecution(runs[i].executionId));
      expect((await both((side) => side.interactions.answerInteraction(answer(question.interactionId, question.tokenHash), sortKeyAt)))[0]).to.deep.equal({ kind: 'closed', status: 'cancelled' });
      expect((await both((side, i) => side.interactions.findApproval(runs[i].executionId, 'ask')))[0]).to.equal(null);
    });

    it('lists questions newest first, by status, workflow, execution and page', async function () {
      const first = await pauseOnQuestion('wf-list-a');
      await both((side) => side.interactions.answerInteraction(answer(first.question.interactionId, null, 'reject'), sortKeyAt));
      // The answer put the first run back in line; it ends here, so the next run is a new execution.
      await both((side, i) => side.queue.cancelExecution(first.runs[i].executionId));
      await pauseOnQuestion('wf-list-a');
      await pauseOnQuestion('wf-list-b');
      const [all] = await both((side) => side.interactions.listInteractions({ limit: 100 }));
      expect(all.map((entry) => entry.cursor)).to.deep.equal([...all.map((entry) => entry.cursor)].sort((a, b) => b - a));
      const [ofA] = await both((side) => side.interactions.listInteractions({ workflowId: 'wf-list-a', limit: 100 }));
      expect(ofA.map((entry) => entry.interaction.status)).to.deep.equal(['pending', 'rejected']);
      await both((side) => side.interactions.listInteractions({ workflowId: 'wf-list-a', status: 'rejected', limit: 100 }));
      const [byExecution] = await both((side, i) => side.interactions.listInteractions({ executionId: first.runs[i].executionId, limit: 100 }));
      expect(byExecution.map((entry) => entry.interaction.id)).to.deep.equal([first.question.interactionId]);
      const [page] = await both((side) => side.interactions.listInteractions({ workflowId: 'wf-list-a', beforeId: ofA[0]!.cursor, limit: 1 }));
      expect(page.map((entry) => entry.cursor)).to.deep.equal([ofA[1]!.cursor]);
      await both((side) => side.interactions.listInteractions({ status: 'approved', workflowId: 'wf-list-b', limit: 100 }));
    });
  });

  describe('queue control', function () {
    it('cancels a processing execution, its event, lease and open questions; a second cancel changes nothing', async function () {
      await ensureWorkflow('wf-cancel');
      const runs = await startRun('wf-cancel');
      const question = newInteractionToken();
      await both((side, i) => side.interactions.createInteraction({ ...question, workflowId: 'wf-cancel', executionId: runs[i].executionId, nodeId: 'ask', emailData: {}, expiresAtMs: clock.now() + minuteMs }));
      const [cancelled] = await both((side, i) => side.queue.cancelExecution(runs[i].executionId));
      expect(cancelled!.changed).to.equal(true);
      expect(cancelled!.execution).to.include({ status: 'cancelled', cancelled_at: new Date(clock.now()).toISOString() });
      expect((await both((side, i) => side.queue.getEvent(runs[i].id)))[0]).to.include({ status: 'cancelled', leaseToken: null, errorMessage: 'execution cancelled' });
      expect((await both((side) => side.interactions.getInteractionByToken(question.interactionId, question.tokenHash)))[0]).to.include({ status: 'cancelled' });
      expect((await both((side, i) => side.queue.cancelExecution(runs[i].executionId)))[0]!.changed).to.equal(false);
      expect((await both((side) => side.queue.cancelExecution('no-such-execution')))[0]).to.equal(null);
      expect((await both((side, i) => side.queue.finishRun(runFinish(runs[i]))))[0]).to.equal(false);
    });

    it('requeues a failed execution with fresh attempts, keeping what its finished nodes recorded', async function () {
      await ensureWorkflow('wf-requeue');
      const runs = await startRun('wf-requeue');
      const nodeResults: Record<string, NodeRunRecord> = { fetch: { status: 'completed', outputs: { main: { rows: 2 } }, attempts: 1 } };
      await both((side, i) => side.queue.finishRun(runFinish(runs[i], { executionStatus: 'failed', nodeResults, errorMessage: 'boom', event: { kind: 'failed', error: 'boom' } })));
      expect((await both((side) => side.queue.requeueExecution('no-such-execution', sortKeyAt)))[0]).to.equal(false);
      clock.at += minuteMs;
      expect((await both((side, i) => side.queue.requeueExecution(runs[i].executionId, sortKeyAt)))[0]).to.equal(true);
      expect((await both((side, i) => side.queue.getEvent(runs[i].id)))[0]).to.include({ status: 'pending', attempts: 0, runAt: clock.now(), errorMessage: null, finishedAt: null });
      expect((await both((side, i) => side.queue.requeueExecution(runs[i].executionId, sortKeyAt)))[0]).to.equal(false);
      const [claimed] = await both((side) => side.queue.claim(1, 'daemon', leaseMs));
      expect(claimed[0]).to.include({ resumed: true, attempts: 1 });
      const [view] = await both((side, i) => side.queue.cancelExecution(runs[i].executionId));
      expect(view!.execution.node_results).to.deep.equal(nodeResults);
    });

    it('refuses to requeue while another live event holds the dedup key', async function () {
      await ensureWorkflow('wf-dedup');
      const runs = await startRun('wf-dedup', { dedupKey: 'once' });
      await both((side, i) => side.queue.finishRun(runFinish(runs[i], { executionStatus: 'failed', errorMessage: 'boom', event: { kind: 'failed', error: 'boom' } })));
      const [holder] = await both((side) => side.queue.enqueue(request('wf-dedup', { dedupKey: 'once' }), 0));
      const refusals = await both(async (side, i) => {
        const error = await side.queue.requeueExecution(runs[i].executionId, sortKeyAt).then(() => null, (thrown: unknown) => thrown);
        return { code: (error as { code?: string } | null)?.code, details: (error as { details?: unknown } | null)?.details };
      });
      expect(refusals[0]).to.deep.equal({ code: 'dedup_key_taken', details: { event_id: holder.event.id } });
      expect((await both((side, i) => side.queue.getEvent(runs[i].id)))[0]).to.include({ status: 'failed' });
      await both((side) => side.queue.cancelPendingEvent(holder.event.id));
      expect((await both((side, i) => side.queue.requeueExecution(runs[i].executionId, sortKeyAt)))[0]).to.equal(true);
    });

    it('lists events newest first, by status, workflow and page', async function () {
      await ensureWorkflow('wf-list-x');
      await ensureWorkflow('wf-list-y');
      const [x1] = await both((side) => side.queue.enqueue(request('wf-list-x', { eventData: [1, 'two'] }), 1));
      await both((side) => side.queue.enqueue(request('wf-list-y'), 2));
      const [x2] = await both((side) => side.queue.enqueue(request('wf-list-x', { eventData: 'text' }), 3));
      await both((side) => side.queue.cancelPendingEvent(x1.event.id));
      const [ofX] = await both((side) => side.queue.listEvents({ workflowId: 'wf-list-x', limit: 10 }));
      expect(ofX.map((event) => event.id)).to.deep.equal([x2.event.id, x1.event.id]);
      expect((await both((side) => side.queue.listEvents({ workflowId: 'wf-list-x', status: 'cancelled', limit: 10 })))[0].map((event) => event.id)).to.deep.equal([x1.event.id]);
      expect((await both((side) => side.queue.listEvents({ workflowId: 'wf-list-x', beforeId: x2.event.id, limit: 10 })))[0].map((event) => event.id)).to.deep.equal([x1.event.id]);
      expect((await both((side) => side.queue.listEvents({ limit: 1 })))[0]).to.have.length(1);
      await both((side) => side.queue.listEvents({ status: 'pending', limit: 10 }));
    });
  });

  describe('rescue on a shared database (PostgreSQL only)', function () {
    it('rescues only events whose lease has expired, since a live daemon may hold the others', async function () {
      const [, side] = sides;
      await side.createWorkflow('wf-rescue');
      await side.queue.enqueue(request('wf-rescue'), 0);
      const [claimed] = await side.queue.claim(1, 'daemon', leaseMs);
      expect(await side.queue.rescueOrphans()).to.deep.equal({ requeued: 0, failed: 0 });
      expect(await side.queue.getEvent(claimed!.id)).to.include({ status: 'processing', attempts: 1 });
      clock.at += leaseMs + 1;
      expect(await side.queue.rescueOrphans()).to.deep.equal({ requeued: 1, failed: 0 });
      expect(await side.queue.getEvent(claimed!.id)).to.include({ status: 'pending', attempts: 0, leaseToken: null });
    });
  });
});
