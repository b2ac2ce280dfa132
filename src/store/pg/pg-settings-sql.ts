// SQL of the settings table on PostgreSQL: the twin of the settings half of store/sqlite/api-key-sql.ts
// and of store/sqlite/settings-sql.ts. A change writes the new values and their audit record in one
// transaction.
//
// On SQLite one writer serialises changes; here daemons share the table, so a change holds a
// transaction-scoped advisory lock while it reads the old values and writes the new: otherwise two
// daemons could both read the same old value, and one would skip a key it thinks unchanged, or both
// audit the same "old".
import { isDeepStrictEqual } from 'node:util';
import type { Knex } from 'knex';
import type { Json } from '../../../workers/node-contract.js';
import type { Actor, SettingChange } from '../access-store.js';
import { settingsChangeAudit } from '../settings-audit.js';
import { insertAuditLog } from './pg-audit-sql.js';
import { advisoryLockKey } from './pg-coordination-sql.js';
import { rows, type PgRunner } from './pg-statements.js';

const settingsLockKey = advisoryLockKey('tav:settings');

/** The settings table as category → key → value. */
export async function selectSettings(db: PgRunner): Promise<Record<string, Record<string, Json>>> {
  const settings: Record<string, Record<string, Json>> = {};
  // In id order, as SQLite's rowid order gives them (an upsert keeps its row's id on both).
  for (const row of await rows(db, `SELECT category, key, value FROM settings ORDER BY id`)) {
    // A json column: pg hands it back parsed.
    (settings[row.category as string] ??= {})[row.key as string] = (row.value ?? null) as Json;
  }
  return settings;
}

async function selectCategory(trx: Knex.Transaction, category: string): Promise<Map<string, Json>> {
  const current = new Map<string, Json>();
  for (const row of await rows(trx, `SELECT key, value FROM settings WHERE category = ?`, [category])) {
    current.set(row.key as string, (row.value ?? null) as Json);
  }
  return current;
}

/** Writes `values` into `category`; keys whose value is unchanged are skipped. Returns what changed. */
export async function updateSettings(trx: Knex.Transaction, category: string, values: Record<string, Json>, actor: Actor, nowIso: string): Promise<SettingChange[]> {
  await rows(trx, `SELECT pg_advisory_xact_lock(?::bigint)`, [settingsLockKey]);
  const current = await selectCategory(trx, category);
  const updatedBy = `user:${actor.userId ?? '-'} key:${actor.apiKeyId ?? '-'}`;
  const changes: SettingChange[] = [];
  for (const [key, value] of Object.entries(values)) {
    const old = current.has(key) ? current.get(key)! : null;
    if (isDeepStrictEqual(old, value)) continue;
    await rows(
      trx,
      `INSERT INTO settings (category, key, value, updated_at, updated_by) VALUES (?, ?, ?::json, ?, ?)
       ON CONFLICT (category, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      [category, key, JSON.stringify(value), nowIso, updatedBy],
    );
    changes.push({ key, old, new: value });
  }
  if (changes.length > 0) {
    await insertAuditLog(trx, settingsChangeAudit(category, changes, actor), nowIso);
  }
  return changes;
}
