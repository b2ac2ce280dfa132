// The JSON shape of an event in API answers (snake_case, like the table).
import type { QueuedEvent } from '../domain/event.js';

/** An event as the API shows it. */
export function eventView(event: QueuedEvent) {
  return {
    id: event.id,
    workflow_id: event.workflowId,
    event_type: event.eventType,
    event_data: event.eventData,
    priority: event.priority,
    status: event.status,
    source: event.source,
    run_at: new Date(event.runAt).toISOString(),
    attempts: event.attempts,
    max_attempts: event.maxAttempts,
    dedup_key: event.dedupKey,
    execution_id: event.executionId,
    error_message: event.errorMessage,
    created_at: event.createdAt,
    processed_at: event.processedAt,
    finished_at: event.finishedAt,
  };
}
