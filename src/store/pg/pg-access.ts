// The access family of the PostgreSQL adapter, the twin of store/sqlite/sqlite-access.ts: who may do
// what and what they did — API keys, users, the settings they change and the audit trail.
import { isoAt } from '../../domain/clock.js';
import type { Json } from '../../../workers/node-contract.js';
import type { Actor, AuditEntry, AuditListFilter, AuditStore, UserStatus, UserStore } from '../access-store.js';
import type { ApiKeyStore } from '../api-key-store.js';
import type { SettingsStore } from '../settings-store.js';
import * as apiKeys from './pg-api-key-sql.js';
import * as audit from './pg-audit-sql.js';
import { PgFamily } from './pg-family.js';
import * as settingsSql from './pg-settings-sql.js';
import * as users from './pg-user-sql.js';

/** API keys, users, settings and the audit trail on PostgreSQL. */
export class PgAccess extends PgFamily implements ApiKeyStore, UserStore, SettingsStore, AuditStore {
  createApiKey(input: { userId: number; name: string; keyPrefix: string; keyHash: string; scopes: string[]; expiresAt: string | null }) {
    return this.writer.write((trx) => apiKeys.insertApiKey(trx, input, isoAt(this.clock.now())));
  }

  findApiKeyByHash(keyHash: string) {
    return apiKeys.selectApiKeyByHash(this.db, keyHash);
  }

  getApiKey(id: number) {
    return apiKeys.selectApiKey(this.db, id);
  }

  listApiKeys() {
    return apiKeys.selectApiKeys(this.db);
  }

  revokeApiKey(id: number) {
    return this.writer.write((trx) => apiKeys.revokeApiKey(trx, id, isoAt(this.clock.now())));
  }

  touchApiKey(id: number, at: string): void {
    this.fireAndForget((trx) => apiKeys.touchApiKey(trx, id, at));
  }

  countUsableApiKeys() {
    return apiKeys.countUsableApiKeys(this.db, isoAt(this.clock.now()));
  }

  loadSettings() {
    return settingsSql.selectSettings(this.db);
  }

  updateSettings(category: string, values: Record<string, Json>, actor: Actor) {
    return this.writer.write((trx) => settingsSql.updateSettings(trx, category, values, actor, isoAt(this.clock.now())));
  }

  createUser(input: { name: string; email: string | null; passwordHash: string | null }) {
    return this.writer.write((trx) => users.insertUser(trx, input, isoAt(this.clock.now())));
  }

  setUserStatus(id: number, status: UserStatus) {
    return this.writer.write((trx) => users.updateUserStatus(trx, id, status, isoAt(this.clock.now())));
  }

  getUser(id: number) {
    return users.selectUser(this.db, id);
  }

  findUserByName(name: string) {
    return users.selectUserByName(this.db, name);
  }

  listUsers() {
    return users.selectUsers(this.db);
  }

  recordAudit(entry: AuditEntry): void {
    // Stamped when recorded, not when the group commits, as on SQLite.
    const at = isoAt(this.clock.now());
    this.fireAndForget((trx) => audit.insertAuditLog(trx, entry, at));
  }

  listAuditLogs(filter: AuditListFilter) {
    return audit.selectAuditLogs(this.db, filter);
  }
}
