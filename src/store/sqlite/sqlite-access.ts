// The access family of the SQLite adapter: who may do what and what they did — API keys, users, the
// settings they change and the audit trail (ApiKeyStore, UserStore, SettingsStore, AuditStore).
import { isoAt } from '../../domain/clock.js';
import type { Json } from '../../../workers/node-contract.js';
import type { Actor, AuditEntry, AuditListFilter, AuditStore, UserStatus, UserStore } from '../access-store.js';
import type { ApiKeyStore } from '../api-key-store.js';
import type { SettingsStore } from '../settings-store.js';
import * as apiKeys from './api-key-sql.js';
import * as audit from './audit-sql.js';
import * as settingsSql from './settings-sql.js';
import { SqliteFamily } from './sqlite-family.js';
import * as users from './user-sql.js';

/** API keys, users, settings and the audit trail on SQLite. */
export class SqliteAccess extends SqliteFamily implements ApiKeyStore, UserStore, SettingsStore, AuditStore {
  createApiKey(input: { userId: number; name: string; keyPrefix: string; keyHash: string; scopes: string[]; expiresAt: string | null }) {
    return this.writer.write((db) => apiKeys.insertApiKey(db, input, isoAt(this.clock.now())));
  }

  async findApiKeyByHash(keyHash: string) {
    return apiKeys.selectApiKeyByHash(this.readDb, keyHash);
  }

  async getApiKey(id: number) {
    return apiKeys.selectApiKey(this.readDb, id);
  }

  async listApiKeys() {
    return apiKeys.selectApiKeys(this.readDb);
  }

  revokeApiKey(id: number) {
    return this.writer.write((db) => apiKeys.revokeApiKey(db, id, isoAt(this.clock.now())));
  }

  touchApiKey(id: number, at: string): void {
    this.fireAndForget((db) => apiKeys.touchApiKey(db, id, at));
  }

  async countUsableApiKeys() {
    return apiKeys.countUsableApiKeys(this.readDb, isoAt(this.clock.now()));
  }

  async loadSettings() {
    return apiKeys.selectSettings(this.readDb);
  }

  updateSettings(category: string, values: Record<string, Json>, actor: Actor) {
    return this.writer.write((db) => settingsSql.updateSettings(db, category, values, actor, isoAt(this.clock.now())));
  }

  createUser(input: { name: string; email: string | null; passwordHash: string | null }) {
    return this.writer.write((db) => users.insertUser(db, input, isoAt(this.clock.now())));
  }

  setUserStatus(id: number, status: UserStatus) {
    return this.writer.write((db) => users.updateUserStatus(db, id, status, isoAt(this.clock.now())));
  }

  async getUser(id: number) {
    return users.selectUser(this.readDb, id);
  }

  async findUserByName(name: string) {
    return users.selectUserByName(this.readDb, name);
  }

  async listUsers() {
    return users.selectUsers(this.readDb);
  }

  recordAudit(entry: AuditEntry): void {
    const at = isoAt(this.clock.now());
    this.fireAndForget((db) => audit.insertAuditLog(db, entry, at));
  }

  async listAuditLogs(filter: AuditListFilter) {
    return audit.selectAuditLogs(this.readDb, filter);
  }
}
