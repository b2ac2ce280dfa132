// Which event runs next and how many run at once, observed on a real daemon: claim order by priority
// then FIFO, delayed events, dedup, aging, and the global and per-execution concurrency limits.
import { expect } from 'chai';
import { startDaemon, waitFor, type StartOptions, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, getEvent, maxOverlap, readDatabase, removeIfPassed, waitForStatus, type EventBody } from '../helpers/queue-runs.js';
import { link, node, oneNode, slowNode, workflowBody } from '../helpers/workflows.js';

describe('event queue order and limits', function () {
  let daemon: TestDaemon | undefined;

  async function start(options: StartOptions): Promise<TestDaemon> {
    daemon = await startDaemon(options);
    return daemon;
  }

  afterEach(async function () {
    if (!daemon) return;
    await daemon.stop('SIGKILL');
    removeIfPassed(this.currentTest, daemon.dataDir);
    daemon = undefined;
  });

  /** Event ids in the order their executions started running nodes (log ids follow commit order). */
  function runOrder(d: TestDaemon, eventIds: number[]): number[] {
    const rows = readDatabase(d.dbPath, (db) =>
      db
        .prepare(
          `SELECT q.id AS event_id, MIN(l.id) AS first_log FROM event_queue q
             JOIN execution_logs l ON l.execution_id = q.execution_id AND l.event = 'node_started'
            GROUP BY q.id ORDER BY first_log`,
        )
        .all(),
    ) as Array<{ event_id: number }>;
    return rows.map((row) => row.event_id).filter((id) => eventIds.includes(id));
  }

  /** Occupies the single run slot with a slow event and resolves once it is running. */
  async function occupySlot(d: TestDaemon, ms: number): Promise<EventBody> {
    const blocker = await enqueue(d, await createWorkflow(d, slowNode(ms)), { priority: 1 });
    await waitForStatus(d, blocker.id, 'processing');
    return blocker;
  }

  it('claims the most urgent due event first and keeps FIFO within a priority', async function () {
    const d = await start({ settings: { execution: { max_concurrent_runs_global: 1 } } });
    const quick = await createWorkflow(d, oneNode());
    const blocker = await occupySlot(d, 1_500);

    const labelled: Record<number, string> = {};
    for (const [label, priority] of [['a', 3], ['b', 1], ['c', 5], ['d', 1], ['e', 3], ['f', 2], ['g', 5], ['h', 2]] as const) {
      labelled[(await enqueue(d, quick, { priority })).id] = label;
    }
    expect((await getEvent(d, blocker.id)).status, 'the blocker must still hold the slot while the others are enqueued').to.equal('processing');

    const ids = Object.keys(labelled).map(Number);
    for (const id of ids) await waitForStatus(d, id, 'completed');
    expect(runOrder(d, ids).map((id) => labelled[id])).to.deep.equal(['b', 'd', 'f', 'h', 'a', 'e', 'c', 'g']);
  });

  it('leaves a delayed event pending until it is due while due events run', async function () {
    const d = await start({});
    const quick = await createWorkflow(d, oneNode());
    const delayed = await enqueue(d, quick, { priority: 1, delay_ms: 800 });
    const scheduled = await enqueue(d, quick, { priority: 1, run_at: new Date(Date.now() + 600).toISOString() });
    const due = await enqueue(d, quick, { priority: 5 });

    await waitForStatus(d, due.id, 'completed');
    for (const id of [delayed.id, scheduled.id]) {
      const waiting = await getEvent(d, id);
      expect(waiting.status, `event ${id} ran before it was due`).to.equal('pending');
      expect(waiting.processed_at).to.equal(null);
    }

    for (const event of [delayed, scheduled]) {
      const done = await waitForStatus(d, event.id, 'completed', 5_000);
      const lateMs = Date.parse(done.processed_at!) - Date.parse(done.run_at);
      expect(lateMs, 'claimed before its run_at').to.be.at.least(0);
      // Woken by its due time, not left for a later poll.
      expect(lateMs, 'claimed long after it was due').to.be.below(1_000);
    }
  });

  it('answers a repeated dedup key with the active event and accepts it again once that event is done', async function () {
    const d = await start({});
    const quick = await createWorkflow(d, oneNode());
    const other = await createWorkflow(d, oneNode());
    const slow = await createWorkflow(d, slowNode(600));

    // Pending: the same key returns the first event, unchanged.
    const first = await enqueue(d, quick, { dedup_key: 'order-42', delay_ms: 60_000, event_data: { n: 1 } });
    const repeat = await d.request('POST', '/api/v1/events', { workflow_id: quick, dedup_key: 'order-42', event_data: { n: 2 } });
    expect(repeat.status).to.equal(200);
    expect(repeat.body).to.include({ id: first.id, deduplicated: true });
    expect(repeat.body.event_data).to.deep.equal({ n: 1 });
    // Another key, or the same key on another workflow, is a new event.
    expect((await enqueue(d, quick, { dedup_key: 'order-43', delay_ms: 60_000 })).id).to.not.equal(first.id);
    expect((await enqueue(d, other, { dedup_key: 'order-42', delay_ms: 60_000 })).id).to.not.equal(first.id);

    // Processing: still the same event.
    const running = await enqueue(d, slow, { dedup_key: 'nightly' });
    await waitForStatus(d, running.id, 'processing');
    const whileRunning = await d.request('POST', '/api/v1/events', { workflow_id: slow, dedup_key: 'nightly' });
    expect(whileRunning.status).to.equal(200);
    expect(whileRunning.body).to.include({ id: running.id, deduplicated: true });

    // Finished (completed or cancelled): the key is free again.
    await waitForStatus(d, running.id, 'completed');
    const again = await enqueue(d, slow, { dedup_key: 'nightly' });
    expect(again.id).to.not.equal(running.id);
    expect((await d.request('POST', `/api/v1/events/${first.id}/cancel`)).status).to.equal(200);
    expect((await enqueue(d, quick, { dedup_key: 'order-42', delay_ms: 60_000 })).id).to.not.equal(first.id);

    const counted = readDatabase(d.dbPath, (db) => db.prepare(`SELECT COUNT(*) AS n FROM event_queue WHERE dedup_key = 'order-42'`).get()) as { n: number };
    expect(counted.n).to.equal(3);
  });

  it('ages a waiting priority-5 event ahead of a newer priority-1 event', async function () {
    this.timeout(30_000);
    // One aging period per second: after four seconds of waiting, priority 5 ranks as priority 1.
    const d = await start({ settings: { execution: { max_concurrent_runs_global: 1, priority_aging_seconds: 1 } } });
    const quick = await createWorkflow(d, oneNode());
    const blocker = await occupySlot(d, 6_000);

    const oldLow = await enqueue(d, quick, { priority: 5 });
    // Urgent and enqueued at once: it has not been overtaken by aging.
    const earlyUrgent = await enqueue(d, quick, { priority: 1 });
    // The oldest pending event is oldLow; let it wait four aging periods and a margin.
    await waitFor(async () => ((await d.request('GET', '/api/v1/queue')).body.oldest_pending_age_ms as number) >= 4_600, 'the priority-5 event to wait 4.6 s', 10_000);
    const lateUrgent = await enqueue(d, quick, { priority: 1 });
    expect((await getEvent(d, blocker.id)).status, 'the blocker must outlast the wait').to.equal('processing');

    for (const event of [oldLow, earlyUrgent, lateUrgent]) await waitForStatus(d, event.id, 'completed', 10_000);
    expect(runOrder(d, [oldLow.id, earlyUrgent.id, lateUrgent.id])).to.deep.equal([earlyUrgent.id, oldLow.id, lateUrgent.id]);
  });

  it('never runs more executions at once than max_concurrent_runs_global, and does reach it', async function () {
    const d = await start({ settings: { execution: { max_concurrent_runs_global: 3 } } });
    const slow = await createWorkflow(d, slowNode(150));
    const events = await Promise.all(Array.from({ length: 20 }, () => enqueue(d, slow)));

    // While they run, the daemon's own count never passes the limit either.
    const inFlightSeen: number[] = [];
    await waitFor(async () => {
      const queue = (await d.request('GET', '/api/v1/queue')).body;
      inFlightSeen.push(queue.in_flight);
      return queue.depth.completed === 20;
    }, 'all 20 events to complete', 30_000, 20);
    expect(Math.max(...inFlightSeen)).to.be.at.most(3);

    const intervals = readDatabase(d.dbPath, (db) =>
      db.prepare(`SELECT started_at, completed_at, status FROM executions`).all(),
    ) as Array<{ started_at: string; completed_at: string; status: string }>;
    expect(intervals).to.have.length(20);
    expect(intervals.every((row) => row.status === 'completed')).to.equal(true);
    const overlap = maxOverlap(intervals.map((row) => ({ start: Date.parse(row.started_at), end: Date.parse(row.completed_at) })));
    expect(overlap, 'executions running at once').to.equal(3);
    expect(events.map((event) => event.id)).to.have.length(20);
  });

  it('runs at most max_concurrent_nodes nodes of one execution at once', async function () {
    // Six threads, so the pool is not what limits the fan-out; the per-execution limit is.
    const d = await start({ settings: { execution: { max_concurrent_nodes: 2 } }, env: { TAV_WORKERS: '6' } });
    const branches = ['s1', 's2', 's3', 's4', 's5', 's6'];
    const fanOut = await createWorkflow(
      d,
      workflowBody(
        'fan out six slow nodes',
        [node('src', 'text_input', { text: 'go' }), ...branches.map((id) => node(id, 'test_slow', { ms: 200 }))],
        branches.map((id) => link('src', 'text', id, 'input')),
      ),
    );
    const event = await enqueue(d, fanOut);
    const done = await waitForStatus(d, event.id, 'completed');

    const execution = (await d.request('GET', `/api/v1/executions/${done.execution_id}`)).body;
    const spans = branches.map((id) => {
      const record = execution.node_results[id];
      expect(record.status, `node ${id}`).to.equal('completed');
      return { start: Date.parse(record.started_at), end: Date.parse(record.completed_at) };
    });
    expect(maxOverlap(spans), 'slow nodes running at once').to.equal(2);
    // Six 200 ms nodes two at a time take at least three rounds.
    expect(Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start))).to.be.at.least(590);
  });
});
