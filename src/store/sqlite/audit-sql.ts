// SQL of the audit trail: one row per mutating request (and per recorded change), listed newest first.
import type Database from 'better-sqlite3';
import type { Json } from '../../../workers/node-contract.js';
import type { AuditEntry, AuditListFilter, AuditLogView } from '../access-store.js';
import { statement } from './connection.js';
import { fromJsonColumn } from './json-columns.js';

// The schema has no error-code column (001 is not edited): the code rides in `details.error_code`.
/** Inserts one audit row. */
export function insertAuditLog(db: Database.Database, entry: AuditEntry, nowIso: string): void {
  const details = entry.errorCode === null ? entry.details : { ...(isObject(entry.details) ? entry.details : {}), error_code: entry.errorCode };
  // Positional binding: this runs once per mutating request (every enqueue), and is measurably cheaper than named.
  statement(
    db,
    `INSERT INTO audit_logs (user_id, api_key_id, action, resource_type, resource_id, ip_address, user_agent, status_code,
                             error_message, details, request_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    entry.userId,
    entry.apiKeyId,
    entry.action,
    entry.resourceType,
    entry.resourceId,
    entry.ipAddress,
    entry.userAgent,
    entry.statusCode,
    entry.errorMessage,
    details === null || details === undefined ? null : JSON.stringify(details),
    entry.requestId,
    nowIso,
  );
}

/** A page of audit rows, newest first (the id is the cursor). */
export function selectAuditLogs(db: Database.Database, filter: AuditListFilter): AuditLogView[] {
  const rows = statement(
    db,
    `SELECT id, created_at, user_id, api_key_id, action, resource_type, resource_id, ip_address, user_agent, status_code,
            error_message, request_id, details
       FROM audit_logs
      WHERE (@userId IS NULL OR user_id = @userId) AND (@apiKeyId IS NULL OR api_key_id = @apiKeyId)
        AND (@action IS NULL OR action = @action) AND (@resourceType IS NULL OR resource_type = @resourceType)
        AND (@resourceId IS NULL OR resource_id = @resourceId) AND (@requestId IS NULL OR request_id = @requestId)
        AND (@statusMin IS NULL OR status_code >= @statusMin) AND (@statusMax IS NULL OR status_code <= @statusMax)
        AND (@from IS NULL OR created_at >= @from) AND (@to IS NULL OR created_at < @to)
        AND (@beforeId IS NULL OR id < @beforeId)
      ORDER BY id DESC LIMIT @limit`,
  ).all({
    userId: filter.userId ?? null,
    apiKeyId: filter.apiKeyId ?? null,
    action: filter.action ?? null,
    resourceType: filter.resourceType ?? null,
    resourceId: filter.resourceId ?? null,
    requestId: filter.requestId ?? null,
    statusMin: filter.statusMin ?? null,
    statusMax: filter.statusMax ?? null,
    from: filter.from ?? null,
    to: filter.to ?? null,
    beforeId: filter.beforeId ?? null,
    limit: filter.limit,
  }) as Array<Record<string, unknown>>;
  return rows.map(toAuditLogView);
}

function toAuditLogView(row: Record<string, unknown>): AuditLogView {
  const stored = fromJsonColumn<Json>(row.details, null);
  // error_code is shown as a field of its own, not twice.
  const errorCode = isObject(stored) && typeof stored.error_code === 'string' ? stored.error_code : null;
  const { error_code: _shown, ...rest } = isObject(stored) ? stored : {};
  const details = errorCode === null ? stored : Object.keys(rest).length > 0 ? (rest as Json) : null;
  return {
    id: Number(row.id),
    created_at: row.created_at as string,
    user_id: row.user_id === null ? null : Number(row.user_id),
    api_key_id: row.api_key_id === null ? null : Number(row.api_key_id),
    action: row.action as string,
    resource_type: (row.resource_type as string | null) ?? null,
    resource_id: (row.resource_id as string | null) ?? null,
    ip_address: (row.ip_address as string | null) ?? null,
    user_agent: (row.user_agent as string | null) ?? null,
    status_code: row.status_code === null ? null : Number(row.status_code),
    error_code: errorCode,
    error_message: (row.error_message as string | null) ?? null,
    request_id: (row.request_id as string | null) ?? null,
    details,
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
