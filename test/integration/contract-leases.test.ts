// The store contract, lease part: a claim's lease fences every write of its attempt, and an attempt
// ends completed, failed, retried, released, paused or cancelled, as the port describes, on SQLite and
// PostgreSQL alike (test/helpers/contract.ts). Ordering, dedup and limits are in contract-queue.test.ts.
//
// PostgreSQL only (the `backend.fleet` block at the end): renewLeases and reclaimExpired. Several
// daemons share a PostgreSQL database, so a processing event may be a live daemon's: a heartbeat keeps
// its lease, and only an expired lease is reclaimed. A SQLite file has one daemon (its lock file keeps
// a second one off), so no lease needs renewing while it runs, and every event left processing at
// start-up is a dead process's: rescueOrphans takes them all, whatever their lease says. The contract
// below rescues only after the lease ran out, where both stores must agree. The two methods are on
// PgStore only, not on the Store port.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { isoAt } from '../../src/domain/clock.js';
import type { OpenedStore } from '../../src/store/open-store.js';
import { forEachBackend, leaseMs, refusal, sortKeyAt } from '../helpers/contract.js';
import { runFinish } from '../helpers/queue-backends.js';

forEachBackend('store contract: leases', (backend) => {
  const { clock } = backend;
  let store: OpenedStore;

  beforeEach(function () {
    store = backend.store;
  });

  it('fences a finish with a wrong or stale lease token: false, and nothing changes', async function () {
    const wf = await backend.createWorkflow();
    const { event } = await backend.enqueue(wf);
    const first = await backend.claimOne();
    expect(await store.finishRun(runFinish(first, { leaseToken: randomUUID(), executionStatus: 'failed', errorMessage: 'forged', event: { kind: 'failed', error: 'forged' } }))).to.equal(false);
    expect(await store.getEvent(event.id)).to.include({ status: 'processing', leaseToken: first.leaseToken, errorMessage: null, attempts: 1 });
    expect(await backend.executionStatus(first.executionId)).to.equal('running');

    // The first attempt gives the event back; a second claim holds it under a new lease.
    expect(await store.finishRun(runFinish(first, { executionStatus: 'pending', event: { kind: 'released' } }))).to.equal(true);
    const second = await backend.claimOne('daemon-b');
    expect(second.leaseToken).to.not.equal(first.leaseToken);
    expect(second.executionId).to.equal(first.executionId);
    const late = await store.finishRun(runFinish(first, { executionStatus: 'failed', errorMessage: 'late', event: { kind: 'failed', error: 'late' } }));
    expect(late).to.equal(false);
    expect(await store.getEvent(event.id)).to.include({ status: 'processing', leaseToken: second.leaseToken, errorMessage: null });
    expect(await backend.executionStatus(second.executionId)).to.equal('running');

    expect(await store.finishRun(runFinish(second))).to.equal(true);
    // Finishing again with the token that already finished changes nothing either.
    expect(await store.finishRun(runFinish(second, { executionStatus: 'failed', event: { kind: 'failed', error: 'twice' } }))).to.equal(false);
    expect(await store.getEvent(event.id)).to.include({ status: 'completed', leaseToken: null, errorMessage: null, finishedAt: isoAt(clock.now()) });
    expect(await backend.executionStatus(second.executionId)).to.equal('completed');
  });

  it('records a failed outcome with its error', async function () {
    const wf = await backend.createWorkflow();
    const { event } = await backend.enqueue(wf);
    const claimed = await backend.claimOne();
    expect(await store.finishRun(runFinish(claimed, { executionStatus: 'failed', errorMessage: 'boom', event: { kind: 'failed', error: 'boom' } }))).to.equal(true);
    expect(await store.getEvent(event.id)).to.include({ status: 'failed', errorMessage: 'boom', attempts: 1, leaseToken: null });
    expect(await backend.executionStatus(claimed.executionId)).to.equal('failed');
    expect(await store.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
  });

  it('puts a retried event back pending with its later run time, and resumes the same execution', async function () {
    const wf = await backend.createWorkflow();
    const { event } = await backend.enqueue(wf);
    const claimed = await backend.claimOne();
    const runAt = clock.now() + 5_000;
    expect(await store.finishRun(runFinish(claimed, { executionStatus: 'pending', errorMessage: 'boom', event: { kind: 'retry', runAt, error: 'boom' } }))).to.equal(true);
    expect(await store.getEvent(event.id)).to.include({ status: 'pending', runAt, errorMessage: 'boom', attempts: 1, leaseToken: null });
    expect(await backend.executionStatus(claimed.executionId)).to.equal('pending');
    expect(await store.nextDueAt()).to.equal(runAt);
    expect(await store.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
    clock.at = runAt;
    const again = await backend.claimOne();
    expect(again).to.include({ id: event.id, attempts: 2, resumed: true, executionId: claimed.executionId });
    expect(await backend.executionStatus(claimed.executionId)).to.equal('running');
  });

  it('gives the attempt back on release and keeps the event its place in line', async function () {
    const wf = await backend.createWorkflow();
    const [firstId, secondId] = await backend.enqueueMany(wf, 2);
    const claimed = await backend.claimOne();
    expect(claimed.id).to.equal(firstId);
    const runAt = (await store.getEvent(firstId!))!.runAt;
    expect(await store.finishRun(runFinish(claimed, { executionStatus: 'pending', event: { kind: 'released' } }))).to.equal(true);
    expect(await store.getEvent(firstId!)).to.include({ status: 'pending', attempts: 0, runAt, leaseToken: null });
    const again = await store.claim(1, 'daemon-b', leaseMs);
    expect(again.map((event) => [event.id, event.attempts, event.resumed])).to.deep.equal([[firstId, 1, true]]);
    expect((await backend.claimOne()).id).to.equal(secondId);
  });

  it('cancels a pending event, and only a pending one', async function () {
    const wf = await backend.createWorkflow();
    const { event } = await backend.enqueue(wf);
    const running = await backend.enqueue(wf, { runAt: clock.now() - 1 });
    const claimed = await backend.claimOne();
    expect(claimed.id).to.equal(running.event.id);
    const cancelled = await store.cancelPendingEvent(event.id);
    expect(cancelled!.cancelled).to.equal(true);
    expect(cancelled!.event).to.include({ id: event.id, status: 'cancelled', finishedAt: isoAt(clock.now()) });
    expect(await store.cancelPendingEvent(event.id)).to.deep.include({ cancelled: false });
    const notPending = await store.cancelPendingEvent(running.event.id);
    expect(notPending!.cancelled).to.equal(false);
    expect(notPending!.event.status).to.equal('processing');
    expect(await store.cancelPendingEvent(999_999)).to.equal(null);
    expect(await store.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
    expect((await store.queueDepth()).byStatus).to.include({ pending: 0, processing: 1, cancelled: 1 });
  });

  it('cancels a retry waiting for its backoff, and its execution', async function () {
    const wf = await backend.createWorkflow();
    const { event } = await backend.enqueue(wf);
    const claimed = await backend.claimOne();
    await store.finishRun(runFinish(claimed, { executionStatus: 'pending', event: { kind: 'retry', runAt: clock.now() + 5_000, error: 'boom' } }));
    expect((await store.cancelPendingEvent(event.id))!.cancelled).to.equal(true);
    expect(await backend.executionStatus(claimed.executionId)).to.equal('cancelled');
    clock.at += 5_000;
    expect(await store.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
  });

  it('pauses an event with an open question: unclaimable, no slot held, attempt given back, dedup key kept', async function () {
    const wf = await backend.createWorkflow();
    const { event } = await backend.enqueue(wf, { dedupKey: 'ask-1' });
    const claimed = await backend.claimOne();
    await backend.openQuestion(wf, claimed.executionId);
    expect(await store.finishRun(runFinish(claimed, { executionStatus: 'paused', event: { kind: 'paused' } }))).to.equal(true);
    expect(await store.getEvent(event.id)).to.include({ status: 'paused', attempts: 0, leaseToken: null });
    expect(await backend.executionStatus(claimed.executionId)).to.equal('paused');
    expect(await store.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
    const again = await backend.enqueue(wf, { dedupKey: 'ask-1' });
    expect(again).to.deep.include({ created: false });
    expect(again.event.id).to.equal(event.id);
    // A paused event holds no per-workflow slot and is not pending (depth limit).
    const other = await backend.enqueue(wf, {}, 1);
    expect((await store.claim(10, 'daemon-a', leaseMs, 1)).map((e) => e.id)).to.deep.equal([other.event.id]);
    expect(await store.cancelPendingEvent(event.id)).to.deep.include({ cancelled: false });
    expect((await store.queueDepth()).byStatus).to.include({ paused: 1, processing: 1, pending: 0 });
  });

  it('treats a pause with no open question as a release, so an answer given meanwhile is not lost', async function () {
    const wf = await backend.createWorkflow();
    const { event } = await backend.enqueue(wf);
    const claimed = await backend.claimOne();
    expect(await store.finishRun(runFinish(claimed, { executionStatus: 'paused', event: { kind: 'paused' } }))).to.equal(true);
    expect(await store.getEvent(event.id)).to.include({ status: 'pending', attempts: 0 });
    expect(await backend.executionStatus(claimed.executionId)).to.equal('pending');
    expect((await backend.claimOne()).id).to.equal(event.id);
  });

  it('rescues an attempt whose lease ran out: pending again, attempt given back, late finish fenced; the max_attempts-th rescue fails it', async function () {
    const wf = await backend.createWorkflow();
    const { event } = await backend.enqueue(wf, { maxAttempts: 2 });
    const first = await backend.claimOne();
    clock.at += leaseMs + 1;
    expect(await store.rescueOrphans()).to.deep.equal({ requeued: 1, failed: 0 });
    expect(await store.getEvent(event.id)).to.include({ status: 'pending', attempts: 0, leaseToken: null });
    expect(await backend.executionStatus(first.executionId)).to.equal('pending');
    expect(await store.finishRun(runFinish(first))).to.equal(false);
    const second = await backend.claimOne('daemon-b');
    expect(second).to.include({ id: event.id, attempts: 1, resumed: true, executionId: first.executionId });
    clock.at += leaseMs + 1;
    // Orphaned on every attempt it was allowed: failed, so it cannot take daemons down for ever.
    expect(await store.rescueOrphans()).to.deep.equal({ requeued: 0, failed: 1 });
    expect(await store.getEvent(event.id)).to.include({ status: 'failed', leaseToken: null, finishedAt: isoAt(clock.now()) });
    expect(await backend.executionStatus(first.executionId)).to.equal('failed');
    expect(await store.claim(10, 'daemon-a', leaseMs)).to.deep.equal([]);
    expect(await store.rescueOrphans()).to.deep.equal({ requeued: 0, failed: 0 });
  });

  it('cancels a running execution with its event, lease and open question; the attempt\'s late finish changes nothing', async function () {
    const wf = await backend.createWorkflow();
    const claimed = await backend.startRun(wf);
    const question = await backend.openQuestion(wf, claimed.executionId);
    const cancelled = await store.cancelExecution(claimed.executionId);
    expect(cancelled!.changed).to.equal(true);
    expect(cancelled!.execution).to.include({ id: claimed.executionId, status: 'cancelled', cancelled_at: isoAt(clock.now()) });
    expect(await store.getEvent(claimed.id)).to.include({ status: 'cancelled', leaseToken: null });
    const [listed] = await store.listInteractions({ executionId: claimed.executionId, limit: 10 });
    expect(listed!.interaction).to.include({ id: question, status: 'cancelled' });
    // Cancelled is sticky: the attempt finishing afterwards neither completes nor reopens it.
    expect(await store.finishRun(runFinish(claimed))).to.equal(false);
    expect(await backend.executionStatus(claimed.executionId)).to.equal('cancelled');
    expect((await store.cancelExecution(claimed.executionId))!.changed).to.equal(false);
    expect(await store.cancelExecution(randomUUID())).to.equal(null);
    expect((await store.queueDepth()).byStatus).to.include({ processing: 0, cancelled: 1 });
  });

  it('requeues a failed execution with fresh attempts, and refuses a live one or one whose dedup key is taken', async function () {
    const wf = await backend.createWorkflow();
    const { event } = await backend.enqueue(wf, { dedupKey: 'order-1' });
    const claimed = await backend.claimOne();
    expect(await store.requeueExecution(claimed.executionId, sortKeyAt)).to.equal(false);
    await store.finishRun(runFinish(claimed, { executionStatus: 'failed', errorMessage: 'boom', event: { kind: 'failed', error: 'boom' } }));
    clock.at += 1_000;
    expect(await store.requeueExecution(claimed.executionId, sortKeyAt)).to.equal(true);
    expect(await store.getEvent(event.id)).to.include({ status: 'pending', attempts: 0, errorMessage: null, runAt: clock.now(), finishedAt: null });
    expect(await store.getExecution(claimed.executionId)).to.include({ status: 'pending', error_message: null, completed_at: null });
    const again = await backend.claimOne();
    expect(again).to.include({ id: event.id, attempts: 1, resumed: true, executionId: claimed.executionId });
    await store.finishRun(runFinish(again, { executionStatus: 'failed', errorMessage: 'boom', event: { kind: 'failed', error: 'boom' } }));
    // A new event took the key meanwhile: requeueing would make two live events with one key.
    const holder = await backend.enqueue(wf, { dedupKey: 'order-1' });
    const refused = await refusal(store.requeueExecution(claimed.executionId, sortKeyAt));
    expect(refused.code).to.equal('dedup_key_taken');
    expect(await backend.executionStatus(claimed.executionId)).to.equal('failed');
    expect((await store.cancelPendingEvent(holder.event.id))!.cancelled).to.equal(true);
    expect(await store.requeueExecution(claimed.executionId, sortKeyAt)).to.equal(true);
    expect(await store.requeueExecution(randomUUID(), sortKeyAt)).to.equal(false);
  });

  if (backend.fleet) {
    describe('lease upkeep of a fleet', function () {
      it('keeps a renewed lease from being reclaimed until the renewal runs out, renewing only the owner\'s listed events', async function () {
        const wf = await backend.createWorkflow();
        const [kept, lapsed] = await backend.enqueueMany(wf, 2);
        await store.claim(2, 'daemon-a', leaseMs);
        clock.at += leaseMs - 1_000;
        expect(await backend.leases.renewLeases('daemon-b', leaseMs, [kept!, lapsed!])).to.equal(0);
        expect(await backend.leases.renewLeases('daemon-a', leaseMs, [kept!])).to.equal(1);
        expect(await backend.leases.renewLeases('daemon-a', leaseMs, [])).to.equal(0);
        clock.at += 2_000;
        expect(await backend.leases.reclaimExpired()).to.deep.equal({ requeued: 1, failed: 0 });
        expect((await store.getEvent(lapsed!))!.status).to.equal('pending');
        expect((await store.getEvent(kept!))!.status).to.equal('processing');
        clock.at += leaseMs;
        expect(await backend.leases.reclaimExpired()).to.deep.equal({ requeued: 1, failed: 0 });
      });

      it('reclaims and rescues only leases that ran out, since a live daemon holds the others', async function () {
        const wf = await backend.createWorkflow();
        await backend.enqueueMany(wf, 2);
        const [early] = await store.claim(1, 'daemon-a', leaseMs);
        clock.at += leaseMs / 2;
        const [late] = await store.claim(1, 'daemon-b', leaseMs);
        expect(await backend.leases.reclaimExpired()).to.deep.equal({ requeued: 0, failed: 0 });
        expect(await store.rescueOrphans()).to.deep.equal({ requeued: 0, failed: 0 });
        clock.at += leaseMs / 2 + 1;
        expect(await store.rescueOrphans()).to.deep.equal({ requeued: 1, failed: 0 });
        expect(await store.finishRun(runFinish(early!))).to.equal(false);
        expect(await store.finishRun(runFinish(late!))).to.equal(true);
        expect((await store.queueDepth()).byStatus).to.include({ pending: 1, processing: 0, completed: 1 });
      });
    });
  }
});
