// Enqueue: validate against the current state, commit the event durably, then wake the dispatcher.
import { claimSortKey, type EnqueueRequest } from '../domain/event.js';
import type { EngineSettings } from '../engine/engine-settings.js';
import type { EnqueueOutcome, QueueStore } from '../store/store.js';

/** What enqueueing needs. */
export interface EnqueuerDeps {
  store: Pick<QueueStore, 'enqueue'>;
  settings: () => EngineSettings;
  /** Called once the event is committed, with when it may run. */
  wake(runAt: number): void;
}

/** Commits an event and wakes the dispatcher; resolves only once the row is durable. */
export type Enqueue = (request: EnqueueRequest) => Promise<EnqueueOutcome>;

/** Builds the enqueue function. */
export function createEnqueuer(deps: EnqueuerDeps): Enqueue {
  return async (request) => {
    const sortKey = claimSortKey(request.priority, request.runAt, deps.settings().priorityAgingMs);
    const outcome = await deps.store.enqueue(request, sortKey);
    if (outcome.created) deps.wake(request.runAt);
    return outcome;
  };
}
