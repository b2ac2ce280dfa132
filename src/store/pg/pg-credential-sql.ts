// SQL of credentials on PostgreSQL: the twin of store/sqlite/credential-sql.ts. Only sealed text reaches
// these functions; a seal callback runs inside the write transaction when it needs the row id.
//
// Names are unique per user (idx_credentials_user_name). An error aborts a PostgreSQL transaction, and
// the writer's transaction holds other callers' writes too, so a taken name must be an answer, never a
// unique violation: a create inserts with ON CONFLICT DO NOTHING, and a rename checks for the name
// under a transaction-scoped advisory lock on (user, name) that every create of that name takes as
// well — so no other daemon can slip the name in between the check and the update.
import type { Knex } from 'knex';
import { sealedKeyId } from '../../auth/secret-box.js';
import type { CredentialChanges, CredentialInput, CredentialRecord, SealedCredential } from '../credential-store.js';
import { changes, isoOf, jsonText, rows, type PgRunner, type Row } from './pg-statements.js';

const metadataColumns = `id, user_id, name, credential_type, description, field_names, encrypted_data, created_at, updated_at, last_used_at`;

function toCredential(row: Row): CredentialRecord {
  return {
    id: Number(row.id),
    user_id: Number(row.user_id),
    name: row.name as string,
    credential_type: row.credential_type as string,
    description: (row.description as string | null) ?? null,
    // A json column: pg hands it back parsed.
    field_names: (row.field_names as string[] | null) ?? [],
    // Read from the sealed text's header; the value itself is never decrypted for a read.
    key_id: sealedKeyId(row.encrypted_data as string),
    created_at: isoOf(row.created_at) ?? '',
    updated_at: isoOf(row.updated_at),
    last_used_at: isoOf(row.last_used_at),
  };
}

/**
 * Serialises, across daemons, every transaction giving a credential of `userId` the name `name`; held to
 * commit. The two-int key form is a key space of its own, apart from the queue's bigint claim locks.
 */
async function lockName(trx: Knex.Transaction, userId: number, name: string): Promise<void> {
  await rows(trx, `SELECT pg_advisory_xact_lock(?::int, hashtext(?))`, [userId, `credential-name:${name}`]);
}

/** True when another credential of the same user has this name. */
async function nameTaken(db: PgRunner, userId: number, name: string, exceptId: number): Promise<boolean> {
  return (await rows(db, `SELECT 1 FROM credentials WHERE user_id = ? AND name = ? AND id <> ?`, [userId, name, exceptId])).length > 0;
}

/** Puts a credential's sealed data in place. */
async function storeSealed(db: PgRunner, id: number, sealed: string): Promise<void> {
  await changes(db, `UPDATE credentials SET encrypted_data = ? WHERE id = ?`, [sealed, id]);
}

/** Inserts a credential, then seals its data for the id it got; 'name_taken' when the user has one of that name. */
export async function insertCredential(trx: Knex.Transaction, input: CredentialInput, seal: (id: number) => string, nowIso: string): Promise<CredentialRecord | 'name_taken'> {
  await lockName(trx, input.userId, input.name);
  // The check spares a sequence value when the name is taken; ON CONFLICT keeps the insert from ever raising.
  if (await nameTaken(trx, input.userId, input.name, 0)) return 'name_taken';
  const inserted = await rows(
    trx,
    `INSERT INTO credentials (user_id, name, credential_type, encrypted_data, description, field_names, created_at, updated_at)
     VALUES (?, ?, ?, '', ?, ?::json, ?, ?)
     ON CONFLICT (user_id, name) DO NOTHING
     RETURNING id`,
    [input.userId, input.name, input.credentialType, input.description, jsonText(input.fieldNames), nowIso, nowIso],
  );
  if (!inserted[0]) return 'name_taken';
  const id = Number(inserted[0].id);
  await storeSealed(trx, id, seal(id));
  return (await selectCredential(trx, id))!;
}

