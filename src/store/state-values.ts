// The pure part of workflow_state, shared by the SQLite and PostgreSQL adapters: how a value's type is
// labelled and how a metric_tracker's history grows.
import type { Json } from '../../workers/node-contract.js';

/** Most samples a metric_tracker keeps in its history; older ones drop off. */
export const metricHistoryLimit = 1000;

/** The history with one more sample at its end, cut to the newest `metricHistoryLimit`. */
export function withMetricSample(history: unknown, metrics: Json, nowIso: string): Json[] {
  return [...(Array.isArray(history) ? (history as Json[]) : []), { recorded_at: nowIso, metrics }].slice(-metricHistoryLimit);
}

/** The `value_type` label of a stored value. */
export function valueType(value: Json): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value;
}
