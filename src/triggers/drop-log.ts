// Trigger events refused because the workflow's queue is full are logged, but at most once per
// trigger per window with how many were dropped since: a schedule firing every second into a full
// queue must not flood the journal.
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';

const windowMs = 10_000;

/** Counts dropped trigger events and logs them in bounded bursts. */
export class DropLog {
  private readonly byTrigger = new Map<string, { loggedAt: number; unlogged: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Notes one dropped event of a trigger node; logs it (with the ones held back) when its window allows. */
  note(workflowId: string, nodeId: string, kind: string): void {
    const key = `${workflowId}\0${nodeId}`;
    const now = this.clock.now();
    const entry = this.byTrigger.get(key) ?? { loggedAt: -Infinity, unlogged: 0 };
    entry.unlogged += 1;
    if (now - entry.loggedAt >= windowMs) {
      this.log.warn('trigger event dropped: workflow queue full', { workflowId, nodeId, trigger: kind, dropped: entry.unlogged, windowSeconds: windowMs / 1000 });
      entry.loggedAt = now;
      entry.unlogged = 0;
    }
    this.byTrigger.set(key, entry);
  }
}
