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
  /**
   * Called for every refused enqueue, whatever its source (API, webhook, schedule, file), before the
   * refusal reaches the caller: counting it here is what makes a trigger's dropped event visible.
   */
  refused?(request: EnqueueRequest, code: string): void;
}

/** Commits an event and wakes the dispatcher; resolves only once the row is durable. */
export type Enqueue = (request: EnqueueRequest) => Promise<EnqueueOutcome>;

/** Builds the enqueue function; a full workflow queue rejects with AppError `queue_full` (429). */
export function createEnqueuer(deps: EnqueuerDeps): Enqueue {
  return async (request) => {
    const settings = deps.settings();
    const sortKey = claimSortKey(request.priority, request.runAt, settings.priorityAgingMs);
    let outcome: EnqueueOutcome;
    try {
      outcome = await deps.store.enqueue(request, sortKey, settings.maxQueueDepthPerWorkflow);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 'queue_full') deps.refused?.(request, code);
      throw error;
    }
    if (outcome.created) deps.wake(request.runAt);
    return outcome;
  };
}
