// Expiry of approvals (semantics §8): a pending interaction whose deadline passes is marked expired and
// its paused execution resumed (down its expired path), each in one writer transaction. One timer,
// set for the earliest deadline; a slow poll covers deadlines it was not told of (another process).
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import type { InteractionStore } from '../store/store.js';

/** What the sweeper is built from. */
export interface InteractionSweeperDeps {
  store: Pick<InteractionStore, 'dueInteractionIds' | 'expireInteraction' | 'nextInteractionExpiry'>;
  /** The claim sort key a resumed event gets (the queue's aging rule, read at resume time). */
  sortKeyAt: (priority: number, runAtMs: number) => number;
  /** Told when executions were resumed (wake the dispatcher). */
  onResumed: () => void;
  clock: Clock;
  log: Logger;
  /** How often to look again without being told of a deadline. */
  pollIntervalMs?: number;
}

// Node timers overflow above 2^31-1 ms; the poll re-arms long before that anyway.
const maxTimerMs = 2 ** 31 - 1;
const defaultPollMs = 60_000;
const batchSize = 100;

/** Expires due approvals and resumes their executions. */
export class InteractionSweeper {
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private poller: NodeJS.Timeout | null = null;
  private sweeping: Promise<number> | null = null;
  private running = false;

  constructor(private readonly deps: InteractionSweeperDeps) {}

  /** Sweeps what expired while the daemon was down, then keeps watching. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.poller = setInterval(() => void this.sweep(), this.deps.pollIntervalMs ?? defaultPollMs).unref();
    void this.sweep();
  }

  /** Stops the timers; a sweep under way finishes its current write. */
  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    if (this.poller) clearInterval(this.poller);
    this.timer = null;
    this.poller = null;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  /** Wakes at `epochMs` (a new interaction's deadline) unless already waking earlier. */
  watch(epochMs: number): void {
    if (!this.running || epochMs >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = epochMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      // Timers may fire a little before the wall clock reaches the deadline: wait out the remainder.
      if (this.deps.clock.now() < epochMs) return this.watch(epochMs);
      void this.sweep();
    }, Math.min(maxTimerMs, Math.max(0, epochMs - this.deps.clock.now())));
    this.timer.unref();
  }

  /** Expires every due interaction; resolves with how many. Never rejects. */
  sweep(): Promise<number> {
    this.sweeping ??= this.expireDue().finally(() => (this.sweeping = null));
    return this.sweeping;
  }

  private async expireDue(): Promise<number> {
    let expired = 0;
    try {
      for (let ids = await this.deps.store.dueInteractionIds(batchSize); ids.length > 0 && this.running; ids = await this.deps.store.dueInteractionIds(batchSize)) {
        for (const id of ids) if (await this.deps.store.expireInteraction(id, this.deps.sortKeyAt)) expired += 1;
      }
    } catch (error) {
      // The writer closed under us (shutdown) or a bug: the next start sweeps again.
      this.deps.log.error('approval expiry failed', { error: String(error) });
    }
    if (expired > 0) {
      this.deps.log.info('approvals expired', { expired });
      this.deps.onResumed();
    }
    const next = this.running ? await this.deps.store.nextInteractionExpiry() : null;
    if (next !== null) this.watch(next);
    return expired;
  }
}
