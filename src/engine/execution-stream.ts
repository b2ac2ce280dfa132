// Live run events by execution, for `GET /api/v1/executions/:id/stream`. Costs one Map lookup per
// event while nobody listens.
import type { RunEvent, RunObserver } from '../domain/run-event.js';

type Listener = (event: RunEvent) => void;

/** Fans run events out to the listeners of their execution. */
export class ExecutionStream implements RunObserver {
  private readonly listeners = new Map<string, Set<Listener>>();

  /** Delivers an event to whoever follows its execution. */
  runEvent(event: RunEvent): void {
    const listeners = this.listeners.get(event.executionId);
    if (listeners) for (const listener of listeners) listener(event);
  }

  /** Follows one execution; returns the function that stops following. */
  follow(executionId: string, listener: Listener): () => void {
    let listeners = this.listeners.get(executionId);
    if (!listeners) this.listeners.set(executionId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.listeners.delete(executionId);
    };
  }
}
