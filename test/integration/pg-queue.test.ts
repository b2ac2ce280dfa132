// The PostgreSQL event queue against a real server (TAV_TEST_PG_URL, default 127.0.0.1:5432 user postgres
// db test), in a schema of its own built by the project's migrations: claim order, dedup, depth limit,
// per-workflow limits and SKIP LOCKED across two queues on separate pools, leases, reclaim and fencing.
// Time is a fake clock, so lease expiry is a clock move, never a sleep. A failing run keeps its schema.
import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import { claimSortKey, type EnqueueRequest } from '../../src/domain/event.js';
import { AppError } from '../../src/errors.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { PgQueue } from '../../src/store/pg/pg-queue.js';
import { runFinish } from '../helpers/queue-backends.js';

const pgUrl = process.env.TAV_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const agingMs = 60_000;
const leaseMs = 10_000;

describe('PostgreSQL event queue', function () {
  const schema = `tav_test_${randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: pgUrl, pool: { min: 0, max: 1 } });
  const clock = { at: Date.parse('2026-01-01T00:00:00Z'), now() { return this.at; } };
  let poolA: Knex;
  let poolB: Knex;
  let queueA: PgQueue;
  let queueB: PgQueue;
  let failed = false;

  function openPool(): Knex {
    return knexFactory({ client: 'pg', connection: pgUrl, searchPath: [schema], pool: { min: 0, max: 4 } });
  }

  before(async function () {
    await admin.raw('CREATE SCHEMA ??', [schema]);
    poolA = openPool();
    poolB = openPool();
    await migrateToLatest(poolA);
    queueA = new PgQueue(poolA, clock);
    queueB = new PgQueue(poolB, clock);
  });

  beforeEach(async function () {
    // Row deletes (not TRUNCATE) so the depth triggers keep workflow_queue_depth in step.
    await poolA('event_queue').delete();
    await poolA('executions').delete();
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    await poolA?.destroy();
    await poolB?.destroy();
    if (failed) console.error(`pg-queue test: PostgreSQL schema kept as ${schema}`);
    else await admin.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
    await admin.destroy();
  });

  async function createWorkflow(): Promise<string> {
    const id = randomUUID();
    await poolA('workflows').insert({ id, name: `wf ${id}`, workflow_data: JSON.stringify({ nodes: [], connections: [] }), created_at: new Date(clock.now()).toISOString() });
    return id;
  }

  function request(workflowId: string, overrides: Partial<EnqueueRequest> = {}): EnqueueRequest {
    return { workflowId, eventType: 'manual', eventData: { n: 1 }, priority: 3, source: 'api', runAt: clock.now(), maxAttempts: 3, dedupKey: null, ...overrides };
  }

  async function enqueue(workflowId: string, overrides: Partial<EnqueueRequest> = {}, maxPending?: number) {
    const req = request(workflowId, overrides);
    return queueA.enqueue(req, claimSortKey(req.priority, req.runAt, agingMs), maxPending);
  }

  async function enqueueMany(workflowId: string, count: number): Promise<number[]> {
    const ids: number[] = [];
    for (let i = 0; i < count; i++) ids.push((await enqueue(workflowId, { runAt: clock.now() - count + i })).event.id);
    return ids;
  }

  const finish = runFinish;

  async function processingByWorkflow(): Promise<Map<string, number>> {
    const rows = (await poolA('event_queue').where({ status: 'processing' }).groupBy('workflow_id').select('workflow_id').count('* as n')) as Array<{
      workflow_id: string;
      n: string;
    }>;
    return new Map(rows.map((row) => [row.workflow_id, Number(row.n)]));
  }

  it('claims the most urgent due event first, FIFO within a priority, and leaves not-yet-due events', async function () {
    const wf = await createWorkflow();
    const first = await enqueue(wf, { priority: 3, runAt: clock.now() - 3 });
    const urgent = await enqueue(wf, { priority: 1, runAt: clock.now() - 2 });
    const second = await enqueue(wf, { priority: 3, runAt: clock.now() - 1 });
    const later = await enqueue(wf, { priority: 1, runAt: clock.now() + 60_000 });
    const claimed = await queueA.claim(10, 'daemon-a', leaseMs);
    expect(claimed.map((event) => event.id)).to.deep.equal([urgent.event.id, first.event.id, second.event.id]);
    expect(claimed.every((event) => !event.resumed && event.executionId.length > 0)).to.equal(true);
    expect(await queueA.nextDueAt()).to.equal(later.event.runAt);
    const depth = await queueA.queueDepth();
    expect(depth.byStatus.processing).to.equal(3);
    expect(depth.byStatus.pending).to.equal(1);
    expect(depth.duePending).to.equal(0);
    const execution = await poolA('executions').where({ id: claimed[0]!.executionId }).first();
    expect(execution.status).to.equal('running');
    expect(execution.trigger_data).to.deep.equal({ n: 1 });
  });

  it('returns the live event for a repeated dedup key, and takes the key again once it finished', async function () {
    const wf = await createWorkflow();
    const one = await enqueue(wf, { dedupKey: 'order-7' });
    const again = await enqueue(wf, { dedupKey: 'order-7' });
    expect(one.created).to.equal(true);
    expect(again.created).to.equal(false);
    expect(again.event.id).to.equal(one.event.id);
    const [claimed] = await queueA.claim(1, 'daemon-a', leaseMs);
    expect(await queueA.finishRun(finish(claimed!))).to.equal(true);
    const fresh = await enqueue(wf, { dedupKey: 'order-7' });
    expect(fresh.created).to.equal(true);
    expect(fresh.event.id).to.not.equal(one.event.id);
  });

  it('refuses a new event over the per-workflow depth limit with queue_full, but not a dedup hit', async function () {
    const wf = await createWorkflow();
    await enqueue(wf, { dedupKey: 'a' }, 2);
    await enqueue(wf, {}, 2);
    const refused = await enqueue(wf, {}, 2).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).to.be.instanceOf(AppError);
    expect((refused as AppError).code).to.equal('queue_full');
    expect((refused as AppError).status).to.equal(429);
    expect((await enqueue(wf, { dedupKey: 'a' }, 2)).created).to.equal(false);
    expect((await queueA.queueDepth()).byStatus.pending).to.equal(2);
  });

  it('holds the per-workflow limit across two queues claiming concurrently, never claiming an event twice', async function () {
    const workflows = [await createWorkflow(), await createWorkflow()];
    for (const wf of workflows) await enqueueMany(wf, 30);
    const seen = new Set<number>();
    const maxPerWorkflow = 3;
    const live: Array<{ id: number; leaseToken: string; executionId: string }> = [];
    for (let round = 0; round < 12; round++) {
      // Six claim transactions at once, three per pool, all racing for the same free slots.
      const batches = await Promise.all(
        [queueA, queueB, queueA, queueB, queueA, queueB].map((queue, i) => queue.claim(4, `daemon-${i}`, leaseMs, maxPerWorkflow)),
      );
      for (const event of batches.flat()) {
        expect(seen.has(event.id), `event ${event.id} claimed twice`).to.equal(false);
        seen.add(event.id);
        live.push(event);
      }
      for (const [, n] of await processingByWorkflow()) expect(n).to.be.at.most(maxPerWorkflow);
      // Finish one of each workflow per round, so the limit is tested again and again.
      for (const wf of workflows) {
        const index = live.findIndex((event) => batches.flat().some((b) => b.id === event.id && b.workflowId === wf));
        if (index >= 0) await queueA.finishRun(finish(live.splice(index, 1)[0]!));
      }
    }
    // With nobody else claiming, a claim fills each workflow exactly up to its limit.
    await queueB.claim(10, 'daemon-b', leaseMs, maxPerWorkflow);
    expect([...(await processingByWorkflow()).values()]).to.deep.equal([maxPerWorkflow, maxPerWorkflow]);
    expect(seen.size).to.be.greaterThan(maxPerWorkflow * workflows.length);
  });

  it('hands two parallel claimers disjoint sets of events (SKIP LOCKED)', async function () {
    const wf = await createWorkflow();
    const all = await enqueueMany(wf, 60);
    const taken: number[][] = [[], []];
    for (let round = 0; round < 10; round++) {
      const [a, b] = await Promise.all([queueA.claim(7, 'daemon-a', leaseMs), queueB.claim(7, 'daemon-b', leaseMs)]);
      taken[0]!.push(...a!.map((event) => event.id));
      taken[1]!.push(...b!.map((event) => event.id));
      if (taken[0]!.length + taken[1]!.length === all.length) break;
    }
    const union = [...taken[0]!, ...taken[1]!];
    expect(new Set(union).size).to.equal(union.length);
    expect(union.sort((x, y) => x - y)).to.deep.equal(all);
  });

  it('gives an expired lease to another daemon and fences the late writer', async function () {
    const wf = await createWorkflow();
    const { event } = await enqueue(wf);
    const [old] = await queueA.claim(1, 'daemon-a', leaseMs);
    expect(await queueB.reclaimExpired()).to.deep.equal({ requeued: 0, failed: 0 });
    clock.at += leaseMs + 1;
    expect(await queueB.reclaimExpired()).to.deep.equal({ requeued: 1, failed: 0 });
    const [taken] = await queueB.claim(1, 'daemon-b', leaseMs);
    expect(taken!.id).to.equal(event.id);
    expect(taken!.resumed).to.equal(true);
    expect(taken!.executionId).to.equal(old!.executionId);
    expect(taken!.leaseToken).to.not.equal(old!.leaseToken);
    expect(taken!.attempts).to.equal(1);

    const late = await queueA.finishRun(finish(old!, { executionStatus: 'failed', errorMessage: 'late', event: { kind: 'failed', error: 'late' } }));
    expect(late).to.equal(false);
    const row = await queueA.getEvent(event.id);
    expect(row!.status).to.equal('processing');
    expect(row!.leaseToken).to.equal(taken!.leaseToken);
    const execution = await poolA('executions').where({ id: old!.executionId }).first();
    expect(execution.status).to.equal('running');
    expect(execution.error_message).to.equal(null);

    expect(await queueB.finishRun(finish(taken!))).to.equal(true);
    expect((await queueA.getEvent(event.id))!.status).to.equal('completed');
  });

  it('keeps a renewed lease from being reclaimed until the renewal runs out', async function () {
    const wf = await createWorkflow();
    await enqueue(wf);
    await queueA.claim(1, 'daemon-a', leaseMs);
    clock.at += leaseMs - 1_000;
    expect(await queueA.renewLeases('daemon-a', leaseMs)).to.equal(1);
    expect(await queueB.renewLeases('daemon-b', leaseMs)).to.equal(0);
    clock.at += 2_000;
    expect(await queueB.reclaimExpired()).to.deep.equal({ requeued: 0, failed: 0 });
    clock.at += leaseMs;
    expect(await queueB.reclaimExpired()).to.deep.equal({ requeued: 1, failed: 0 });
  });

  it('puts a retried event back with its backoff, and cancels a pending one', async function () {
    const wf = await createWorkflow();
    const { event } = await enqueue(wf);
    const [claimed] = await queueA.claim(1, 'daemon-a', leaseMs);
    const runAt = clock.now() + 5_000;
    expect(await queueA.finishRun(finish(claimed!, { executionStatus: 'pending', event: { kind: 'retry', runAt, error: 'boom' } }))).to.equal(true);
    const retried = await queueA.getEvent(event.id);
    expect(retried).to.include({ status: 'pending', runAt, errorMessage: 'boom', attempts: 1 });
    expect(await queueA.nextDueAt()).to.equal(runAt);
    const cancelled = await queueA.cancelPendingEvent(event.id);
    expect(cancelled!.cancelled).to.equal(true);
    expect(cancelled!.event.status).to.equal('cancelled');
    expect(await queueA.cancelPendingEvent(999_999)).to.equal(null);
    const depthRow = await poolA('workflow_queue_depth').where({ workflow_id: wf }).first();
    expect(Number(depthRow.pending)).to.equal(0);
  });
});
