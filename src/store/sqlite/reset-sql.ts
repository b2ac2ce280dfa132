// `tav reset`: every row of every table goes, except the settings, the schema's own bookkeeping and
// the system user (id 1), which owns internal work. Run inside one writer transaction.
import type Database from 'better-sqlite3';
import { quoteIdentifier, selectTableNames } from './inspection-sql.js';

/** Tables whose rows reset keeps (users keeps only the system user). */
const keptTables = new Set(['settings', 'knex_migrations', 'knex_migrations_lock']);

/** Deletes all data but the settings and the system user; returns the rows removed per table. */
export function deleteAllData(db: Database.Database, systemUserId: number): Record<string, number> {
  // Checked at commit instead of per statement, so the tables can be emptied in any order.
  db.pragma('defer_foreign_keys = ON');
  const removed: Record<string, number> = {};
  for (const table of selectTableNames(db)) {
    if (keptTables.has(table)) continue;
    const sql = table === 'users' ? `DELETE FROM users WHERE id != ?` : `DELETE FROM ${quoteIdentifier(table)}`;
    removed[table] = (table === 'users' ? db.prepare(sql).run(systemUserId) : db.prepare(sql).run()).changes;
  }
  return removed;
}
