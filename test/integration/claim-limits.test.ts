// The per-workflow limits in the store, on a real SQLite file (no daemon): a claim takes at most
// max_concurrent_runs_per_workflow events of one workflow, counting the ones already processing and
// the ones in the same batch, keeps claim order across workflows, and never lets a saturated
// workflow's backlog hide another workflow's events; an enqueue past max_queue_depth_per_workflow
// pending events is refused with queue_full, a dedup hit is not.
import { expect } from 'chai';
import { claimSortKey, type ClaimedEvent, type EnqueueRequest } from '../../src/domain/event.js';
import { newInteractionToken } from '../../src/domain/interaction.js';
import { AppError } from '../../src/errors.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createBareWorkflow, openTestStore } from '../helpers/store-fixture.js';
import { removeIfPassed } from '../helpers/queue-runs.js';

const agingMs = 60_000;

describe('per-workflow limits in the store', function () {
  let dataDir: string;
  let store: SqliteStore;
  let clockMs: number;

  beforeEach(async function () {
    clockMs = Date.now();
    ({ store, dataDir } = await openTestStore('claim-limits', { now: () => clockMs }));
    for (const id of ['wf-x', 'wf-y', 'wf-z']) await createBareWorkflow(store, id);
  });

  afterEach(async function () {
    await store?.close();
    removeIfPassed(this.currentTest, dataDir);
  });

  /** Enqueues one event; `at` is its run time as an offset from now (events enqueued later sort later). */
  async function enqueue(workflowId: string, fields: Partial<EnqueueRequest> & { at?: number } = {}, maxPending?: number) {
    const runAt = clockMs + (fields.at ?? 0);
    const priority = fields.priority ?? 3;
    const request: EnqueueRequest = { workflowId, eventType: 'test', eventData: {}, priority, source: 'api', runAt, maxAttempts: 3, dedupKey: null, ...fields };
    return store.enqueue(request, claimSortKey(priority, runAt, agingMs), maxPending);
  }

  async function enqueueMany(workflowId: string, count: number, fields: Partial<EnqueueRequest> & { at?: number } = {}): Promise<number[]> {
    const outcomes = await Promise.all(Array.from({ length: count }, () => enqueue(workflowId, fields)));
    return outcomes.map((outcome) => outcome.event.id);
  }

  function complete(claimed: ClaimedEvent) {
    return store.finishRun({ eventId: claimed.id, leaseToken: claimed.leaseToken, executionId: claimed.executionId, executionStatus: 'completed', nodeResults: {}, finalOutputs: {}, errorMessage: null, executionMetadata: null, event: { kind: 'completed' } });
  }

  const workflowsOf = (claimed: ClaimedEvent[]) => claimed.map((event) => event.workflowId);

  it('takes at most the per-workflow limit of one workflow in a single batch, leaving the rest pending', async () => {
    const ids = await enqueueMany('wf-y', 10);
    const claimed = await store.claim(50, 'test', 60_000, 3);
    expect(claimed.map((event) => event.id)).to.deep.equal(ids.slice(0, 3));
    expect((await store.queueDepth()).byStatus).to.include({ processing: 3, pending: 7 });
  });

  it('counts the events already processing, and frees a slot when a run ends', async () => {
    const ids = await enqueueMany('wf-y', 6);
    const first = await store.claim(2, 'test', 60_000, 3);
    expect(first.map((event) => event.id)).to.deep.equal(ids.slice(0, 2));
    const second = await store.claim(50, 'test', 60_000, 3);
    expect(second.map((event) => event.id)).to.deep.equal([ids[2]]);
    expect(await store.claim(50, 'test', 60_000, 3)).to.deep.equal([]);
    await complete(first[0]!);
    expect((await store.claim(50, 'test', 60_000, 3)).map((event) => event.id)).to.deep.equal([ids[3]]);
  });

  it('keeps claim order across workflows: most urgent first, FIFO within a priority', async () => {
    const [y1, y2] = await enqueueMany('wf-y', 2, { priority: 3 });
    const [x1] = await enqueueMany('wf-x', 1, { priority: 1, at: 5 });
    const [z1] = await enqueueMany('wf-z', 1, { priority: 3, at: 10 });
    const [x2] = await enqueueMany('wf-x', 1, { priority: 5, at: 1 });
    clockMs += 10;
    const claimed = await store.claim(50, 'test', 60_000, 5);
    expect(claimed.map((event) => event.id)).to.deep.equal([x1, y1, y2, z1, x2]);
  });

  it('fills a batch from the workflows with room, in claim order, up to the batch limit', async () => {
    const ys = await enqueueMany('wf-y', 5);
    clockMs += 1;
    const xs = await enqueueMany('wf-x', 5);
    const claimed = await store.claim(4, 'test', 60_000, 2);
    expect(claimed.map((event) => event.id)).to.deep.equal([ys[0], ys[1], xs[0], xs[1]]);
  });

  it('still claims another workflow’s event behind 1,000 pending events of a saturated workflow', async () => {
    await enqueueMany('wf-y', 1000);
    clockMs += 1;
    const [x] = await enqueueMany('wf-x', 1);
    expect(workflowsOf(await store.claim(50, 'test', 60_000, 3))).to.deep.equal(['wf-y', 'wf-y', 'wf-y', 'wf-x']);
    expect((await store.getEvent(x!))!.status).to.equal('processing');
    // Saturated and claimed: a new event of another workflow is still found at once.
    clockMs += 1;
    const [z] = await enqueueMany('wf-z', 1);
    expect((await store.claim(50, 'test', 60_000, 3)).map((event) => event.id)).to.deep.equal([z]);
  });

  it('does not claim a workflow’s events before they are due', async () => {
    await enqueueMany('wf-y', 2, { at: 60_000 });
    const [due] = await enqueueMany('wf-y', 1);
    expect((await store.claim(50, 'test', 60_000, 3)).map((event) => event.id)).to.deep.equal([due]);
  });

  it('lets a paused execution hold no slot', async () => {
    const [first, second] = await enqueueMany('wf-y', 2);
    const [claimed] = await store.claim(50, 'test', 60_000, 1);
    expect(claimed!.id).to.equal(first);
    const { interactionId, tokenHash } = newInteractionToken();
    await store.createInteraction({ interactionId, tokenHash, workflowId: 'wf-y', executionId: claimed!.executionId, nodeId: 'ask', emailData: {}, expiresAtMs: clockMs + 3_600_000 });
    await store.finishRun({ eventId: claimed!.id, leaseToken: claimed!.leaseToken, executionId: claimed!.executionId, executionStatus: 'paused', nodeResults: {}, finalOutputs: {}, errorMessage: null, executionMetadata: null, event: { kind: 'paused' } });
    expect((await store.getEvent(first!))!.status).to.equal('paused');
    expect((await store.claim(50, 'test', 60_000, 1)).map((event) => event.id)).to.deep.equal([second]);
  });

  it('refuses a new event past the pending limit with queue_full, storing nothing', async () => {
    await Promise.all(Array.from({ length: 3 }, (_, i) => enqueue('wf-y', { at: 3_600_000, dedupKey: `k${i}` }, 3)));
    const refused = await enqueue('wf-y', {}, 3).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(AppError);
    expect(refused).to.include({ code: 'queue_full', status: 429, retryAfterSeconds: 5 });
    expect((refused as AppError).message).to.include('3');
    expect(await store.listEvents({ workflowId: 'wf-y', limit: 100 })).to.have.length(3);
    // Another workflow is not affected, and a dedup hit of a live event is answered, not refused.
    expect(await enqueue('wf-x', {}, 3)).to.include({ created: true });
    expect(await enqueue('wf-y', { dedupKey: 'k1' }, 3)).to.include({ created: false });
  });

  it('never lets enqueues racing for the last places overshoot the limit', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => enqueue('wf-y', {}, 5)));
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).to.have.length(5);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).to.have.length(15);
    expect(await store.listEvents({ workflowId: 'wf-y', limit: 100 })).to.have.length(5);
  });

  it('counts only pending events: claimed ones make room', async () => {
    await enqueueMany('wf-y', 2);
    await expectRefused(enqueue('wf-y', {}, 2));
    await store.claim(1, 'test', 60_000, 5);
    expect(await enqueue('wf-y', {}, 2)).to.include({ created: true });
  });

  async function expectRefused(promise: Promise<unknown>): Promise<void> {
    const error = await promise.then(
      () => null,
      (thrown: unknown) => thrown,
    );
    expect(error).to.include({ code: 'queue_full' });
  }
});
