// For tooling only (the knex CLI, ad-hoc scripts): the daemon migrates itself on start with the same
// logic as `tav migrate` (src/store/migrate.ts) and takes its database path from src/config.ts.
// Default export and direct process.env read because that is the shape the knex CLI loads.
import type { Knex } from 'knex';
import { migrationSource } from './migrations/index.js';

/** Knex config for the SQLite store, as the knex CLI expects it. */
const config: Knex.Config = {
  client: 'better-sqlite3',
  connection: { filename: process.env.TAV_DB_PATH ?? 'data/tav_engine.db' },
  useNullAsDefault: true,
  migrations: { migrationSource, tableName: 'knex_migrations' },
};

export default config;
