// One contract of queue behaviour, run against both stores: SQLite (SqliteStore) and PostgreSQL
// (PgQueue). Each behaviour is written once against the async facade of test/helpers/queue-backends.ts;
// a fake clock drives due times, so nothing sleeps. Each backend runs in a database of its own; a
// failing run keeps it for inspection.
//
// Left out on purpose, because the backends legitimately differ:
// - lease expiry: PostgreSQL renews (renewLeases) and reclaims expired leases (reclaimExpired) while
//   other daemons run; SQLite has one daemon per file and rescues every `processing` event at start-up
//   (rescueOrphans), whatever its lease says. Each is tested on its own (pg-queue, crash-recovery).
// - concurrent claimers (SKIP LOCKED, the per-workflow limit across pools): SQLite serialises every
//   claim through its one writer, so there is no race to test there (pg-queue.test.ts covers it).
// - cancelExecution / requeueExecution / rescueOrphans / listEvents exist only on SQLite for now.
// - input the API validates before it reaches the store: PostgreSQL enforces column types and widths
//   (bigint run_at, integer LIMIT, varchar(64) event_type, varchar(255) dedup_key) and rejects a
//   fractional run time or claim limit or an over-long string, where SQLite stores or truncates it.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { claimSortKey, type ClaimedEvent, type EnqueueRequest } from '../../src/domain/event.js';
import { isoAt } from '../../src/domain/clock.js';
import { AppError } from '../../src/errors.js';
import type { Json } from '../../workers/node-contract.js';
import { createPgBackend, createSqliteBackend, runFinish, type ContractQueue, type QueueBackend } from '../helpers/queue-backends.js';

const agingMs = 60_000;
const leaseMs = 10_000;

for (const backend of [createSqliteBackend(), createPgBackend()]) describeContract(backend);

