// SQL of the audit trail on PostgreSQL: the twin of store/sqlite/audit-sql.ts. One row per mutating
// request (and per recorded change), listed newest first.
import type { AuditEntry, AuditListFilter, AuditLogView } from '../access-store.js';
import { jsonText, type PgRunner, readJson, type Row, rows } from './pg-statements.js';
import { auditLogViewFrom, isObject } from '../row-views.js';

// The schema has no error-code column (001 is not edited): the code rides in `details.error_code`.
/** Inserts one audit row. */
export async function insertAuditLog(db: PgRunner, entry: AuditEntry, nowIso: string): Promise<void> {
  const details = entry.errorCode === null ? entry.details : { ...(isObject(entry.details) ? entry.details : {}), error_code: entry.errorCode };
  await rows(
    db,
    `INSERT INTO audit_logs (user_id, api_key_id, action, resource_type, resource_id, ip_address, user_agent, status_code,
                             error_message, details, request_id, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::json, ?, ?)`,
    [
      entry.userId,
      entry.apiKeyId,
      entry.action,
      entry.resourceType,
      entry.resourceId,
      entry.ipAddress,
      entry.userAgent,
      entry.statusCode,
      entry.errorMessage,
      jsonText(details),
      entry.requestId,
      nowIso,
    ],
  );
}

/** A page of audit rows, newest first (the id is the cursor). */
export async function selectAuditLogs(db: PgRunner, filter: AuditListFilter): Promise<AuditLogView[]> {
  // Only the filters given become conditions: pg cannot type a parameter that is only compared with NULL.
  const conditions: Array<[string, unknown]> = [
    ['user_id = ?', filter.userId],
    ['api_key_id = ?', filter.apiKeyId],
    ['action = ?', filter.action],
    ['resource_type = ?', filter.resourceType],
    ['resource_id = ?', filter.resourceId],
    ['request_id = ?', filter.requestId],
    ['status_code >= ?', filter.statusMin],
    ['status_code <= ?', filter.statusMax],
    ['created_at >= ?::timestamptz', filter.from],
    ['created_at < ?::timestamptz', filter.to],
    ['id < ?', filter.beforeId],
  ];
  const given = conditions.filter(([, value]) => value !== undefined && value !== null);
  const where = given.length > 0 ? `WHERE ${given.map(([condition]) => condition).join(' AND ')}` : '';
  const found = await rows(
    db,
    `SELECT id, created_at, user_id, api_key_id, action, resource_type, resource_id, ip_address, user_agent, status_code,
            error_message, request_id, details
       FROM audit_logs ${where}
      ORDER BY id DESC LIMIT ?`,
    [...given.map(([, value]) => value), filter.limit],
  );
  return found.map(toAuditLogView);
}

const toAuditLogView = (row: Row): AuditLogView => auditLogViewFrom(row, readJson);

