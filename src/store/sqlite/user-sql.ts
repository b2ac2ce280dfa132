// SQL of users. The password hash is written here and never read back into a record.
import type Database from 'better-sqlite3';
import type { UserRecord, UserStatus } from '../access-store.js';
import { statement } from './connection.js';

const userColumns = `id, user_name, user_email, user_status, user_password IS NOT NULL AS has_password, created_at, updated_at`;

function toUser(row: Record<string, unknown>): UserRecord {
  return {
    id: Number(row.id),
    user_name: row.user_name as string,
    user_email: (row.user_email as string | null) ?? null,
    user_status: row.user_status as string,
    has_password: Number(row.has_password) === 1,
    created_at: row.created_at as string,
    updated_at: (row.updated_at as string | null) ?? null,
  };
}

/** Inserts a user unless the name or email is taken (checked in the same transaction as the insert). */
export function insertUser(
  db: Database.Database,
  input: { name: string; email: string | null; passwordHash: string | null },
  nowIso: string,
): UserRecord | 'name_taken' | 'email_taken' {
  if (statement(db, `SELECT 1 FROM users WHERE user_name = ?`).get(input.name)) return 'name_taken';
  if (input.email !== null && statement(db, `SELECT 1 FROM users WHERE user_email = ?`).get(input.email)) return 'email_taken';
  const row = statement(
    db,
    `INSERT INTO users (user_name, user_email, user_password, user_status, created_at, updated_at)
     VALUES (?, ?, ?, 'active', ?, ?) RETURNING ${userColumns}`,
  ).get(input.name, input.email, input.passwordHash, nowIso, nowIso) as Record<string, unknown>;
  return toUser(row);
}

/** Sets a user's status; false when there is no such user. */
export function updateUserStatus(db: Database.Database, id: number, status: UserStatus, nowIso: string): boolean {
  return statement(db, `UPDATE users SET user_status = ?, updated_at = ? WHERE id = ?`).run(status, nowIso, id).changes > 0;
}

/** One user by id. */
export function selectUser(db: Database.Database, id: number): UserRecord | null {
  const row = statement(db, `SELECT ${userColumns} FROM users WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
  return row ? toUser(row) : null;
}

/** One user by name. */
export function selectUserByName(db: Database.Database, name: string): UserRecord | null {
  const row = statement(db, `SELECT ${userColumns} FROM users WHERE user_name = ?`).get(name) as Record<string, unknown> | undefined;
  return row ? toUser(row) : null;
}

/** Every user, oldest first. */
export function selectUsers(db: Database.Database): UserRecord[] {
  return (statement(db, `SELECT ${userColumns} FROM users ORDER BY id`).all() as Array<Record<string, unknown>>).map(toUser);
}