/** Applies the given changes; a new seal replaces the data whole. */
export async function updateCredential(
  trx: Knex.Transaction,
  id: number,
  edits: CredentialChanges,
  seal: ((id: number) => string) | null,
  nowIso: string,
): Promise<CredentialRecord | 'missing' | 'name_taken'> {
  // Locked, so a concurrent update on another daemon cannot be overwritten with stale values.
  const found = await rows(trx, `SELECT ${metadataColumns} FROM credentials WHERE id = ? FOR UPDATE`, [id]);
  if (!found[0]) return 'missing';
  const current = toCredential(found[0]);
  if (edits.name !== undefined) {
    await lockName(trx, current.user_id, edits.name);
    if (await nameTaken(trx, current.user_id, edits.name, id)) return 'name_taken';
  }
  await changes(
    trx,
    `UPDATE credentials SET name = ?, credential_type = ?, description = ?, field_names = ?::json, updated_at = ? WHERE id = ?`,
    [
      edits.name ?? current.name,
      edits.credentialType ?? current.credential_type,
      edits.description !== undefined ? edits.description : current.description,
      jsonText(edits.fieldNames ?? current.field_names),
      nowIso,
      id,
    ],
  );
  if (seal) await storeSealed(trx, id, seal(id));
  return (await selectCredential(trx, id))!;
}

/** Deletes a credential; false when there was none. */
export async function deleteCredential(db: PgRunner, id: number): Promise<boolean> {
  return (await changes(db, `DELETE FROM credentials WHERE id = ?`, [id])) > 0;
}

/** One credential's metadata. */
export async function selectCredential(db: PgRunner, id: number): Promise<CredentialRecord | null> {
  const found = await rows(db, `SELECT ${metadataColumns} FROM credentials WHERE id = ?`, [id]);
  return found[0] ? toCredential(found[0]) : null;
}

/** A page of credentials' metadata, newest first. */
export async function selectCredentials(db: PgRunner, limit: number, offset: number): Promise<CredentialRecord[]> {
  return (await rows(db, `SELECT ${metadataColumns} FROM credentials ORDER BY id DESC LIMIT ? OFFSET ?`, [limit, offset])).map(toCredential);
}

/** How many credentials exist. */
export async function countCredentials(db: PgRunner): Promise<number> {
  // COUNT(*) is a bigint, which pg hands back as text.
  return Number((await rows(db, `SELECT COUNT(*) AS n FROM credentials`))[0]!.n);
}

/** The sealed data of one credential, for the vault to open. */
export async function selectSealedCredential(db: PgRunner, id: number): Promise<SealedCredential | null> {
  const found = await rows(db, `SELECT id, encrypted_data FROM credentials WHERE id = ?`, [id]);
  return found[0] ? { id: Number(found[0].id), encrypted_data: found[0].encrypted_data as string } : null;
}

/** How many credentials are sealed under each key id (null: text that is not a sealed value). */
export async function countCredentialsByKey(db: PgRunner): Promise<Map<string | null, number>> {
  const counts = new Map<string | null, number>();
  for (const row of await rows(db, `SELECT encrypted_data FROM credentials`)) {
    const keyId = sealedKeyId(row.encrypted_data as string);
    counts.set(keyId, (counts.get(keyId) ?? 0) + 1);
  }
  return counts;
}

/** Notes when a credential was last used by a node. */
export async function touchCredential(db: PgRunner, id: number, nowIso: string): Promise<void> {
  await changes(db, `UPDATE credentials SET last_used_at = ? WHERE id = ?`, [nowIso, id]);
}

/** Replaces every credential's sealed data with `reseal`'s answer; a throw rolls all of them back. */
export async function resealCredentials(trx: Knex.Transaction, reseal: (id: number, sealed: string) => string): Promise<number> {
  // Locked, so a credential re-sealed on another daemon meanwhile is not overwritten with old data.
  const all = await rows(trx, `SELECT id, encrypted_data FROM credentials ORDER BY id FOR UPDATE`);
  for (const row of all) await storeSealed(trx, Number(row.id), reseal(Number(row.id), row.encrypted_data as string));
  return all.length;
}
