// SQL of a settings change: the new values and their audit record, written in one transaction.
import { isDeepStrictEqual } from 'node:util';
import type Database from 'better-sqlite3';
import type { Json } from '../../../workers/node-contract.js';
import type { Actor, SettingChange } from '../access-store.js';
import { settingsChangeAudit } from '../settings-audit.js';
import { insertAuditLog } from './audit-sql.js';
import { statement } from './connection.js';
import { fromJsonColumn } from './json-columns.js';

/** Writes `values` into `category`; keys whose value is unchanged are skipped. Returns what changed. */
export function updateSettings(db: Database.Database, category: string, values: Record<string, Json>, actor: Actor, nowIso: string): SettingChange[] {
  const current = new Map<string, Json>();
  for (const row of statement(db, `SELECT key, value FROM settings WHERE category = ?`).all(category) as Array<Record<string, string>>) {
    current.set(row.key!, fromJsonColumn(row.value, null));
  }
  const updatedBy = `user:${actor.userId ?? '-'} key:${actor.apiKeyId ?? '-'}`;
  const changes: SettingChange[] = [];
  for (const [key, value] of Object.entries(values)) {
    const old = current.has(key) ? current.get(key)! : null;
    if (isDeepStrictEqual(old, value)) continue;
    statement(
      db,
      `INSERT INTO settings (category, key, value, updated_at, updated_by) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (category, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
    ).run(category, key, JSON.stringify(value), nowIso, updatedBy);
    changes.push({ key, old, new: value });
  }
  if (changes.length > 0) {
    insertAuditLog(db, settingsChangeAudit(category, changes, actor), nowIso);
  }
  return changes;
}
