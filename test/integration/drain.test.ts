// SIGTERM drains: the daemon stops claiming, lets running executions finish within the grace period,
// hands back what does not finish (without spending an attempt) and exits 0.
import fs from 'node:fs';
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, readDatabase, removeIfPassed, waitForStatus } from '../helpers/queue-runs.js';
import { slowNode } from '../helpers/workflows.js';

interface EventRow {
  id: number;
  status: string;
  attempts: number;
  execution_id: string | null;
  processed_at: string | null;
}

describe('drain on SIGTERM', function () {
  this.timeout(40_000);
  const daemons: TestDaemon[] = [];

  afterEach(async function () {
    for (const d of daemons) await d.stop('SIGKILL');
    removeIfPassed(this.currentTest, daemons[0]?.dataDir);
    daemons.length = 0;
  });

  function eventRows(d: TestDaemon): Map<number, EventRow> {
    const rows = readDatabase(d.dbPath, (db) => db.prepare(`SELECT id, status, attempts, execution_id, processed_at FROM event_queue`).all()) as EventRow[];
    return new Map(rows.map((row) => [row.id, row]));
  }

  function executionStatus(d: TestDaemon, executionId: string): string {
    return (readDatabase(d.dbPath, (db) => db.prepare(`SELECT status FROM executions WHERE id = ?`).get(executionId)) as { status: string }).status;
  }

  it('lets in-flight executions finish, leaves pending events pending and exits 0', async function () {
    const d = await startDaemon({ settings: { execution: { max_concurrent_runs_global: 2 } }, env: { TAV_SHUTDOWN_GRACE_MS: '10000' } });
    daemons.push(d);
    const slow = await createWorkflow(d, slowNode(1_500));
    const running = [await enqueue(d, slow), await enqueue(d, slow)];
    for (const event of running) await waitForStatus(d, event.id, 'processing');
    // Due but waiting for a free slot, and delayed: neither may start once the drain has begun.
    const waiting = [await enqueue(d, slow), await enqueue(d, slow)];
    const delayed = await enqueue(d, slow, { delay_ms: 60_000 });

    const sentAt = Date.now();
    expect(await d.stop('SIGTERM')).to.equal(0);
    // It waited for the runs rather than cutting them off.
    expect(Date.now() - sentAt).to.be.below(10_000);

    const rows = eventRows(d);
    for (const event of running) {
      const row = rows.get(event.id)!;
      expect(row, `running event ${event.id}`).to.include({ status: 'completed', attempts: 1 });
      expect(executionStatus(d, row.execution_id!)).to.equal('completed');
    }
    for (const event of [...waiting, delayed]) {
      expect(rows.get(event.id), `waiting event ${event.id}`).to.include({ status: 'pending', attempts: 0, execution_id: null, processed_at: null });
    }
    const output = d.output();
    expect(output).to.include('"message":"draining"');
    expect(output).to.include('"message":"stopped"');
    expect(output).to.not.include('handing unfinished runs back to the queue');
    // A clean stop releases the lock.
    expect(fs.existsSync(`${d.dbPath}.lock`)).to.equal(false);
  });

  it('hands back a run that outlasts the grace period without spending its attempt, and a restart completes it', async function () {
    const first = await startDaemon({ env: { TAV_SHUTDOWN_GRACE_MS: '200' } });
    daemons.push(first);
    const slow = await createWorkflow(first, slowNode(5_000));
    const event = await enqueue(first, slow);
    await waitForStatus(first, event.id, 'processing');

    const sentAt = Date.now();
    expect(await first.stop('SIGTERM')).to.equal(0);
    expect(Date.now() - sentAt, 'stopped after the grace period, not after the run').to.be.below(4_000);
    expect(first.output()).to.include('handing unfinished runs back to the queue');

    const handedBack = eventRows(first).get(event.id)!;
    expect(handedBack).to.include({ status: 'pending', attempts: 0 });
    expect(handedBack.execution_id).to.be.a('string');
    expect(executionStatus(first, handedBack.execution_id!)).to.equal('pending');

    const second = await startDaemon({ dataDir: first.dataDir });
    daemons.push(second);
    const done = await waitForStatus(second, event.id, 'completed', 15_000);
    expect(done.attempts).to.equal(1);
    // The same execution is resumed, not a second one started.
    expect(done.execution_id).to.equal(handedBack.execution_id);
    expect(executionStatus(second, done.execution_id!)).to.equal('completed');
    const executions = readDatabase(second.dbPath, (db) => db.prepare(`SELECT COUNT(*) AS n FROM executions`).get()) as { n: number };
    expect(executions.n).to.equal(1);
  });

  it('keeps a handed-back event at its place in the queue, ahead of events enqueued after it', async function () {
    const first = await startDaemon({ settings: { execution: { max_concurrent_runs_global: 1 } }, env: { TAV_SHUTDOWN_GRACE_MS: '100' } });
    daemons.push(first);
    const slow = await createWorkflow(first, slowNode(600));
    const earlier = await enqueue(first, slow);
    await waitForStatus(first, earlier.id, 'processing');
    const later = await enqueue(first, slow);
    expect(await first.stop('SIGTERM')).to.equal(0);
    expect(eventRows(first).get(earlier.id)).to.include({ status: 'pending', attempts: 0 });

    const second = await startDaemon({ dataDir: first.dataDir });
    daemons.push(second);
    const [a, b] = [await waitForStatus(second, earlier.id, 'completed'), await waitForStatus(second, later.id, 'completed')];
    // One slot: the event that was first in line before the stop is first again after it.
    expect(Date.parse(a.processed_at!), 'the handed-back event ran first').to.be.below(Date.parse(b.processed_at!));
  });

  it('hands running work back at once on a second signal, without waiting out the grace period', async function () {
    const d = await startDaemon({ env: { TAV_SHUTDOWN_GRACE_MS: '20000' } });
    daemons.push(d);
    const slow = await createWorkflow(d, slowNode(10_000));
    const event = await enqueue(d, slow);
    await waitForStatus(d, event.id, 'processing');

    const sentAt = Date.now();
    d.process.kill('SIGTERM');
    await waitFor(() => d.output().includes('"message":"draining"'), 'the drain to begin', 5_000, 10);
    d.process.kill('SIGTERM');
    expect(await d.exited).to.equal(0);
    expect(Date.now() - sentAt, 'forced, not after the 10 s run or the 20 s grace').to.be.below(5_000);
    expect(eventRows(d).get(event.id)).to.include({ status: 'pending', attempts: 0 });
  });
});
