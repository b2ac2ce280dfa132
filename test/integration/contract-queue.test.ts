// The store contract, queue part: ordering, due times, dedup keys and the depth, batch and per-workflow
// limits, written once and run against SQLite and PostgreSQL (test/helpers/contract.ts). Leases and how
// an attempt ends are in contract-leases.test.ts.
//
// Left out on purpose, because the backends legitimately differ:
// - the global processing limit (claim's `maxProcessing`) is counted in the database only where several
//   daemons share it; on SQLite the one daemon's dispatcher capacity bounds it. Tested here on PostgreSQL.
// - claimers on separate pools racing for the same rows (SKIP LOCKED across daemons): SQLite serialises
//   every claim through its one writer; pg-queue.test.ts races two pools.
// - input the API validates before it reaches the store: PostgreSQL enforces column types and widths
//   (bigint run_at, integer LIMIT, varchar(64) event_type, varchar(255) dedup_key) and rejects a
//   fractional run time or claim limit or an over-long string, where SQLite stores or truncates it.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { isoAt } from '../../src/domain/clock.js';
import type { AppError } from '../../src/errors.js';
import type { OpenedStore } from '../../src/store/open-store.js';
import type { Json } from '../../workers/node-contract.js';
import { forEachBackend, leaseMs, refusal } from '../helpers/contract.js';
import { runFinish } from '../helpers/queue-backends.js';

