// SQL of users on PostgreSQL: the twin of store/sqlite/user-sql.ts. The password hash is written here and
// never read back into a record.
//
// Names and emails are unique (idx_users_username, idx_users_email). An error aborts a PostgreSQL
// transaction, and the writer's transaction holds other callers' writes too, so a taken name or email
// must be an answer, never a unique violation: the insert is ON CONFLICT DO NOTHING, and when it inserts
// nothing the lookups tell which one was taken.
import type { Knex } from 'knex';
import type { UserRecord, UserStatus } from '../access-store.js';
import { changes, isoOf, rows, type PgRunner, type Row } from './pg-statements.js';

const userColumns = `id, user_name, user_email, user_status, user_password IS NOT NULL AS has_password, created_at, updated_at`;

function toUser(row: Row): UserRecord {
  return {
    id: Number(row.id),
    user_name: row.user_name as string,
    user_email: (row.user_email as string | null) ?? null,
    user_status: row.user_status as string,
    has_password: row.has_password === true,
    created_at: isoOf(row.created_at) ?? '',
    updated_at: isoOf(row.updated_at),
  };
}

async function nameTaken(db: PgRunner, name: string): Promise<boolean> {
  return (await rows(db, `SELECT 1 FROM users WHERE user_name = ?`, [name])).length > 0;
}

async function emailTaken(db: PgRunner, email: string | null): Promise<boolean> {
  return email !== null && (await rows(db, `SELECT 1 FROM users WHERE user_email = ?`, [email])).length > 0;
}

/** Which of name and email another user holds (the name first, as on SQLite), or null when neither. */
async function takenField(db: PgRunner, input: { name: string; email: string | null }): Promise<'name_taken' | 'email_taken' | null> {
  if (await nameTaken(db, input.name)) return 'name_taken';
  if (await emailTaken(db, input.email)) return 'email_taken';
  return null;
}

/** Inserts a user unless the name or email is taken. */
export async function insertUser(
  trx: Knex.Transaction,
  input: { name: string; email: string | null; passwordHash: string | null },
  nowIso: string,
): Promise<UserRecord | 'name_taken' | 'email_taken'> {
  // The check spares a sequence value (ids stay as dense as SQLite's); ON CONFLICT covers another daemon's
  // insert landing after it.
  const taken = await takenField(trx, input);
  if (taken) return taken;
  const inserted = await rows(
    trx,
    `INSERT INTO users (user_name, user_email, user_password, user_status, created_at, updated_at)
     VALUES (?, ?, ?, 'active', ?, ?)
     ON CONFLICT DO NOTHING
     RETURNING ${userColumns}`,
    [input.name, input.email, input.passwordHash, nowIso, nowIso],
  );
  if (inserted[0]) return toUser(inserted[0]);
  // The conflicting row committed before ON CONFLICT gave up, so these lookups (new snapshots) see it;
  // only were it deleted meanwhile would neither match, and then the name, SQLite's first check, answers.
  return (await takenField(trx, input)) ?? 'name_taken';
}

/** Sets a user's status; false when there is no such user. */
export async function updateUserStatus(trx: Knex.Transaction, id: number, status: UserStatus, nowIso: string): Promise<boolean> {
  return (await changes(trx, `UPDATE users SET user_status = ?, updated_at = ? WHERE id = ?`, [status, nowIso, id])) > 0;
}

/** One user by id. */
export async function selectUser(db: PgRunner, id: number): Promise<UserRecord | null> {
  const found = await rows(db, `SELECT ${userColumns} FROM users WHERE id = ?`, [id]);
  return found[0] ? toUser(found[0]) : null;
}

/** One user by name. */
export async function selectUserByName(db: PgRunner, name: string): Promise<UserRecord | null> {
  const found = await rows(db, `SELECT ${userColumns} FROM users WHERE user_name = ?`, [name]);
  return found[0] ? toUser(found[0]) : null;
}

/** Every user, oldest first. */
export async function selectUsers(db: PgRunner): Promise<UserRecord[]> {
  return (await rows(db, `SELECT ${userColumns} FROM users ORDER BY id`)).map(toUser);
}
