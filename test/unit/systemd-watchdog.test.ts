// What counts as progress for the watchdog (a fake clock, a real Writer on an in-memory database),
// when the watchdog applies to this process, and how the notify queue keeps order without growing.
import Database from 'better-sqlite3';
import { expect } from 'chai';
import type { Clock } from '../../src/domain/clock.js';
import { createLogger } from '../../src/log.js';
import { ProgressMonitor, stallAfterMsFor, type ProgressSources } from '../../src/service/progress-monitor.js';
import { NotifyQueue } from '../../src/service/systemd-notify.js';
import { watchdogIntervalMs } from '../../src/service/systemd-service.js';
import { Writer } from '../../src/store/sqlite/writer.js';

const log = createLogger('error', { silent: true });

class FakeClock implements Clock {
  constructor(public ms = 1_000_000) {}
  now(): number {
    return this.ms;
  }
}

describe('watchdog progress', function () {
  const stallAfterMs = 2_000;
  let clock: FakeClock;
  let dispatcher: { isClaiming: boolean; lastTickAt: number };
  let writer: { commits: number; pending: number };
  let draining: boolean;
  let monitor: ProgressMonitor;

  beforeEach(function () {
    clock = new FakeClock();
    dispatcher = { isClaiming: true, lastTickAt: clock.ms };
    writer = { commits: 0, pending: 0 };
    draining = false;
    const sources: ProgressSources = { dispatcher, writerStats: () => ({ ...writer }), isDraining: () => draining };
    monitor = new ProgressMonitor(sources, clock, stallAfterMs);
  });

  it('counts an idle daemon whose loop passes on its poll timer as healthy', function () {
    for (let i = 0; i < 10; i++) {
      clock.ms += 1_000;
      dispatcher.lastTickAt = clock.ms - 500;
      expect(monitor.check()).to.deep.equal({ healthy: true, reasons: [] });
    }
  });

  it('reports a dispatcher whose loop has not passed for longer than the stall time', function () {
    clock.ms += stallAfterMs;
    expect(monitor.check().healthy).to.equal(true);
    clock.ms += 1;
    expect(monitor.check()).to.deep.equal({ healthy: false, reasons: ['dispatcher_stalled'] });
  });

  it('ignores the stopped dispatcher while draining, but not a stuck writer', function () {
    dispatcher.isClaiming = false;
    expect(monitor.check().reasons).to.deep.equal(['dispatcher_stalled']);
    draining = true;
    expect(monitor.check().healthy).to.equal(true);
    writer.pending = 3;
    monitor.check();
    clock.ms += stallAfterMs + 1;
    expect(monitor.check()).to.deep.equal({ healthy: false, reasons: ['writer_stalled'] });
  });

  it('reports writes that stay queued with no commit, and recovers once a commit lands', function () {
    dispatcher.lastTickAt = Number.MAX_SAFE_INTEGER;
    writer.pending = 5;
    expect(monitor.check().healthy).to.equal(true);
    clock.ms += stallAfterMs + 1;
    expect(monitor.check().reasons).to.deep.equal(['writer_stalled']);
    writer.commits += 1;
    expect(monitor.check().healthy, 'a commit since the last look is progress').to.equal(true);
  });

  it('counts a busy writer that keeps committing as healthy even if writes are always pending', function () {
    dispatcher.lastTickAt = Number.MAX_SAFE_INTEGER;
    writer.pending = 100;
    for (let i = 0; i < 10; i++) {
      clock.ms += stallAfterMs;
      writer.commits += 1;
      expect(monitor.check().healthy).to.equal(true);
    }
  });

  it('reads pending writes from the real writer until it commits them', async function () {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE t (v INTEGER)');
    const real = new Writer(db, { maxBatch: 100, maxDelayMs: 0, log });
    const written = real.write((conn) => conn.prepare('INSERT INTO t VALUES (1)').run());
    expect(real.stats.pending).to.equal(1);
    await written;
    expect(real.stats).to.include({ pending: 0, commits: 1 });
    db.close();
  });

  it('allows three poll intervals and at least two seconds plus the batching delay', function () {
    expect(stallAfterMsFor(200, 0)).to.equal(2_000);
    expect(stallAfterMsFor(1_000, 500)).to.equal(3_000);
    expect(stallAfterMsFor(200, 1_000)).to.equal(3_000);
  });
});

describe('watchdog interval', function () {
  const env = { notifySocket: '/run/systemd/notify', watchdogUsec: 30_000_000, watchdogPid: null };

  it('pings at half of WATCHDOG_USEC', function () {
    expect(watchdogIntervalMs(env, 42)).to.equal(15_000);
  });

  it('is off without WATCHDOG_USEC or when WATCHDOG_PID names another process', function () {
    expect(watchdogIntervalMs({ ...env, watchdogUsec: null }, 42)).to.equal(null);
    expect(watchdogIntervalMs({ ...env, watchdogPid: 7 }, 42)).to.equal(null);
    expect(watchdogIntervalMs({ ...env, watchdogPid: 42 }, 42)).to.equal(15_000);
  });
});

describe('notify queue', function () {
  it('sends in order, one at a time, keeping only the newest waiting ping and status line', async function () {
    const sent: string[] = [];
    const gate: { release?: () => void } = {};
    const queue = new NotifyQueue(async (state) => {
      sent.push(state);
      // The first send blocks (a slow manager) until the test lets it go.
      if (sent.length === 1) await new Promise<void>((resolve) => (gate.release = resolve));
      return 1;
    }, log);
    queue.send('READY=1');
    for (let i = 0; i < 5; i++) queue.send('WATCHDOG=1');
    queue.send('STATUS=a');
    queue.send('STATUS=b');
    queue.send('STOPPING=1');
    gate.release!();
    await queue.flush();
    expect(sent).to.deep.equal(['READY=1', 'WATCHDOG=1', 'STATUS=b', 'STOPPING=1']);
  });
});
