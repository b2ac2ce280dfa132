// SQL of the audit trail on PostgreSQL: the twin of store/sqlite/audit-sql.ts. One row per mutating
// request (and per recorded change), listed newest first.
import type { Json } from '../../../workers/node-contract.js';
import type { AuditEntry, AuditListFilter, AuditLogView } from '../access-store.js';
import { isoOf, jsonText, rows, type PgRunner, type Row } from './pg-statements.js';

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

function toAuditLogView(row: Row): AuditLogView {
  // A json column: pg hands it back parsed.
  const stored = (row.details ?? null) as Json;
  // error_code is shown as a field of its own, not twice.
  const errorCode = isObject(stored) && typeof stored.error_code === 'string' ? stored.error_code : null;
  const { error_code: _shown, ...rest } = isObject(stored) ? stored : {};
  const details = errorCode === null ? stored : Object.keys(rest).length > 0 ? (rest as Json) : null;
  return {
    // A bigint column, which pg hands back as text.
    id: Number(row.id),
    created_at: isoOf(row.created_at) ?? '',
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
