// What a state node asks of `workflow_state` (semantics §7), as data the store applies.
import type { Json } from '../../workers/node-contract.js';

/** One state node's request. */
export type StateOperation =
  | { kind: 'get'; workflowId: string; namespace: string; key: string; defaultValue: Json }
  | { kind: 'set'; workflowId: string; namespace: string; key: string; value: Json; expiresInSeconds: number | null }
  | { kind: 'update'; workflowId: string; namespace: string; key: string; updates: Json; operation: 'merge' | 'increment'; createIfMissing: boolean }
  | { kind: 'delete'; workflowId: string; namespace: string; key: string };

/** Thrown (inside the writer's transaction) when an update cannot apply; becomes a failed node. */
export class StateOperationError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StateOperationError';
  }
}

/** Applies a merge or an increment to the current value. */
export function applyUpdate(current: Json | undefined, updates: Json, operation: 'merge' | 'increment'): Json {
  if (operation === 'merge') {
    if (!isObject(updates)) throw new StateOperationError('invalid_updates', 'merge needs an object of updates');
    if (current !== undefined && current !== null && !isObject(current)) throw new StateOperationError('not_an_object', 'merge needs the stored value to be an object');
    return { ...((current as Record<string, Json> | null | undefined) ?? {}), ...updates };
  }
  if (typeof updates === 'number') {
    const base = current === undefined || current === null ? 0 : current;
    if (typeof base !== 'number') throw new StateOperationError('not_a_number', 'increment by a number needs a numeric stored value');
    return base + updates;
  }
  if (!isObject(updates)) throw new StateOperationError('invalid_updates', 'increment needs a number or an object of numbers');
  const base = (current === undefined || current === null ? {} : current) as Record<string, Json>;
  if (!isObject(base)) throw new StateOperationError('not_an_object', 'increment by fields needs the stored value to be an object');
  const next: Record<string, Json> = { ...base };
  for (const [field, delta] of Object.entries(updates)) {
    const from = next[field] ?? 0;
    if (typeof delta !== 'number' || typeof from !== 'number') throw new StateOperationError('not_a_number', `field ${field} is not numeric`);
    next[field] = from + delta;
  }
  return next;
}

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
