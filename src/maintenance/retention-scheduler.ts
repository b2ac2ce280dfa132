// Runs retention on a timer: shortly after start, then every `storage.cleanup_interval_minutes` while
// `storage.auto_cleanup` is on. Both are read again at every check (at least once a minute), so a
// settings change applies without a restart. Runs never overlap: a manual run waits for the timer's.
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import type { RetentionReport } from './retention.js';

/** What the scheduler needs. */
export interface RetentionSchedulerDeps {
  run(options: { dryRun: boolean; signal: AbortSignal }): Promise<RetentionReport>;
  /** The schedule in force (read at every check). */
  schedule(): Promise<{ autoCleanup: boolean; cleanupIntervalMs: number }> | { autoCleanup: boolean; cleanupIntervalMs: number };
  clock: Clock;
  log: Logger;
  /** Wait after start before the first run, so it does not compete with a start-up burst. */
  firstRunDelayMs?: number;
  /** Longest wait between two looks at the settings. */
  checkEveryMs?: number;
}

/** Retention's timer and the one door every run goes through. */
export class RetentionScheduler {
  private timer: NodeJS.Timeout | null = null;
  private lastRunAt: number | null = null;
  private tail: Promise<unknown> = Promise.resolve();
  private readonly stopRuns = new AbortController();

  constructor(private readonly deps: RetentionSchedulerDeps) {}

  /** Arms the timer. */
  start(): void {
    this.arm(this.deps.firstRunDelayMs ?? 3_000);
  }

  /** Runs retention now (after any run in progress); a real run restarts the interval. */
  runNow(dryRun: boolean): Promise<RetentionReport> {
    const run = this.tail.then(() => this.runOnce(dryRun));
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Stops the timer and a run in progress at its next batch; resolves once nothing runs. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.stopRuns.abort();
    await this.tail;
  }

  private arm(delayMs: number): void {
    if (this.stopRuns.signal.aborted) return;
    this.timer = setTimeout(() => void this.check(), Math.max(0, delayMs));
    this.timer.unref();
  }

  private async check(): Promise<void> {
    this.timer = null;
    const checkEveryMs = this.deps.checkEveryMs ?? 60_000;
    let schedule: { autoCleanup: boolean; cleanupIntervalMs: number };
    try {
      schedule = await this.deps.schedule();
    } catch (error) {
      this.deps.log.error('retention settings unreadable', { error: String(error) });
      return this.arm(checkEveryMs);
    }
    const dueIn = this.lastRunAt === null ? 0 : this.lastRunAt + schedule.cleanupIntervalMs - this.deps.clock.now();
    if (schedule.autoCleanup && dueIn <= 0) {
      // Logged inside runOnce; the timer goes on whatever the outcome.
      await this.runNow(false).catch(() => undefined);
      return this.arm(Math.min(checkEveryMs, schedule.cleanupIntervalMs));
    }
    this.arm(schedule.autoCleanup ? Math.min(checkEveryMs, dueIn) : checkEveryMs);
  }

  private async runOnce(dryRun: boolean): Promise<RetentionReport> {
    try {
      const report = await this.deps.run({ dryRun, signal: this.stopRuns.signal });
      if (!dryRun) this.lastRunAt = this.deps.clock.now();
      return report;
    } catch (error) {
      this.deps.log.error('retention run failed', { error: String(error), dryRun });
      throw error;
    }
  }
}
