// What happens during a run, as values: the metrics count them, the execution stream sends them.
import type { NodeError } from '../../workers/node-contract.js';

/** One thing that happened in a run. */
export type RunEvent =
  | { type: 'node_started'; executionId: string; nodeId: string; nodeType: string; attempt: number }
  | { type: 'node_finished'; executionId: string; nodeId: string; nodeType: string; attempt: number; ok: boolean; durationMs: number; error: NodeError | null }
  | { type: 'node_retry'; executionId: string; nodeId: string; nodeType: string; nextAttempt: number; waitMs: number }
  | { type: 'progress'; executionId: string; settled: number; total: number }
  | { type: 'execution_finished'; executionId: string; status: string; outcome: string };

/** Receives run events; must be cheap and must not throw (it sits on the hot path). */
export interface RunObserver {
  runEvent(event: RunEvent): void;
}

/** Several observers as one. */
export function observeAll(observers: RunObserver[]): RunObserver {
  return { runEvent: (event) => observers.forEach((observer) => observer.runEvent(event)) };
}
