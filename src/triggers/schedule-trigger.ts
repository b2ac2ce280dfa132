// schedule_trigger: fires on an interval or a cron pattern (croner computes the cron ticks; the timer
// is ours, so catch-up and the injected clock stay in our hands). A schedule that was missed while the
// daemon was down fires ONCE when armed, then goes on from now on its cadence — never once per
// missed tick.
import { Cron } from 'croner';
import type { Json } from '../../workers/node-contract.js';
import { isoAt, type Clock } from '../domain/clock.js';
import type { ScheduleSpec } from '../domain/trigger-config.js';
import type { Logger } from '../log.js';
import type { TriggerEmit, TriggerSource } from './trigger-source.js';

/** What a schedule needs. */
export interface ScheduleTriggerOptions {
  spec: ScheduleSpec;
  emit: TriggerEmit;
  clock: Clock;
  log: Logger;
  /** Epoch ms of its last fire (persisted), or null when it never fired. */
  lastFiredAt: number | null;
  /** Epoch ms monitoring began: the reference of a schedule that never fired. */
  since: number;
}

// Node timers misfire beyond 2^31-1 ms; a far tick is reached in steps of at most this.
const maxTimerMs = 2 ** 31 - 1;

/** One armed schedule. */
export class ScheduleTrigger implements TriggerSource {
  private readonly cron: Cron | null;
  private timer: NodeJS.Timeout | null = null;
  private next: number | null = null;
  private stopped = false;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: ScheduleTriggerOptions) {
    const { spec } = options;
    this.cron = spec.type === 'cron' ? new Cron(spec.cron, { timezone: spec.timezone ?? undefined }) : null;
  }

  /** Epoch ms of the next tick, or null when stopped (or a cron with no further tick). */
  get nextFireAt(): number | null {
    return this.stopped ? null : this.next;
  }

  start(): void {
    const now = this.options.clock.now();
    const due = this.tickAfter(this.options.lastFiredAt ?? this.options.since);
    if (due !== null && due <= now) {
      // Missed while the daemon was down (or stopped): once, whatever the number of missed ticks.
      this.fire(due, true);
      this.arm(this.tickAfter(now));
    } else this.arm(due);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await Promise.all(this.inFlight);
  }

  /** The first tick strictly after `atMs`, or null when there is none. */
  private tickAfter(atMs: number): number | null {
    const { spec } = this.options;
    if (spec.type === 'interval') return atMs + spec.intervalMs;
    return this.cron!.nextRun(new Date(atMs))?.getTime() ?? null;
  }

  private arm(due: number | null): void {
    this.next = due;
    if (this.stopped || due === null) return;
    const delay = Math.min(Math.max(due - this.options.clock.now(), 0), maxTimerMs);
    this.timer = setTimeout(() => this.onTimer(due), delay);
    // A schedule must never be what keeps the daemon alive.
    this.timer.unref();
  }

  private onTimer(due: number): void {
    this.timer = null;
    if (this.stopped) return;
    const now = this.options.clock.now();
    // Woken early (a far tick reached in steps, or a timer that ran a little ahead): wait on.
    if (now < due) return this.arm(due);
    this.fire(due, false);
    const following = this.tickAfter(due);
    // Fallen behind (a blocked event loop, a suspended machine): skip to the cadence from now, no burst.
    this.arm(following !== null && following <= now ? this.tickAfter(now) : following);
  }

  private fire(due: number, catchUp: boolean): void {
    const payload: Json = { triggered_at: isoAt(this.options.clock.now()), scheduled_for: isoAt(due), source: 'schedule', catch_up: catchUp, schedule: this.describe() };
    if (catchUp) this.options.log.info('missed schedule fired once', { scheduledFor: isoAt(due) });
    // A refusal is logged by the registry; a schedule just waits for its next tick (no retry).
    const emitted: Promise<unknown> = this.options.emit(payload).catch((error: unknown) => this.options.log.error('schedule emit failed', { error: String(error) }));
    this.inFlight.add(emitted);
    void emitted.finally(() => this.inFlight.delete(emitted));
  }

  private describe(): Json {
    const { spec } = this.options;
    return spec.type === 'interval' ? { type: 'interval', interval_seconds: spec.intervalMs / 1000 } : { type: 'cron', cron: spec.cron, timezone: spec.timezone };
  }
}
