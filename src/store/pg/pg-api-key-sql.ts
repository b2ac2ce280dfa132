// SQL of API keys on PostgreSQL: the twin of store/sqlite/api-key-sql.ts. Only hashes are stored; a key
// is found by its hash on every authenticated request, in one query.
import type { Knex } from 'knex';
import type { ApiKeyRecord, AuthenticatedKey } from '../api-key-store.js';
import { changes, isoOf, rows, type PgRunner, type Row } from './pg-statements.js';

const keyColumns = `id, user_id, name, key_prefix, scopes, created_at, expires_at, last_used_at, revoked_at, is_active`;

function toApiKey(row: Row): ApiKeyRecord {
  return {
    id: Number(row.id),
    user_id: Number(row.user_id),
    name: row.name as string,
    key_prefix: row.key_prefix as string,
    // A json column: pg hands it back parsed.
    scopes: (row.scopes as string[] | null) ?? [],
    created_at: isoOf(row.created_at) ?? '',
    expires_at: isoOf(row.expires_at),
    last_used_at: isoOf(row.last_used_at),
    revoked_at: isoOf(row.revoked_at),
    is_active: row.is_active === true,
  };
}

/** Inserts a key's hash. */
export async function insertApiKey(
  trx: Knex.Transaction,
  input: { userId: number; name: string; keyPrefix: string; keyHash: string; scopes: string[]; expiresAt: string | null },
  nowIso: string,
): Promise<ApiKeyRecord> {
  const inserted = await rows(
    trx,
    `INSERT INTO api_keys (user_id, name, key_prefix, key_hash, scopes, created_at, expires_at, is_active)
     VALUES (?, ?, ?, ?, ?::json, ?, ?, true) RETURNING ${keyColumns}`,
    [input.userId, input.name, input.keyPrefix, input.keyHash, JSON.stringify(input.scopes), nowIso, input.expiresAt],
  );
  return toApiKey(inserted[0]!);
}

/** The key with this hash and its user's status, if any (revoked and expired ones included: the caller decides). */
export async function selectApiKeyByHash(db: PgRunner, keyHash: string): Promise<AuthenticatedKey | null> {
  // A key whose user row is gone cannot exist (ON DELETE CASCADE); the LEFT JOIN still refuses it, as 'missing'.
  const found = await rows(
    db,
    `SELECT k.id, k.user_id, k.name, k.key_prefix, k.scopes, k.created_at, k.expires_at, k.last_used_at, k.revoked_at, k.is_active,
            COALESCE(u.user_status, 'missing') AS user_status
       FROM api_keys k LEFT JOIN users u ON u.id = k.user_id
      WHERE k.key_hash = ?`,
    [keyHash],
  );
  const row = found[0];
  return row ? { ...toApiKey(row), user_status: row.user_status as string } : null;
}

/** One key by id. */
export async function selectApiKey(db: PgRunner, id: number): Promise<ApiKeyRecord | null> {
  const found = await rows(db, `SELECT ${keyColumns} FROM api_keys WHERE id = ?`, [id]);
  return found[0] ? toApiKey(found[0]) : null;
}

/** Every key, newest first. */
export async function selectApiKeys(db: PgRunner): Promise<ApiKeyRecord[]> {
  return (await rows(db, `SELECT ${keyColumns} FROM api_keys ORDER BY id DESC`)).map(toApiKey);
}

/** Revokes a key; false when there is no such active key. */
export async function revokeApiKey(trx: Knex.Transaction, id: number, nowIso: string): Promise<boolean> {
  return (await changes(trx, `UPDATE api_keys SET revoked_at = ?, is_active = false WHERE id = ? AND revoked_at IS NULL`, [nowIso, id])) > 0;
}

/** Notes when a key was last used. */
export async function touchApiKey(trx: Knex.Transaction, id: number, atIso: string): Promise<void> {
  await changes(trx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, [atIso, id]);
}

/** Keys that could authenticate now: active, unexpired, held by an active user. */
export async function countUsableApiKeys(db: PgRunner, nowIso: string): Promise<number> {
  const found = await rows(
    db,
    `SELECT COUNT(*) AS n FROM api_keys k JOIN users u ON u.id = k.user_id
      WHERE k.is_active AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > ?::timestamptz) AND u.user_status = 'active'`,
    [nowIso],
  );
  // COUNT is a bigint, which pg hands back as text.
  return Number(found[0]!.n);
}
