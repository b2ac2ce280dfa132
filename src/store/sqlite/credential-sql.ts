// SQL of credentials. Only sealed text reaches these functions: sealing and opening happen in the
// credential vault, and a seal callback runs inside the write transaction when it needs the row id.
import type Database from 'better-sqlite3';
import { sealedKeyId } from '../../auth/secret-box.js';
import type { CredentialChanges, CredentialInput, CredentialRecord, SealedCredential } from '../store.js';
import { statement } from './connection.js';
import { fromJsonColumn } from './json-columns.js';

const metadataColumns = `id, user_id, name, credential_type, description, field_names, encrypted_data, created_at, updated_at, last_used_at`;

function toCredential(row: Record<string, unknown>): CredentialRecord {
  return {
    id: Number(row.id),
    user_id: Number(row.user_id),
    name: row.name as string,
    credential_type: row.credential_type as string,
    description: (row.description as string | null) ?? null,
    field_names: fromJsonColumn(row.field_names, []),
    // Read from the sealed text's header; the value itself is never decrypted for a read.
    key_id: sealedKeyId(row.encrypted_data as string),
    created_at: row.created_at as string,
    updated_at: (row.updated_at as string | null) ?? null,
    last_used_at: (row.last_used_at as string | null) ?? null,
  };
}

/** True when another credential of the same user has this name. */
function nameTaken(db: Database.Database, userId: number, name: string, exceptId: number): boolean {
  return statement(db, `SELECT 1 FROM credentials WHERE user_id = ? AND name = ? AND id <> ?`).get(userId, name, exceptId) !== undefined;
}

/** Inserts a credential, then seals its data for the id it got; 'name_taken' when the user has one of that name. */
export function insertCredential(db: Database.Database, input: CredentialInput, seal: (id: number) => string, nowIso: string): CredentialRecord | 'name_taken' {
  if (nameTaken(db, input.userId, input.name, 0)) return 'name_taken';
  const { id } = statement(
    db,
    `INSERT INTO credentials (user_id, name, credential_type, encrypted_data, description, field_names, created_at, updated_at)
     VALUES (?, ?, ?, '', ?, ?, ?, ?) RETURNING id`,
  ).get(input.userId, input.name, input.credentialType, input.description, JSON.stringify(input.fieldNames), nowIso, nowIso) as { id: number };
  statement(db, `UPDATE credentials SET encrypted_data = ? WHERE id = ?`).run(seal(Number(id)), id);
  return selectCredential(db, Number(id))!;
}

/** Applies the given changes; a new seal replaces the data whole. */
export function updateCredential(
  db: Database.Database,
  id: number,
  changes: CredentialChanges,
  seal: ((id: number) => string) | null,
  nowIso: string,
): CredentialRecord | 'missing' | 'name_taken' {
  const current = selectCredential(db, id);
  if (!current) return 'missing';
  if (changes.name !== undefined && nameTaken(db, current.user_id, changes.name, id)) return 'name_taken';
  statement(
    db,
    `UPDATE credentials SET name = @name, credential_type = @credentialType, description = @description, field_names = @fieldNames, updated_at = @now
     WHERE id = @id`,
  ).run({
    id,
    name: changes.name ?? current.name,
    credentialType: changes.credentialType ?? current.credential_type,
    description: changes.description !== undefined ? changes.description : current.description,
    fieldNames: JSON.stringify(changes.fieldNames ?? current.field_names),
    now: nowIso,
  });
  if (seal) statement(db, `UPDATE credentials SET encrypted_data = ? WHERE id = ?`).run(seal(id), id);
  return selectCredential(db, id)!;
}

/** Deletes a credential; false when there was none. */
export function deleteCredential(db: Database.Database, id: number): boolean {
  return statement(db, `DELETE FROM credentials WHERE id = ?`).run(id).changes > 0;
}

/** One credential's metadata. */
export function selectCredential(db: Database.Database, id: number): CredentialRecord | null {
  const row = statement(db, `SELECT ${metadataColumns} FROM credentials WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
  return row ? toCredential(row) : null;
}

/** A page of credentials' metadata, newest first. */
export function selectCredentials(db: Database.Database, limit: number, offset: number): CredentialRecord[] {
  const rows = statement(db, `SELECT ${metadataColumns} FROM credentials ORDER BY id DESC LIMIT ? OFFSET ?`).all(limit, offset) as Array<Record<string, unknown>>;
  return rows.map(toCredential);
}

/** How many credentials exist. */
export function countCredentials(db: Database.Database): number {
  return Number((statement(db, `SELECT COUNT(*) AS n FROM credentials`).get() as { n: number }).n);
}

/** The sealed data of one credential, for the vault to open. */
export function selectSealedCredential(db: Database.Database, id: number): SealedCredential | null {
  const row = statement(db, `SELECT id, encrypted_data FROM credentials WHERE id = ?`).get(id) as { id: number; encrypted_data: string } | undefined;
  return row ? { id: Number(row.id), encrypted_data: row.encrypted_data } : null;
}

/** How many credentials are sealed under each key id (null: text that is not a sealed value). */
export function countCredentialsByKey(db: Database.Database): Map<string | null, number> {
  const counts = new Map<string | null, number>();
  for (const row of statement(db, `SELECT encrypted_data FROM credentials`).all() as Array<{ encrypted_data: string }>) {
    const keyId = sealedKeyId(row.encrypted_data);
    counts.set(keyId, (counts.get(keyId) ?? 0) + 1);
  }
  return counts;
}

/** Notes when a credential was last used by a node. */
export function touchCredential(db: Database.Database, id: number, nowIso: string): void {
  statement(db, `UPDATE credentials SET last_used_at = ? WHERE id = ?`).run(nowIso, id);
}

/** Replaces every credential's sealed data with `reseal`'s answer; a throw rolls all of them back. */
export function resealCredentials(db: Database.Database, reseal: (id: number, sealed: string) => string): number {
  const rows = statement(db, `SELECT id, encrypted_data FROM credentials ORDER BY id`).all() as Array<{ id: number; encrypted_data: string }>;
  const update = statement(db, `UPDATE credentials SET encrypted_data = ? WHERE id = ?`);
  for (const row of rows) update.run(reseal(Number(row.id), row.encrypted_data), row.id);
  return rows.length;
}
