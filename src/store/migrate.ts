// Schema lifecycle for both dialects: the daemon calls migrateToLatest on start (`tav migrate` does the
// same), so a fresh data folder or a fresh PostgreSQL schema is usable without a separate step.
import type { Knex } from 'knex';
import { migrationSource } from '../../migrations/index.js';
import { runSeeds } from '../../seeds/index.js';

/** Where applied migrations are recorded, and how they are found. */
const migratorConfig: Knex.MigratorConfig = { migrationSource, tableName: 'knex_migrations' };

/** Applied and pending migrations by name; `current` is the newest applied one. */
export interface MigrationStatus {
  current: string | null;
  applied: string[];
  pending: string[];
}

/** Applies every pending migration, then the idempotent seeds; returns the names just applied. */
export async function migrateToLatest(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest(migratorConfig)) as [number, string[]];
  await runSeeds(knex);
  return applied;
}

/** Which migrations are applied and which are pending. Creates the empty knex_migrations table if missing. */
export async function migrationStatus(knex: Knex): Promise<MigrationStatus> {
  const [completed, pending] = (await knex.migrate.list(migratorConfig)) as [
    Array<{ name: string }>,
    Array<Parameters<typeof migrationSource.getMigrationName>[0]>,
  ];
  const applied = completed.map((row) => row.name);
  return {
    current: applied.at(-1) ?? null,
    applied,
    pending: pending.map((spec) => migrationSource.getMigrationName(spec)),
  };
}

/** Rolls back the last batch of migrations; returns the names rolled back. */
export async function rollbackLast(knex: Knex): Promise<string[]> {
  const [, rolledBack] = (await knex.migrate.rollback(migratorConfig)) as [number, string[]];
  return rolledBack;
}

/** True when no migration is pending. */
export async function isSchemaCurrent(knex: Knex): Promise<boolean> {
  const status = await migrationStatus(knex);
  return status.pending.length === 0;
}
