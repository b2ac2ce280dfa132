// The storage port of who may do what and what they did: users, the audit trail, and the types a
// recorded settings change carries. Part of `Store` (store.ts).
import type { Json } from '../../workers/node-contract.js';

/** Who changed something: the user and key of the request, and the request's id. */
export interface Actor {
  userId: number | null;
  apiKeyId: number | null;
  requestId: string | null;
}

/** One setting a change altered. */
export interface SettingChange {
  key: string;
  old: Json;
  new: Json;
}

/** The statuses a user may have; only `active` users' keys authenticate. */
export const userStatuses = ['active', 'inactive', 'locked'] as const;

/** One user status. */
export type UserStatus = (typeof userStatuses)[number];

/** A `users` row without its password hash. */
export interface UserRecord {
  id: number;
  user_name: string;
  user_email: string | null;
  user_status: string;
  has_password: boolean;
  created_at: string;
  updated_at: string | null;
}

/** Users, who own API keys. */
export interface UserStore {
  /** Creates a user; 'name_taken' / 'email_taken' when another user has that name or email. */
  createUser(input: { name: string; email: string | null; passwordHash: string | null }): Promise<UserRecord | 'name_taken' | 'email_taken'>;
  /** Sets a user's status; false when there is no such user. */
  setUserStatus(id: number, status: UserStatus): Promise<boolean>;
  getUser(id: number): Promise<UserRecord | null>;
  findUserByName(name: string): Promise<UserRecord | null>;
  listUsers(): Promise<UserRecord[]>;
}

/** One audit_logs row to write. */
export interface AuditEntry {
  userId: number | null;
  apiKeyId: number | null;
  /** `METHOD /route`, e.g. `POST /api/v1/workflows/:id/execute`, or a named action such as `settings.update`. */
  action: string;
  resourceType: string | null;
  resourceId: string | null;
  ipAddress: string | null;
  userAgent: string | null;
  statusCode: number | null;
  errorCode: string | null;
  errorMessage: string | null;
  details: Json;
  requestId: string | null;
}

/** Filters for listing audit logs. */
export interface AuditListFilter {
  userId?: number;
  apiKeyId?: number;
  action?: string;
  resourceType?: string;
  resourceId?: string;
  requestId?: string;
  /** Inclusive bounds on status_code (one status, or a class such as 400–499). */
  statusMin?: number;
  statusMax?: number;
  /** ISO times bounding created_at: from inclusive, to exclusive. */
  from?: string;
  to?: string;
  limit: number;
  /** Rows with an id below this one (pages go newest first). */
  beforeId?: number;
}

/** One audit_logs row as the API shows it. */
export interface AuditLogView {
  id: number;
  created_at: string;
  user_id: number | null;
  api_key_id: number | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  ip_address: string | null;
  user_agent: string | null;
  status_code: number | null;
  error_code: string | null;
  error_message: string | null;
  request_id: string | null;
  details: Json;
}

/** The audit trail. */
export interface AuditStore {
  /** Queues a row without waiting for it; it rides in the writer's next group commit. */
  recordAudit(entry: AuditEntry): void;
  listAuditLogs(filter: AuditListFilter): Promise<AuditLogView[]>;
}
