// SQL of API keys (hashes only) and of the settings table.
import type Database from 'better-sqlite3';
import type { Json } from '../../../workers/node-contract.js';
import type { ApiKeyRecord, AuthenticatedKey } from '../store.js';
import { statement } from './connection.js';
import { fromBooleanColumn, fromJsonColumn } from './json-columns.js';

const keyColumns = `id, user_id, name, key_prefix, scopes, created_at, expires_at, last_used_at, revoked_at, is_active`;

function toApiKey(row: Record<string, unknown>): ApiKeyRecord {
  return {
    id: Number(row.id),
    user_id: Number(row.user_id),
    name: row.name as string,
    key_prefix: row.key_prefix as string,
    scopes: fromJsonColumn(row.scopes, []),
    created_at: row.created_at as string,
    expires_at: (row.expires_at as string | null) ?? null,
    last_used_at: (row.last_used_at as string | null) ?? null,
    revoked_at: (row.revoked_at as string | null) ?? null,
    is_active: fromBooleanColumn(row.is_active),
  };
}

/** Inserts a key's hash. */
export function insertApiKey(
  db: Database.Database,
  input: { userId: number; name: string; keyPrefix: string; keyHash: string; scopes: string[]; expiresAt: string | null },
  nowIso: string,
): ApiKeyRecord {
  const row = statement(
    db,
    `INSERT INTO api_keys (user_id, name, key_prefix, key_hash, scopes, created_at, expires_at, is_active)
     VALUES (?, ?, ?, ?, ?, ?, ?, 1) RETURNING ${keyColumns}`,
  ).get(input.userId, input.name, input.keyPrefix, input.keyHash, JSON.stringify(input.scopes), nowIso, input.expiresAt) as Record<string, unknown>;
  return toApiKey(row);
}

/** The key with this hash and its user's status, if any (revoked and expired ones included: the caller decides). */
export function selectApiKeyByHash(db: Database.Database, keyHash: string): AuthenticatedKey | null {
  // A key whose user row is gone cannot exist (ON DELETE CASCADE); the LEFT JOIN still refuses it, as 'missing'.
  const row = statement(
    db,
    `SELECT k.id, k.user_id, k.name, k.key_prefix, k.scopes, k.created_at, k.expires_at, k.last_used_at, k.revoked_at, k.is_active,
            COALESCE(u.user_status, 'missing') AS user_status
       FROM api_keys k LEFT JOIN users u ON u.id = k.user_id
      WHERE k.key_hash = ?`,
  ).get(keyHash) as Record<string, unknown> | undefined;
  return row ? { ...toApiKey(row), user_status: row.user_status as string } : null;
}

/** One key by id. */
export function selectApiKey(db: Database.Database, id: number): ApiKeyRecord | null {
  const row = statement(db, `SELECT ${keyColumns} FROM api_keys WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
  return row ? toApiKey(row) : null;
}

/** Every key, newest first. */
export function selectApiKeys(db: Database.Database): ApiKeyRecord[] {
  return (statement(db, `SELECT ${keyColumns} FROM api_keys ORDER BY id DESC`).all() as Array<Record<string, unknown>>).map(toApiKey);
}

/** Revokes a key; false when there is no such active key. */
export function revokeApiKey(db: Database.Database, id: number, nowIso: string): boolean {
  return statement(db, `UPDATE api_keys SET revoked_at = ?, is_active = 0 WHERE id = ? AND revoked_at IS NULL`).run(nowIso, id).changes > 0;
}

/** Notes when a key was last used. */
export function touchApiKey(db: Database.Database, id: number, nowIso: string): void {
  statement(db, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`).run(nowIso, id);
}

/** Keys that could authenticate now: active, unexpired, held by an active user. */
export function countUsableApiKeys(db: Database.Database, nowIso: string): number {
  const row = statement(
    db,
    `SELECT COUNT(*) AS n FROM api_keys k JOIN users u ON u.id = k.user_id
      WHERE k.is_active = 1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?) AND u.user_status = 'active'`,
  ).get(nowIso) as { n: number };
  return Number(row.n);
}

/** The settings table as category → key → value. */
export function selectSettings(db: Database.Database): Record<string, Record<string, Json>> {
  const settings: Record<string, Record<string, Json>> = {};
  for (const row of statement(db, `SELECT category, key, value FROM settings`).all() as Array<Record<string, string>>) {
    (settings[row.category!] ??= {})[row.key!] = fromJsonColumn(row.value, null);
  }
  return settings;
}
