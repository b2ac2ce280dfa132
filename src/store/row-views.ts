// Rows as the API shows them, for both stores: the SQLite and PostgreSQL adapters select the same
// columns and differ only in how the driver hands two kinds back — JSON (SQLite: text; pg: parsed)
// and times (SQLite: the ISO text written; pg: a Date). Each adapter passes its JSON reader; times
// are read by timeText for both.
import type { Json } from '../../workers/node-contract.js';
import type { EventStatus, QueuedEvent } from '../domain/event.js';
import type { InteractionStatus, InteractionView } from '../domain/interaction.js';
import type { AuditLogView } from './access-store.js';
import type { FileRecord } from './file-store.js';

/** A result row as a driver returns it. */
export type Row = Record<string, unknown>;

/** Reads a JSON column the way the adapter's driver hands it back; `fallback` when empty. */
export type JsonReader = <T = Json>(value: unknown, fallback: T) => T;

/** ISO text of a time column: a Date (pg) as ISO, text (SQLite) as written; null when empty. */
export function timeText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : String(value);
}

const textOrNull = (value: unknown): string | null => (value as string | null | undefined) ?? null;
const numberOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** An event_queue row. */
export function queuedEventFrom(row: Row, json: JsonReader): QueuedEvent {
  return {
    id: Number(row.id),
    workflowId: row.workflow_id as string,
    eventType: row.event_type as string,
    eventData: json<Json>(row.event_data, null),
    priority: Number(row.priority),
    status: row.status as EventStatus,
    source: row.source as QueuedEvent['source'],
    runAt: Number(row.run_at),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    dedupKey: textOrNull(row.dedup_key),
    executionId: textOrNull(row.execution_id),
    errorMessage: textOrNull(row.error_message),
    leaseToken: textOrNull(row.lease_token),
    createdAt: timeText(row.created_at) ?? '',
    processedAt: timeText(row.processed_at),
    finishedAt: timeText(row.finished_at),
  };
}

/** An audit_logs row; error_code, kept inside details, is shown as a field of its own, not twice. */
export function auditLogViewFrom(row: Row, json: JsonReader): AuditLogView {
  const stored = json<Json>(row.details, null);
  const errorCode = isObject(stored) && typeof stored.error_code === 'string' ? stored.error_code : null;
  const { error_code: _shown, ...rest } = isObject(stored) ? stored : {};
  const details = errorCode === null ? stored : Object.keys(rest).length > 0 ? (rest as Json) : null;
  return {
    // Bigint columns come back from pg as text.
    id: Number(row.id),
    created_at: timeText(row.created_at) ?? '',
    user_id: numberOrNull(row.user_id),
    api_key_id: numberOrNull(row.api_key_id),
    action: row.action as string,
    resource_type: textOrNull(row.resource_type),
    resource_id: textOrNull(row.resource_id),
    ip_address: textOrNull(row.ip_address),
    user_agent: textOrNull(row.user_agent),
    status_code: numberOrNull(row.status_code),
    error_code: errorCode,
    error_message: textOrNull(row.error_message),
    request_id: textOrNull(row.request_id),
    details,
  };
}

/** A files row. */
export function fileRecordFrom(row: Row, json: JsonReader): FileRecord {
  return {
    id: Number(row.id),
    workflow_id: textOrNull(row.workflow_id),
    execution_id: textOrNull(row.execution_id),
    original_filename: row.original_filename as string,
    stored_filename: row.stored_filename as string,
    file_path: row.file_path as string,
    file_type: textOrNull(row.file_type),
    mime_type: textOrNull(row.mime_type),
    size_bytes: numberOrNull(row.size_bytes),
    file_metadata: json<Json>(row.file_metadata, {}),
    created_at: timeText(row.created_at) ?? '',
  };
}

/** An email_interactions row (never its token hash). */
export function interactionViewFrom(row: Row, json: JsonReader): InteractionView {
  return {
    id: row.interaction_id as string,
    workflow_id: row.workflow_id as string,
    execution_id: textOrNull(row.execution_id),
    node_id: textOrNull(row.node_id),
    interaction_type: row.interaction_type as string,
    status: row.status as InteractionStatus,
    email_data: json<Json>(row.email_data, null),
    response_data: json<Json>(row.response_data, null),
    created_at: timeText(row.created_at) ?? '',
    responded_at: timeText(row.responded_at),
    expires_at: timeText(row.expires_at),
  };
}

/** True for a JSON object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