function describeContract(backend: QueueBackend): void {
  describe(`queue contract on ${backend.name}`, function () {
    const clock = { at: Date.parse('2026-01-01T00:00:00Z'), now() { return this.at; } };
    let queue: ContractQueue;
    let failed = false;

    before(async function () {
      await backend.start(clock);
    });

    beforeEach(async function () {
      queue = await backend.fresh();
    });

    afterEach(function () {
      if (this.currentTest?.state === 'failed') failed = true;
    });

    after(async function () {
      await backend.stop(failed);
    });

    async function createWorkflow(): Promise<string> {
      const id = randomUUID();
      await queue.createWorkflow(id);
      return id;
    }

    function enqueue(workflowId: string, overrides: Partial<EnqueueRequest> = {}, maxPending?: number) {
      const request: EnqueueRequest = { workflowId, eventType: 'manual', eventData: { n: 1 }, priority: 3, source: 'api', runAt: clock.now(), maxAttempts: 3, dedupKey: null, ...overrides };
      return queue.enqueue(request, claimSortKey(request.priority, request.runAt, agingMs), maxPending);
    }

    // Events due one millisecond apart, oldest first, so their claim order is their enqueue order.
    async function enqueueMany(workflowId: string, count: number, priority = 3): Promise<number[]> {
      const ids: number[] = [];
      for (let i = 0; i < count; i++) ids.push((await enqueue(workflowId, { priority, runAt: clock.now() - count + i })).event.id);
      return ids;
    }

    const finish = runFinish;

    async function claimOne(owner = 'daemon-a'): Promise<ClaimedEvent> {
      const [claimed] = await queue.claim(1, owner, leaseMs);
      expect(claimed, 'an event to claim').to.not.equal(undefined);
      return claimed!;
    }

    async function refusal(promise: Promise<unknown>): Promise<AppError> {
      const error = await promise.then(
        () => null,
        (thrown: unknown) => thrown,
      );
      expect(error, 'a refusal').to.be.instanceOf(AppError);
      return error as AppError;
    }

    it('claims the most urgent due event first, FIFO within a priority', async function () {
      const wf = await createWorkflow();
      const first = await enqueue(wf, { priority: 3, runAt: clock.now() - 3 });
      const urgent = await enqueue(wf, { priority: 1, runAt: clock.now() - 2 });
      const second = await enqueue(wf, { priority: 3, runAt: clock.now() - 1 });
      const lowest = await enqueue(wf, { priority: 5, runAt: clock.now() - 10 });
      const claimed = await queue.claim(10, 'daemon-a', leaseMs);
      expect(claimed.map((event) => event.id)).to.deep.equal([urgent.event.id, first.event.id, second.event.id, lowest.event.id]);
      expect(claimed.every((event) => event.attempts === 1 && !event.resumed && event.leaseToken === claimed[0]!.leaseToken)).to.equal(true);
      expect(new Set(claimed.map((event) => event.executionId)).size).to.equal(4);
      expect(await queue.executionStatus(claimed[0]!.executionId)).to.equal('running');
      const row = await queue.getEvent(urgent.event.id);
      expect(row).to.include({ status: 'processing', attempts: 1, leaseToken: claimed[0]!.leaseToken, executionId: claimed[0]!.executionId });
    });

    it('reports an event as it was enqueued, and the depth by status and priority', async function () {
      const wf = await createWorkflow();
      const enqueuedAt = clock.now();
      const { event, created } = await enqueue(wf, { priority: 2, eventData: { order: 7, tags: ['a'] }, dedupKey: 'k' });
      expect(created).to.equal(true);
      expect(event).to.deep.include({
        workflowId: wf,
        eventType: 'manual',
        eventData: { order: 7, tags: ['a'] },
        priority: 2,
        status: 'pending',
        source: 'api',
        runAt: enqueuedAt,
        attempts: 0,
        maxAttempts: 3,
        dedupKey: 'k',
        executionId: null,
        errorMessage: null,
        leaseToken: null,
        createdAt: isoAt(enqueuedAt),
        processedAt: null,
        finishedAt: null,
      });
      expect(await queue.getEvent(event.id)).to.deep.equal(event);
      await enqueue(wf, { priority: 4, runAt: clock.now() + 60_000 });
      expect(await queue.queueDepth()).to.deep.equal({
        byStatus: { pending: 2, processing: 0, paused: 0, completed: 0, failed: 0, cancelled: 0 },
        pendingByPriority: { '1': 0, '2': 1, '3': 0, '4': 1, '5': 0 },
        oldestPendingCreatedAt: isoAt(enqueuedAt),
        duePending: 1,
      });
      clock.at += 1_000;
      const claimed = await claimOne();
      expect(claimed.eventData).to.deep.equal({ order: 7, tags: ['a'] });
      expect(claimed.enqueuedAtMs).to.equal(enqueuedAt);
      expect((await queue.getEvent(event.id))!.processedAt).to.equal(isoAt(clock.now()));
      expect(await queue.getEvent(987_654)).to.equal(null);
    });

    it('keeps event data of every JSON shape, as enqueued and as claimed', async function () {
      const wf = await createWorkflow();
      const shapes: Json[] = [null, 'text', 0, -1.5, false, [1, 'a', null], { nested: { deep: [true] }, unicode: 'zß✓', nul: 'a\u0000b' }, {}, 2 ** 53 - 1];
      const ids: number[] = [];
      for (const [i, eventData] of shapes.entries()) ids.push((await enqueue(wf, { eventData, runAt: clock.now() - shapes.length + i })).event.id);
      for (const [i, id] of ids.entries()) expect((await queue.getEvent(id))!.eventData, `shape ${i}`).to.deep.equal(shapes[i]);
      const claimed = await queue.claim(shapes.length, 'daemon-a', leaseMs);
      expect(claimed.map((event) => event.eventData)).to.deep.equal(shapes);
    });

    it('rejects an event of a workflow that does not exist, and stores nothing', async function () {
      const rejected = await enqueue(randomUUID()).then(
        () => null,
        (error: unknown) => error,
      );
      expect(rejected).to.be.instanceOf(Error);
      expect((await queue.queueDepth()).byStatus.pending).to.equal(0);
    });

    it('leaves a not-yet-due event alone until the clock reaches its run time', async function () {
      const wf = await createWorkflow();
      const later = await enqueue(wf, { priority: 1, runAt: clock.now() + 60_000 });
      expect(await queue.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
      expect(await queue.nextDueAt()).to.equal(later.event.runAt);
      expect((await queue.queueDepth()).duePending).to.equal(0);
      clock.at += 59_999;
      expect(await queue.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
      clock.at += 1;
      expect((await queue.claim(10, 'daemon-a', leaseMs)).map((event) => event.id)).to.deep.equal([later.event.id]);
      expect(await queue.nextDueAt()).to.equal(null);
    });

    it('returns the live event for a repeated dedup key, pending or processing, and frees the key once it finished', async function () {
      const wf = await createWorkflow();
      const other = await createWorkflow();
      const one = await enqueue(wf, { dedupKey: 'order-7' });
      const again = await enqueue(wf, { dedupKey: 'order-7', eventData: { different: true } });
      expect(again).to.deep.include({ created: false });
      expect(again.event.id).to.equal(one.event.id);
      expect(again.event.eventData).to.deep.equal({ n: 1 });
      // The key is per workflow.
      expect((await enqueue(other, { dedupKey: 'order-7' })).created).to.equal(true);
      const claimed = (await queue.claim(10, 'daemon-a', leaseMs)).find((event) => event.id === one.event.id)!;
      const whileRunning = await enqueue(wf, { dedupKey: 'order-7' });
      expect(whileRunning.created).to.equal(false);
      expect(whileRunning.event).to.include({ id: one.event.id, status: 'processing' });
      expect(await queue.finishRun(finish(claimed))).to.equal(true);
      const fresh = await enqueue(wf, { dedupKey: 'order-7' });
      expect(fresh.created).to.equal(true);
      expect(fresh.event.id).to.not.equal(one.event.id);
      expect((await queue.queueDepth()).byStatus).to.include({ pending: 1, processing: 1, completed: 1 });
    });

    it('refuses a new event over the depth limit with queue_full and stores nothing, but not a dedup hit', async function () {
      const wf = await createWorkflow();
      const roomy = await createWorkflow();
      await enqueue(wf, { dedupKey: 'a' }, 2);
      await enqueue(wf, {}, 2);
      const before = await queue.queueDepth();
      const refused = await refusal(enqueue(wf, {}, 2));
      expect(refused.code).to.equal('queue_full');
      expect(refused.status).to.equal(429);
      expect(await queue.queueDepth()).to.deep.equal(before);
      expect((await enqueue(wf, { dedupKey: 'a' }, 2)).created).to.equal(false);
      // The limit is per workflow.
      expect((await enqueue(roomy, {}, 2)).created).to.equal(true);
      expect((await queue.queueDepth()).byStatus.pending).to.equal(3);
    });

    it('counts only pending events against the depth limit: a claim or a cancel makes room', async function () {
      const wf = await createWorkflow();
      const [firstId, secondId] = await enqueueMany(wf, 2);
      await refusal(enqueue(wf, {}, 2));
      expect((await claimOne()).id).to.equal(firstId);
      expect((await enqueue(wf, {}, 2)).created).to.equal(true);
      await refusal(enqueue(wf, {}, 2));
      expect((await queue.queueDepth()).byStatus).to.include({ pending: 2, processing: 1 });
      expect((await queue.cancelPendingEvent(secondId!))!.cancelled).to.equal(true);
      expect((await enqueue(wf, {}, 2)).created).to.equal(true);
    });

    it('holds the per-workflow limit within one batch, and counts processing events', async function () {
      const busy = await createWorkflow();
      const quiet = await createWorkflow();
      const busyIds = await enqueueMany(busy, 5, 1);
      const quietIds = await enqueueMany(quiet, 2, 5);
      const batch = await queue.claim(10, 'daemon-a', leaseMs, 2);
      // A saturated workflow's backlog never hides another workflow's events.
      expect(batch.map((event) => event.id)).to.deep.equal([busyIds[0], busyIds[1], quietIds[0], quietIds[1]]);
      expect(await queue.claim(10, 'daemon-a', leaseMs, 2)).to.deep.equal([]);
      expect(await queue.finishRun(finish(batch[0]!))).to.equal(true);
      expect((await queue.claim(10, 'daemon-b', leaseMs, 2)).map((event) => event.id)).to.deep.equal([busyIds[2]]);
      // Without a per-workflow limit, a claim takes whatever is due.
      expect((await queue.claim(10, 'daemon-b', leaseMs)).map((event) => event.id)).to.deep.equal([busyIds[3], busyIds[4]]);
    });

    it('takes the batch limit across workflows in claim order', async function () {
      const a = await createWorkflow();
      const b = await createWorkflow();
      const aIds = await enqueueMany(a, 3, 3);
      const bIds = await enqueueMany(b, 3, 2);
      const batch = await queue.claim(4, 'daemon-a', leaseMs, 3);
      expect(batch.map((event) => event.id)).to.deep.equal([...bIds, aIds[0]]);
      expect(await queue.claim(0, 'daemon-a', leaseMs, 3)).to.deep.equal([]);
    });

    it('holds the depth limit and the dedup key under concurrent enqueues', async function () {
      const wf = await createWorkflow();
      const settled = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => enqueue(wf, { runAt: clock.now() - 10 + i }, 3)));
      expect(settled.filter((result) => result.status === 'fulfilled')).to.have.length(3);
      for (const result of settled) if (result.status === 'rejected') expect((result.reason as AppError).code).to.equal('queue_full');
      const keyed = await createWorkflow();
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => enqueue(keyed, { dedupKey: 'same' })));
      expect(outcomes.filter((outcome) => outcome.created)).to.have.length(1);
      expect(new Set(outcomes.map((outcome) => outcome.event.id)).size).to.equal(1);
      expect((await queue.queueDepth()).byStatus.pending).to.equal(4);
    });

    it('hands concurrent claims disjoint events and holds the per-workflow limit across them', async function () {
      const a = await createWorkflow();
      const b = await createWorkflow();
      const all = [...(await enqueueMany(a, 8)), ...(await enqueueMany(b, 8))];
      const batches = await Promise.all(Array.from({ length: 4 }, (_, i) => queue.claim(3, `daemon-${i}`, leaseMs, 3)));
      const ids = batches.flat().map((event) => event.id);
      expect(new Set(ids).size).to.equal(ids.length);
      expect(ids.every((id) => all.includes(id))).to.equal(true);
      const byWorkflow = new Map<string, number>();
      for (const event of batches.flat()) byWorkflow.set(event.workflowId, (byWorkflow.get(event.workflowId) ?? 0) + 1);
      for (const n of byWorkflow.values()) expect(n).to.be.at.most(3);
      // Once the racing is over, a claim fills each workflow exactly up to its limit.
      await queue.claim(10, 'daemon-z', leaseMs, 3);
      expect((await queue.queueDepth()).byStatus.processing).to.equal(6);
    });

    it('fences a finish with a wrong or stale lease token: false, and nothing changes', async function () {
      const wf = await createWorkflow();
      const { event } = await enqueue(wf);
      const first = await claimOne();
      expect(await queue.finishRun(finish(first, { leaseToken: randomUUID(), executionStatus: 'failed', errorMessage: 'forged', event: { kind: 'failed', error: 'forged' } }))).to.equal(false);
      expect(await queue.getEvent(event.id)).to.include({ status: 'processing', leaseToken: first.leaseToken, errorMessage: null, attempts: 1 });
      expect(await queue.executionStatus(first.executionId)).to.equal('running');

      // The first attempt gives the event back; a second claim holds it under a new lease.
      expect(await queue.finishRun(finish(first, { executionStatus: 'pending', event: { kind: 'released' } }))).to.equal(true);
      const second = await claimOne('daemon-b');
      expect(second.leaseToken).to.not.equal(first.leaseToken);
      expect(second.executionId).to.equal(first.executionId);
      const late = await queue.finishRun(finish(first, { executionStatus: 'failed', errorMessage: 'late', event: { kind: 'failed', error: 'late' } }));
      expect(late).to.equal(false);
      expect(await queue.getEvent(event.id)).to.include({ status: 'processing', leaseToken: second.leaseToken, errorMessage: null });
      expect(await queue.executionStatus(second.executionId)).to.equal('running');

      expect(await queue.finishRun(finish(second))).to.equal(true);
      // Finishing again with the token that already finished changes nothing either.
      expect(await queue.finishRun(finish(second, { executionStatus: 'failed', event: { kind: 'failed', error: 'twice' } }))).to.equal(false);
      expect(await queue.getEvent(event.id)).to.include({ status: 'completed', leaseToken: null, errorMessage: null, finishedAt: isoAt(clock.now()) });
      expect(await queue.executionStatus(second.executionId)).to.equal('completed');
    });

    it('records a failed outcome with its error', async function () {
      const wf = await createWorkflow();
      const { event } = await enqueue(wf);
      const claimed = await claimOne();
      expect(await queue.finishRun(finish(claimed, { executionStatus: 'failed', errorMessage: 'boom', event: { kind: 'failed', error: 'boom' } }))).to.equal(true);
      expect(await queue.getEvent(event.id)).to.include({ status: 'failed', errorMessage: 'boom', attempts: 1, leaseToken: null });
      expect(await queue.executionStatus(claimed.executionId)).to.equal('failed');
      expect(await queue.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
    });

    it('puts a retried event back pending with its later run time, and resumes the same execution', async function () {
      const wf = await createWorkflow();
      const { event } = await enqueue(wf);
      const claimed = await claimOne();
      const runAt = clock.now() + 5_000;
      expect(await queue.finishRun(finish(claimed, { executionStatus: 'pending', errorMessage: 'boom', event: { kind: 'retry', runAt, error: 'boom' } }))).to.equal(true);
      expect(await queue.getEvent(event.id)).to.include({ status: 'pending', runAt, errorMessage: 'boom', attempts: 1, leaseToken: null });
      expect(await queue.executionStatus(claimed.executionId)).to.equal('pending');
      expect(await queue.nextDueAt()).to.equal(runAt);
      expect(await queue.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
      clock.at = runAt;
      const again = await claimOne();
      expect(again).to.include({ id: event.id, attempts: 2, resumed: true, executionId: claimed.executionId });
      expect(await queue.executionStatus(claimed.executionId)).to.equal('running');
    });

    it('gives the attempt back on release and keeps the event its place in line', async function () {
      const wf = await createWorkflow();
      const [firstId, secondId] = await enqueueMany(wf, 2);
      const claimed = await claimOne();
      expect(claimed.id).to.equal(firstId);
      const runAt = (await queue.getEvent(firstId!))!.runAt;
      expect(await queue.finishRun(finish(claimed, { executionStatus: 'pending', event: { kind: 'released' } }))).to.equal(true);
      expect(await queue.getEvent(firstId!)).to.include({ status: 'pending', attempts: 0, runAt, leaseToken: null });
      const again = await queue.claim(1, 'daemon-b', leaseMs);
      expect(again.map((event) => [event.id, event.attempts, event.resumed])).to.deep.equal([[firstId, 1, true]]);
      expect((await claimOne()).id).to.equal(secondId);
    });

    it('cancels a pending event, and only a pending one', async function () {
      const wf = await createWorkflow();
      const { event } = await enqueue(wf);
      const running = await enqueue(wf, { runAt: clock.now() - 1 });
      const claimed = await claimOne();
      expect(claimed.id).to.equal(running.event.id);
      const cancelled = await queue.cancelPendingEvent(event.id);
      expect(cancelled!.cancelled).to.equal(true);
      expect(cancelled!.event).to.include({ id: event.id, status: 'cancelled', finishedAt: isoAt(clock.now()) });
      expect(await queue.cancelPendingEvent(event.id)).to.deep.include({ cancelled: false });
      const notPending = await queue.cancelPendingEvent(running.event.id);
      expect(notPending!.cancelled).to.equal(false);
      expect(notPending!.event.status).to.equal('processing');
      expect(await queue.cancelPendingEvent(999_999)).to.equal(null);
      expect(await queue.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
      expect((await queue.queueDepth()).byStatus).to.include({ pending: 0, processing: 1, cancelled: 1 });
    });

    it('cancels a retry waiting for its backoff, and its execution', async function () {
      const wf = await createWorkflow();
      const { event } = await enqueue(wf);
      const claimed = await claimOne();
      await queue.finishRun(finish(claimed, { executionStatus: 'pending', event: { kind: 'retry', runAt: clock.now() + 5_000, error: 'boom' } }));
      expect((await queue.cancelPendingEvent(event.id))!.cancelled).to.equal(true);
      expect(await queue.executionStatus(claimed.executionId)).to.equal('cancelled');
      clock.at += 5_000;
      expect(await queue.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
    });

    it('pauses an event with an open question: unclaimable, no slot held, attempt given back, dedup key kept', async function () {
      const wf = await createWorkflow();
      const { event } = await enqueue(wf, { dedupKey: 'ask-1' });
      const claimed = await claimOne();
      await queue.openQuestion(wf, claimed.executionId);
      expect(await queue.finishRun(finish(claimed, { executionStatus: 'paused', event: { kind: 'paused' } }))).to.equal(true);
      expect(await queue.getEvent(event.id)).to.include({ status: 'paused', attempts: 0, leaseToken: null });
      expect(await queue.executionStatus(claimed.executionId)).to.equal('paused');
      expect(await queue.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
      const again = await enqueue(wf, { dedupKey: 'ask-1' });
      expect(again).to.deep.include({ created: false });
      expect(again.event.id).to.equal(event.id);
      // A paused event holds no per-workflow slot and is not pending (depth limit).
      const other = await enqueue(wf, {}, 1);
      expect((await queue.claim(10, 'daemon-a', leaseMs, 1)).map((e) => e.id)).to.deep.equal([other.event.id]);
      expect(await queue.cancelPendingEvent(event.id)).to.deep.include({ cancelled: false });
      expect((await queue.queueDepth()).byStatus).to.include({ paused: 1, processing: 1, pending: 0 });
    });

    it('treats a pause with no open question as a release, so an answer given meanwhile is not lost', async function () {
      const wf = await createWorkflow();
      const { event } = await enqueue(wf);
      const claimed = await claimOne();
      expect(await queue.finishRun(finish(claimed, { executionStatus: 'paused', event: { kind: 'paused' } }))).to.equal(true);
      expect(await queue.getEvent(event.id)).to.include({ status: 'pending', attempts: 0 });
      expect(await queue.executionStatus(claimed.executionId)).to.equal('pending');
      expect((await claimOne()).id).to.equal(event.id);
    });
  });
}
