// The systemd notify protocol against a datagram socket the test binds (NOTIFY_SOCKET), with the real
// daemon: READY=1 once ready, STATUS= with queue depth and runs in flight, WATCHDOG=1 at half of
// WATCHDOG_USEC only while the daemon makes progress, STOPPING=1 when the drain begins.
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { startNotifyReceiver, type NotifyReceiver } from '../helpers/notify-receiver.js';
import { createWorkflow, enqueue, removeIfPassed, waitForStatus } from '../helpers/queue-runs.js';
import { slowNode } from '../helpers/workflows.js';

const watchdogUsec = 400_000;

describe('systemd notify protocol', function () {
  this.timeout(40_000);
  const daemons: TestDaemon[] = [];
  const receivers: NotifyReceiver[] = [];

  afterEach(async function () {
    for (const d of daemons) await d.stop('SIGKILL');
    for (const r of receivers) await r.close();
    removeIfPassed(this.currentTest, daemons[0]?.dataDir);
    daemons.length = 0;
    receivers.length = 0;
  });

  async function start(options: { abstract?: boolean; env?: Record<string, string>; settings?: Record<string, Record<string, unknown>> } = {}) {
    const receiver = await startNotifyReceiver({ abstract: options.abstract });
    receivers.push(receiver);
    const d = await startDaemon({ settings: options.settings, env: { NOTIFY_SOCKET: receiver.socket, ...options.env } });
    daemons.push(d);
    return { d, receiver };
  }

  const lastPingAt = (receiver: NotifyReceiver) => receiver.withField('WATCHDOG').at(-1)?.receivedAt ?? 0;

  /** Waits until no ping has arrived for `quietMs`: the daemon withholds them. */
  async function waitForPingsToStop(receiver: NotifyReceiver, quietMs: number, what: string): Promise<void> {
    await waitFor(() => receiver.withField('WATCHDOG').length > 0 && Date.now() - lastPingAt(receiver) > quietMs, what, 15_000, 20);
  }

  it('sends READY=1 from the main process once /health/ready answers, over an abstract socket', async function () {
    const { d, receiver } = await start({ abstract: true });
    const ready = await waitFor(() => receiver.withField('READY')[0], 'READY=1');
    // READY is only sent once the readiness checks pass: the endpoint agrees at that moment.
    const health = await d.request('GET', '/health/ready');
    expect(health.status).to.equal(200);
    expect(ready.fields.READY).to.equal('1');
    expect(ready.pid, 'sent by the main pid, as NotifyAccess=main requires').to.equal(d.process.pid);
    expect(ready.fields.STATUS).to.equal('ready: queue depth 0, in flight 0/8');
    expect(receiver.withField('READY')).to.have.length(1);
    // No WATCHDOG_USEC: no pings.
    expect(receiver.withField('WATCHDOG')).to.have.length(0);
  });

  it('pings WATCHDOG=1 at about half of WATCHDOG_USEC while idle and while at full capacity', async function () {
    const { d, receiver } = await start({ env: { WATCHDOG_USEC: String(watchdogUsec) }, settings: { execution: { max_concurrent_runs_global: 1 } } });
    await waitFor(() => receiver.withField('WATCHDOG').length >= 8, 'eight watchdog pings');
    const pings = receiver.withField('WATCHDOG');
    expect(pings.every((ping) => ping.pid === d.process.pid)).to.equal(true);
    const ready = receiver.withField('READY')[0]!;
    expect(pings[0]!.at, 'the watchdog starts with READY').to.be.at.least(ready.at);
    const gaps = pings.slice(1).map((ping, i) => ping.at - pings[i]!.at).sort((a, b) => a - b);
    const median = gaps[Math.floor(gaps.length / 2)]!;
    // Every USEC/2 = 200 ms; systemd needs one per USEC. Loose bounds: a loaded machine delays timers.
    expect(median).to.be.within(100, watchdogUsec / 1_000);

    // Busy is not wedged: with the one slot taken by a long run, the loop still passes and pings go on.
    const slow = await createWorkflow(d, slowNode(20_000));
    const event = await enqueue(d, slow);
    await waitForStatus(d, event.id, 'processing');
    const before = receiver.withField('WATCHDOG').length;
    await waitFor(() => receiver.withField('WATCHDOG').length >= before + 10, 'pings while at full capacity');
  });

  it('reports queue depth and runs in flight in STATUS lines', async function () {
    const { d, receiver } = await start({ settings: { execution: { max_concurrent_runs_global: 1 } } });
    const slow = await createWorkflow(d, slowNode(20_000));
    const first = await enqueue(d, slow);
    await waitForStatus(d, first.id, 'processing');
    await enqueue(d, slow);
    await enqueue(d, slow);
    await waitFor(() => receiver.withField('STATUS').some((m) => m.fields.STATUS === 'ready: queue depth 2, in flight 1/1'), 'a STATUS line with the depth', 15_000);
  });

  it('withholds pings while the dispatcher is wedged though the process still answers HTTP, and resumes after', async function () {
    const { d, receiver } = await start({ env: { WATCHDOG_USEC: String(watchdogUsec) } });
    await waitFor(() => receiver.withField('WATCHDOG').length >= 3, 'the first pings');
    // Test-only wedge (TAV_ENABLE_TEST_NODES): the dispatcher's claims stop returning.
    d.process.kill('SIGUSR2');
    await waitFor(() => /"message":"watchdog pings withheld: no progress"[^\n]*dispatcher_stalled/.test(d.output()), 'the progress check to fail');
    await waitForPingsToStop(receiver, 1_500, 'pings to stop while the dispatcher is wedged');
    // The event loop is alive: a blocked loop is not what stopped the pings, the progress check is.
    expect((await d.request('GET', '/health')).status).to.equal(200);

    const stalledAt = Date.now();
    d.process.kill('SIGUSR2');
    await waitFor(() => lastPingAt(receiver) > stalledAt, 'pings to resume once the dispatcher moves again');
    expect(d.output()).to.include('"message":"watchdog pings resumed"');
  });

  it('withholds pings while another process holds the database write lock, and resumes after', async function () {
    const { d, receiver } = await start({ env: { WATCHDOG_USEC: String(watchdogUsec) } });
    await waitFor(() => receiver.withField('WATCHDOG').length >= 3, 'the first pings');
    const workflowId = await createWorkflow(d, slowNode(10));
    // A real wedge: with the lock held elsewhere, the writer's next commit (this enqueue) waits on
    // SQLite's lock. An idle daemon with nothing to write would rightly stay healthy.
    const blocker = new Database(d.dbPath);
    try {
      blocker.exec('BEGIN IMMEDIATE');
      const blockedWrite = d.request('POST', '/api/v1/events', { workflow_id: workflowId });
      await waitForPingsToStop(receiver, 1_200, 'pings to stop while the write lock is held');
      void blockedWrite.catch(() => undefined);
    } finally {
      if (blocker.inTransaction) blocker.exec('ROLLBACK');
      blocker.close();
    }
    const releasedAt = Date.now();
    await waitFor(() => lastPingAt(receiver) > releasedAt, 'pings to resume once the lock is released');
    expect((await d.request('GET', '/health/ready')).status).to.equal(200);
  });

  it('sends STOPPING=1 when the drain begins, then exits 0', async function () {
    const { d, receiver } = await start({ env: { WATCHDOG_USEC: String(watchdogUsec) } });
    await waitFor(() => receiver.withField('READY').length > 0, 'READY=1');
    expect(await d.stop('SIGTERM')).to.equal(0);
    const stopping = await waitFor(() => receiver.withField('STOPPING')[0], 'STOPPING=1', 5_000);
    expect(stopping.pid).to.equal(d.process.pid);
    expect(stopping.fields.STATUS).to.match(/^draining: queue depth 0, in flight 0\/\d+$/);
    expect(stopping.at).to.be.above(receiver.withField('READY')[0]!.at);
  });
});
