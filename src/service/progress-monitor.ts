// Tells a daemon that makes progress from a wedged one, for the systemd watchdog. Progress means both:
// - the dispatcher's loop went round recently. It passes at least once per poll interval even when
//   idle or at full capacity, so a stale pass means it is stuck awaiting a claim that never returns;
// - the writer is not sitting on queued writes: either nothing is pending, or a commit happened since
//   the last look. Writes that stay queued with no commit mean the one write path is stuck.
// An idle daemon (nothing queued, loop passing on its poll timer) is healthy. A blocked event loop
// (a synchronous wait on a database lock, a runaway loop) never gets to run the check at all, which
// is what stops the pings then.
import type { Clock } from '../domain/clock.js';

/** What the monitor reads. */
export interface ProgressSources {
  dispatcher: { readonly isClaiming: boolean; readonly lastTickAt: number };
  writerStats(): { commits: number; pending: number };
  /** While draining the dispatcher has stopped on purpose; only the writer must still move. */
  isDraining(): boolean;
}

/** The outcome of one look. */
export interface ProgressVerdict {
  healthy: boolean;
  /** Names of the failing checks (`dispatcher_stalled`, `writer_stalled`). */
  reasons: string[];
}

/**
 * How long without progress counts as wedged: three poll intervals (the loop passes at least once
 * per interval) and never less than two seconds plus the writer's own batching delay.
 */
export function stallAfterMsFor(pollIntervalMs: number, writerMaxDelayMs: number): number {
  return Math.max(3 * pollIntervalMs, 2_000 + writerMaxDelayMs);
}

/** Samples the dispatcher and writer; call check() on each watchdog tick. */
export class ProgressMonitor {
  private lastCommits = -1;
  private writerWaitingSince: number | null = null;

  constructor(
    private readonly sources: ProgressSources,
    private readonly clock: Clock,
    private readonly stallAfterMs: number,
  ) {}

  /** Looks once; remembers the writer's state for the next look. */
  check(): ProgressVerdict {
    const now = this.clock.now();
    const reasons: string[] = [];
    if (!this.sources.isDraining() && !this.dispatcherMoving(now)) reasons.push('dispatcher_stalled');
    if (!this.writerMoving(now)) reasons.push('writer_stalled');
    return { healthy: reasons.length === 0, reasons };
  }

  private dispatcherMoving(now: number): boolean {
    const { isClaiming, lastTickAt } = this.sources.dispatcher;
    return isClaiming && now - lastTickAt <= this.stallAfterMs;
  }

  private writerMoving(now: number): boolean {
    const { commits, pending } = this.sources.writerStats();
    const committedSinceLastLook = commits !== this.lastCommits;
    this.lastCommits = commits;
    if (pending === 0) this.writerWaitingSince = null;
    // Pending now but a commit happened since the last look: these writes are new, start their clock.
    else if (committedSinceLastLook || this.writerWaitingSince === null) this.writerWaitingSince = now;
    return this.writerWaitingSince === null || now - this.writerWaitingSince <= this.stallAfterMs;
  }
}
