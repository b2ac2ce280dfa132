// The dispatcher decides when to claim and how many: free = capacity − in flight. It wakes on
// enqueue and when a run ends, and polls as a fallback (delayed events, other processes' writes).
import { setMaxListeners } from 'node:events';
import type { Clock } from '../domain/clock.js';
import type { ClaimedEvent } from '../domain/event.js';
import type { Logger } from '../log.js';

/** The effects the dispatcher's loop is built from (injected, so it is tested without a database). */
export interface DispatcherDeps {
  claim(limit: number): Promise<ClaimedEvent[]>;
  run(event: ClaimedEvent, stopSignal: AbortSignal): Promise<unknown>;
  /** How many runs may be in flight now (read each time: settings change at run time). */
  capacity(): number;
  clock: Clock;
  pollIntervalMs: number;
  log: Logger;
}

/** Claims events while there is capacity and hands each to the runner. */
export class Dispatcher {
  private running = false;
  private wakeRequested = false;
  private wakeSleeper: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  // Runs in flight by event id: the fleet heartbeat renews exactly these leases.
  private readonly inFlight = new Map<number, Promise<unknown>>();
  private readonly stopRuns = new AbortController();
  private lastTickMs = 0;
  private dueTimer: NodeJS.Timeout | null = null;
  private dueAt = Number.POSITIVE_INFINITY;

  constructor(private readonly deps: DispatcherDeps) {
    // Every run in flight listens on this one signal; hundreds of listeners are expected, not a leak.
    setMaxListeners(0, this.stopRuns.signal);
  }

  /** Starts the claim loop. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Asks for a claim soon (an event was enqueued or a slot freed). */
  wake(): void {
    this.wakeRequested = true;
    const sleeper = this.wakeSleeper;
    this.wakeSleeper = null;
    sleeper?.();
  }

  /**
   * Wakes the loop when a delayed event becomes due (told by enqueue and by retries), so it runs on
   * time rather than at the next poll. One timer, for the earliest known time; polling covers the rest.
   */
  wakeAt(epochMs: number): void {
    if (epochMs >= this.dueAt) return;
    if (this.dueTimer) clearTimeout(this.dueTimer);
    this.dueAt = epochMs;
    this.dueTimer = setTimeout(() => {
      this.dueTimer = null;
      this.dueAt = Number.POSITIVE_INFINITY;
      // Timers run on libuv's cached monotonic time and may fire a millisecond or more before the
      // wall clock the claim compares run_at with; waking then would claim nothing and leave the event
      // for the next poll. Re-arm for the remainder instead.
      if (this.deps.clock.now() < epochMs) return this.wakeAt(epochMs);
      this.wake();
    }, Math.max(0, epochMs - this.deps.clock.now()));
    this.dueTimer.unref();
  }

  /** Runs in flight now. */
  /** Ids of the events whose runs are in flight here. */
  get inFlightEventIds(): number[] {
    return [...this.inFlight.keys()];
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Epoch ms of the loop's last pass; health checks use it to spot a wedged loop. */
  get lastTickAt(): number {
    return this.lastTickMs;
  }

  /** True between start() and stopClaiming(). */
  get isClaiming(): boolean {
    return this.running;
  }

  /** Stops claiming; runs in flight go on. */
  async stopClaiming(): Promise<void> {
    this.running = false;
    this.wake();
    if (this.dueTimer) clearTimeout(this.dueTimer);
    await this.loopDone;
  }

  /** Resolves when every run in flight has finished, or after `timeoutMs`; true if all finished. */
  async waitForRuns(timeoutMs: number): Promise<boolean> {
    if (this.inFlight.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const allDone = (async () => {
      while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
      return true as const;
    })();
    const finished = await Promise.race([allDone, timedOut]);
    clearTimeout(timer);
    return finished;
  }

  /** Tells every run in flight to hand its event back, and waits for them to do so. */
  async releaseRuns(): Promise<void> {
    this.stopRuns.abort();
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.lastTickMs = this.deps.clock.now();
      this.wakeRequested = false;
      const free = this.deps.capacity() - this.inFlight.size;
      let claimedAll = false;
      if (free > 0) {
        const claimed = await this.claimSafely(free);
        for (const event of claimed) this.launch(event);
        // A full claim means more may be waiting: go round again at once.
        claimedAll = claimed.length === free;
      }
      if (!this.running) break;
      if (claimedAll || this.wakeRequested) continue;
      await this.sleep(this.deps.pollIntervalMs);
    }
  }

  private async claimSafely(limit: number): Promise<ClaimedEvent[]> {
    try {
      return await this.deps.claim(limit);
    } catch (error) {
      this.deps.log.error('claim failed', { error: String(error) });
      await this.sleep(this.deps.pollIntervalMs);
      return [];
    }
  }

  private launch(event: ClaimedEvent): void {
    const run = this.deps
      .run(event, this.stopRuns.signal)
      .catch((error: unknown) => this.deps.log.error('run failed', { eventId: event.id, error: String(error) }))
      .finally(() => {
        this.inFlight.delete(event.id);
        this.wake();
      });
    this.inFlight.set(event.id, run);
  }

  private sleep(ms: number): Promise<void> {
    if (this.wakeRequested) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wakeSleeper = null;
        resolve();
      }, ms);
      this.wakeSleeper = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
