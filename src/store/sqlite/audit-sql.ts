// SQL of the audit trail: one row per mutating request (and per recorded change), listed newest first.
import type Database from 'better-sqlite3';
import type { AuditEntry, AuditListFilter, AuditLogView } from '../access-store.js';
import { statement } from './connection.js';
import { fromJsonColumn } from './json-columns.js';
import { auditLogViewFrom, isObject } from '../row-views.js';

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

const toAuditLogView = (row: Record<string, unknown>): AuditLogView => auditLogViewFrom(row, fromJsonColumn);

