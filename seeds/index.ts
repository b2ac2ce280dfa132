// Start-up seeds: the system user, every default setting and the example workflow templates.
// Idempotent, so it runs on every start; it only fills what is missing and never overwrites a value
// an operator changed.
import type { Knex } from 'knex';
import { settingsCatalog } from '../src/domain/settings-catalog.js';
import { seedWorkflowTemplates } from './workflow-templates.js';

/** Id of the user that owns internal operations and dev-mode requests. */
export const systemUserId = 1;

/** Inserts the system user, any missing catalog setting and any missing example template. */
export async function runSeeds(knex: Knex): Promise<void> {
  const now = new Date().toISOString();
  await seedSystemUser(knex, now);
  await seedSettings(knex, now);
  await seedWorkflowTemplates(knex, now, systemUserId);
}

async function seedSystemUser(knex: Knex, now: string): Promise<void> {
  await knex('users')
    .insert({ id: systemUserId, user_name: 'system', user_status: 'active', created_at: now, updated_at: now })
    .onConflict(['id'])
    .ignore();
  // PostgreSQL's serial sequence does not see an explicit id; without this the next user insert
  // would draw id 1 again and fail. SQLite's AUTOINCREMENT already follows MAX(rowid).
  if (knex.client.config.client === 'pg') {
    await knex.raw(
      "SELECT setval(pg_get_serial_sequence('users', 'id'), GREATEST((SELECT MAX(id) FROM users), 1))",
    );
  }
}

async function seedSettings(knex: Knex, now: string): Promise<void> {
  const rows = settingsCatalog.map((s) => ({
    category: s.category,
    key: s.key,
    value: JSON.stringify(s.default),
    updated_at: now,
    updated_by: 'system',
  }));
  if (rows.length === 0) return;
  await knex('settings').insert(rows).onConflict(['category', 'key']).ignore();
}
