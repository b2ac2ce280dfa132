// The retention timer and settings, with fakes and no database: when it runs, that it follows
// settings changes, that runs never overlap, and that stop waits for a run in progress.
import { expect } from 'chai';
import { createLogger } from '../../src/log.js';
import type { RetentionReport } from '../../src/maintenance/retention.js';
import { RetentionScheduler } from '../../src/maintenance/retention-scheduler.js';
import { retentionSettingsFrom } from '../../src/maintenance/retention-settings.js';
import { waitFor } from '../helpers/daemon.js';

const log = createLogger('error', { silent: true });
const clock = { now: () => Date.now() };

/** A run that records itself and finishes when `release` is called (or at once when `hold` is false). */
function fakeRuns(hold = false) {
  const runs: Array<{ dryRun: boolean; signal: AbortSignal }> = [];
  let active = 0;
  let maxActive = 0;
  const releases: Array<() => void> = [];
  const run = async (options: { dryRun: boolean; signal: AbortSignal }) => {
    runs.push(options);
    active += 1;
    maxActive = Math.max(maxActive, active);
    if (hold) await new Promise<void>((resolve) => releases.push(resolve));
    active -= 1;
    return { dry_run: options.dryRun } as RetentionReport;
  };
  return { runs, run, releases, maxActive: () => maxActive };
}

describe('retention scheduler', function () {
  it('runs shortly after start, then again once the interval has passed', async function () {
    const fake = fakeRuns();
    let schedule = { autoCleanup: true, cleanupIntervalMs: 3_600_000 };
    const scheduler = new RetentionScheduler({ run: fake.run, schedule: () => schedule, clock, log, firstRunDelayMs: 0, checkEveryMs: 5 });
    scheduler.start();
    await waitFor(() => fake.runs.length === 1, 'the first run');
    // A shorter interval set at run time is obeyed without a restart.
    schedule = { autoCleanup: true, cleanupIntervalMs: 1 };
    await waitFor(() => fake.runs.length >= 3, 'runs on the shorter interval');
    await scheduler.stop();
    expect(fake.runs.every((run) => run.dryRun === false)).to.equal(true);
  });

  it('does not run on the timer while auto_cleanup is off, but runs when asked', async function () {
    const fake = fakeRuns();
    let checks = 0;
    const scheduler = new RetentionScheduler({
      run: fake.run,
      schedule: () => {
        checks += 1;
        return { autoCleanup: false, cleanupIntervalMs: 1 };
      },
      clock,
      log,
      firstRunDelayMs: 0,
      checkEveryMs: 5,
    });
    scheduler.start();
    await waitFor(() => checks >= 3, 'several looks at the settings');
    expect(fake.runs).to.have.length(0);
    expect((await scheduler.runNow(true)).dry_run).to.equal(true);
    await scheduler.stop();
  });

  it('never overlaps runs, and stop signals and waits for the run in progress', async function () {
    const fake = fakeRuns(true);
    const scheduler = new RetentionScheduler({ run: fake.run, schedule: () => ({ autoCleanup: false, cleanupIntervalMs: 60_000 }), clock, log });
    const first = scheduler.runNow(false);
    const second = scheduler.runNow(true);
    await waitFor(() => fake.runs.length === 1, 'the first run to start');
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    expect(fake.runs[0]!.signal.aborted).to.equal(true);
    fake.releases.shift()!();
    await first;
    await waitFor(() => fake.runs.length === 2, 'the queued run to start');
    expect(stopped).to.equal(false);
    fake.releases.shift()!();
    await second;
    await stopping;
    expect(fake.maxActive()).to.equal(1);
  });
});

describe('retention settings', function () {
  it('keeps the stricter of the two max_execution_history keys and falls back to defaults for unusable values', function () {
    const settings = retentionSettingsFrom({ execution: { max_execution_history: 10 }, storage: { result_storage_days: 0, cleanup_interval_minutes: 2, auto_cleanup: 'yes' } });
    expect(settings.maxExecutionHistory).to.equal(10);
    expect(settings.resultStorageMs).to.equal(30 * 86_400_000);
    expect(settings.cleanupIntervalMs).to.equal(120_000);
    expect(settings.autoCleanup).to.equal(true);
    expect(settings.eventRetentionMs).to.equal(7 * 86_400_000);
    expect(settings.auditRetentionMs).to.equal(90 * 86_400_000);
    expect(retentionSettingsFrom({ storage: { max_execution_history: 50 } }).maxExecutionHistory).to.equal(50);
  });
});