forEachBackend('store contract: queue', (backend) => {
  const { clock } = backend;
  let store: OpenedStore;

  beforeEach(function () {
    store = backend.store;
  });

  it('claims the most urgent due event first, FIFO within a priority', async function () {
    const wf = await backend.createWorkflow();
    const first = await backend.enqueue(wf, { priority: 3, runAt: clock.now() - 3 });
    const urgent = await backend.enqueue(wf, { priority: 1, runAt: clock.now() - 2 });
    const second = await backend.enqueue(wf, { priority: 3, runAt: clock.now() - 1 });
    const lowest = await backend.enqueue(wf, { priority: 5, runAt: clock.now() - 10 });
    const claimed = await store.claim(10, 'daemon-a', leaseMs);
    expect(claimed.map((event) => event.id)).to.deep.equal([urgent.event.id, first.event.id, second.event.id, lowest.event.id]);
    expect(claimed.every((event) => event.attempts === 1 && !event.resumed && event.leaseToken === claimed[0]!.leaseToken)).to.equal(true);
    expect(new Set(claimed.map((event) => event.executionId)).size).to.equal(4);
    expect(await backend.executionStatus(claimed[0]!.executionId)).to.equal('running');
    const row = await store.getEvent(urgent.event.id);
    expect(row).to.include({ status: 'processing', attempts: 1, leaseToken: claimed[0]!.leaseToken, executionId: claimed[0]!.executionId });
  });

  it('reports an event as it was enqueued, and the depth by status and priority', async function () {
    const wf = await backend.createWorkflow();
    const enqueuedAt = clock.now();
    const { event, created } = await backend.enqueue(wf, { priority: 2, eventData: { order: 7, tags: ['a'] }, dedupKey: 'k' });
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
    expect(await store.getEvent(event.id)).to.deep.equal(event);
    await backend.enqueue(wf, { priority: 4, runAt: clock.now() + 60_000 });
    expect(await store.queueDepth()).to.deep.equal({
      byStatus: { pending: 2, processing: 0, paused: 0, completed: 0, failed: 0, cancelled: 0 },
      pendingByPriority: { '1': 0, '2': 1, '3': 0, '4': 1, '5': 0 },
      oldestPendingCreatedAt: isoAt(enqueuedAt),
      duePending: 1,
    });
    clock.at += 1_000;
    const claimed = await backend.claimOne();
    expect(claimed.eventData).to.deep.equal({ order: 7, tags: ['a'] });
    expect(claimed.enqueuedAtMs).to.equal(enqueuedAt);
    expect((await store.getEvent(event.id))!.processedAt).to.equal(isoAt(clock.now()));
    expect(await store.getEvent(987_654)).to.equal(null);
  });

  it('keeps event data of every JSON shape, as enqueued and as claimed', async function () {
    const wf = await backend.createWorkflow();
    const shapes: Json[] = [null, 'text', 0, -1.5, false, [1, 'a', null], { nested: { deep: [true] }, unicode: 'zß✓', nul: 'a\u0000b' }, {}, 2 ** 53 - 1];
    const ids: number[] = [];
    for (const [i, eventData] of shapes.entries()) ids.push((await backend.enqueue(wf, { eventData, runAt: clock.now() - shapes.length + i })).event.id);
    for (const [i, id] of ids.entries()) expect((await store.getEvent(id))!.eventData, `shape ${i}`).to.deep.equal(shapes[i]);
    const claimed = await store.claim(shapes.length, 'daemon-a', leaseMs);
    expect(claimed.map((event) => event.eventData)).to.deep.equal(shapes);
  });

  it('rejects an event of a workflow that does not exist, and stores nothing', async function () {
    const rejected = await backend.enqueue(randomUUID()).then(
      () => null,
      (error: unknown) => error,
    );
    expect(rejected).to.be.instanceOf(Error);
    expect((await store.queueDepth()).byStatus.pending).to.equal(0);
  });

  it('leaves a not-yet-due event alone until the clock reaches its run time', async function () {
    const wf = await backend.createWorkflow();
    const later = await backend.enqueue(wf, { priority: 1, runAt: clock.now() + 60_000 });
    expect(await store.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
    expect(await store.nextDueAt()).to.equal(later.event.runAt);
    expect((await store.queueDepth()).duePending).to.equal(0);
    clock.at += 59_999;
    expect(await store.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
    clock.at += 1;
    expect((await store.claim(10, 'daemon-a', leaseMs)).map((event) => event.id)).to.deep.equal([later.event.id]);
    expect(await store.nextDueAt()).to.equal(null);
  });

  it('returns the live event for a repeated dedup key, pending or processing, and frees the key once it finished', async function () {
    const wf = await backend.createWorkflow();
    const other = await backend.createWorkflow();
    const one = await backend.enqueue(wf, { dedupKey: 'order-7' });
    const again = await backend.enqueue(wf, { dedupKey: 'order-7', eventData: { different: true } });
    expect(again).to.deep.include({ created: false });
    expect(again.event.id).to.equal(one.event.id);
    expect(again.event.eventData).to.deep.equal({ n: 1 });
    // The key is per workflow.
    expect((await backend.enqueue(other, { dedupKey: 'order-7' })).created).to.equal(true);
    const claimed = (await store.claim(10, 'daemon-a', leaseMs)).find((event) => event.id === one.event.id)!;
    const whileRunning = await backend.enqueue(wf, { dedupKey: 'order-7' });
    expect(whileRunning.created).to.equal(false);
    expect(whileRunning.event).to.include({ id: one.event.id, status: 'processing' });
    expect(await store.finishRun(runFinish(claimed))).to.equal(true);
    const fresh = await backend.enqueue(wf, { dedupKey: 'order-7' });
    expect(fresh.created).to.equal(true);
    expect(fresh.event.id).to.not.equal(one.event.id);
    expect((await store.queueDepth()).byStatus).to.include({ pending: 1, processing: 1, completed: 1 });
  });

  it('refuses a new event over the depth limit with queue_full and stores nothing, but not a dedup hit', async function () {
    const wf = await backend.createWorkflow();
    const roomy = await backend.createWorkflow();
    await backend.enqueue(wf, { dedupKey: 'a' }, 2);
    await backend.enqueue(wf, {}, 2);
    const before = await store.queueDepth();
    const refused = await refusal(backend.enqueue(wf, {}, 2));
    expect(refused.code).to.equal('queue_full');
    expect(refused.status).to.equal(429);
    expect(await store.queueDepth()).to.deep.equal(before);
    expect((await backend.enqueue(wf, { dedupKey: 'a' }, 2)).created).to.equal(false);
    // The limit is per workflow.
    expect((await backend.enqueue(roomy, {}, 2)).created).to.equal(true);
    expect((await store.queueDepth()).byStatus.pending).to.equal(3);
  });

  it('counts only pending events against the depth limit: a claim or a cancel makes room', async function () {
    const wf = await backend.createWorkflow();
    const [firstId, secondId] = await backend.enqueueMany(wf, 2);
    await refusal(backend.enqueue(wf, {}, 2));
    expect((await backend.claimOne()).id).to.equal(firstId);
    expect((await backend.enqueue(wf, {}, 2)).created).to.equal(true);
    await refusal(backend.enqueue(wf, {}, 2));
    expect((await store.queueDepth()).byStatus).to.include({ pending: 2, processing: 1 });
    expect((await store.cancelPendingEvent(secondId!))!.cancelled).to.equal(true);
    expect((await backend.enqueue(wf, {}, 2)).created).to.equal(true);
  });

  it('holds the per-workflow limit within one batch, and counts processing events', async function () {
    const busy = await backend.createWorkflow();
    const quiet = await backend.createWorkflow();
    const busyIds = await backend.enqueueMany(busy, 5, 1);
    const quietIds = await backend.enqueueMany(quiet, 2, 5);
    const batch = await store.claim(10, 'daemon-a', leaseMs, 2);
    // A saturated workflow's backlog never hides another workflow's events.
    expect(batch.map((event) => event.id)).to.deep.equal([busyIds[0], busyIds[1], quietIds[0], quietIds[1]]);
    expect(await store.claim(10, 'daemon-a', leaseMs, 2)).to.deep.equal([]);
    expect(await store.finishRun(runFinish(batch[0]!))).to.equal(true);
    expect((await store.claim(10, 'daemon-b', leaseMs, 2)).map((event) => event.id)).to.deep.equal([busyIds[2]]);
    // Without a per-workflow limit, a claim takes whatever is due.
    expect((await store.claim(10, 'daemon-b', leaseMs)).map((event) => event.id)).to.deep.equal([busyIds[3], busyIds[4]]);
  });

  it('takes the batch limit across workflows in claim order', async function () {
    const a = await backend.createWorkflow();
    const b = await backend.createWorkflow();
    const aIds = await backend.enqueueMany(a, 3, 3);
    const bIds = await backend.enqueueMany(b, 3, 2);
    const batch = await store.claim(4, 'daemon-a', leaseMs, 3);
    expect(batch.map((event) => event.id)).to.deep.equal([...bIds, aIds[0]]);
    expect(await store.claim(0, 'daemon-a', leaseMs, 3)).to.deep.equal([]);
  });

  it('holds the depth limit and the dedup key under concurrent enqueues', async function () {
    const wf = await backend.createWorkflow();
    const settled = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => backend.enqueue(wf, { runAt: clock.now() - 10 + i }, 3)));
    expect(settled.filter((result) => result.status === 'fulfilled')).to.have.length(3);
    for (const result of settled) if (result.status === 'rejected') expect((result.reason as AppError).code).to.equal('queue_full');
    const keyed = await backend.createWorkflow();
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => backend.enqueue(keyed, { dedupKey: 'same' })));
    expect(outcomes.filter((outcome) => outcome.created)).to.have.length(1);
    expect(new Set(outcomes.map((outcome) => outcome.event.id)).size).to.equal(1);
    expect((await store.queueDepth()).byStatus.pending).to.equal(4);
  });

  it('hands concurrent claims disjoint events and holds the per-workflow limit across them', async function () {
    const a = await backend.createWorkflow();
    const b = await backend.createWorkflow();
    const all = [...(await backend.enqueueMany(a, 8)), ...(await backend.enqueueMany(b, 8))];
    const batches = await Promise.all(Array.from({ length: 4 }, (_, i) => store.claim(3, `daemon-${i}`, leaseMs, 3)));
    const ids = batches.flat().map((event) => event.id);
    expect(new Set(ids).size).to.equal(ids.length);
    expect(ids.every((id) => all.includes(id))).to.equal(true);
    const byWorkflow = new Map<string, number>();
    for (const event of batches.flat()) byWorkflow.set(event.workflowId, (byWorkflow.get(event.workflowId) ?? 0) + 1);
    for (const n of byWorkflow.values()) expect(n).to.be.at.most(3);
    // Once the racing is over, a claim fills each workflow exactly up to its limit.
    await store.claim(10, 'daemon-z', leaseMs, 3);
    expect((await store.queueDepth()).byStatus.processing).to.equal(6);
  });

  it('lists events newest first, by status and workflow, a page at a time', async function () {
    const wf = await backend.createWorkflow();
    const other = await backend.createWorkflow();
    const [first, second, third] = await backend.enqueueMany(wf, 3);
    const elsewhere = (await backend.enqueue(other)).event.id;
    const claimed = await backend.claimOne();
    expect(claimed.id).to.equal(first);
    const ids = async (filter: Parameters<OpenedStore['listEvents']>[0]) => (await store.listEvents(filter)).map((event) => event.id);
    expect(await ids({ limit: 10 })).to.deep.equal([elsewhere, third, second, first]);
    expect(await ids({ limit: 10, workflowId: wf })).to.deep.equal([third, second, first]);
    expect(await ids({ limit: 10, status: 'processing' })).to.deep.equal([first]);
    expect(await ids({ limit: 10, status: 'pending', workflowId: wf })).to.deep.equal([third, second]);
    expect(await ids({ limit: 2 })).to.deep.equal([elsewhere, third]);
    expect(await ids({ limit: 2, beforeId: third })).to.deep.equal([second, first]);
    expect((await store.listEvents({ limit: 1, status: 'processing' }))[0]).to.deep.equal(await store.getEvent(first!));
  });

  if (backend.fleet) {
    it('holds the global processing limit across claims, and frees a slot when an attempt ends', async function () {
      const a = await backend.createWorkflow();
      const b = await backend.createWorkflow();
      await backend.enqueueMany(a, 4);
      await backend.enqueueMany(b, 4);
      const batches = await Promise.all(Array.from({ length: 4 }, (_, i) => store.claim(2, `daemon-${i}`, leaseMs, undefined, 5)));
      expect(batches.flat()).to.have.length(5);
      expect(await store.claim(10, 'daemon-z', leaseMs, undefined, 5)).to.deep.equal([]);
      expect(await store.finishRun(runFinish(batches.flat()[0]!))).to.equal(true);
      expect(await store.claim(10, 'daemon-z', leaseMs, undefined, 5)).to.have.length(1);
      expect((await store.queueDepth()).byStatus).to.include({ processing: 5, pending: 2, completed: 1 });
    });
  }
});
