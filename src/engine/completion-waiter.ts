// Lets a request wait for an event's run to end (`X-Await-Completion`), without polling the database.
import type { ExecutionStatus } from '../domain/execution.js';

type Listener = (status: ExecutionStatus) => void;

/** Waiters keyed by event id, told each time an attempt of that event ends. */
export class CompletionWaiter {
  private readonly listeners = new Map<number, Set<Listener>>();

  /** Called by the runner after an attempt's outcome is durable. */
  notify(eventId: number, status: ExecutionStatus): void {
    const listeners = this.listeners.get(eventId);
    if (!listeners) return;
    for (const listener of listeners) listener(status);
  }

  /**
   * Resolves with the final status, or null when `timeoutMs` passes first. Retries are waited through;
   * a pause ends the wait too, since the run now waits for a person, not for the daemon.
   */
  wait(eventId: number, timeoutMs: number): Promise<ExecutionStatus | null> {
    return new Promise((resolve) => {
      const listeners = this.listeners.get(eventId) ?? new Set<Listener>();
      this.listeners.set(eventId, listeners);
      const done = (status: ExecutionStatus | null) => {
        clearTimeout(timer);
        listeners.delete(listener);
        if (listeners.size === 0) this.listeners.delete(eventId);
        resolve(status);
      };
      const listener: Listener = (status) => {
        if (status === 'completed' || status === 'failed' || status === 'cancelled' || status === 'paused') done(status);
      };
      const timer = setTimeout(() => done(null), timeoutMs);
      listeners.add(listener);
    });
  }
}
