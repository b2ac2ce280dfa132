// Migrations as a static, ordered list: no directory scanning, so the same list works from ts sources,
// from compiled dist/, and for both dialects. Append new migrations at the end; never reorder or rename.
import type { Knex } from 'knex';
import * as initialSchema from './001_initial_schema.js';
import * as credentialFieldNames from './002_credential_field_names.js';
import * as pausedEvents from './003_paused_events.js';
import * as eventQueueWorkflowClaim from './004_event_queue_workflow_claim.js';
import * as eventQueueRescues from './005_event_queue_rescues.js';
import * as workflowQueueDepth from './006_workflow_queue_depth.js';

/** A migration module with the name recorded for it in knex_migrations. */
export interface NamedMigration {
  name: string;
  migration: Knex.Migration;
}

/** Every migration, oldest first. */
export const migrations: readonly NamedMigration[] = [
  { name: '001_initial_schema', migration: initialSchema },
  { name: '002_credential_field_names', migration: credentialFieldNames },
  { name: '003_paused_events', migration: pausedEvents },
  { name: '004_event_queue_workflow_claim', migration: eventQueueWorkflowClaim },
  { name: '005_event_queue_rescues', migration: eventQueueRescues },
  { name: '006_workflow_queue_depth', migration: workflowQueueDepth },
];

/** The knex migration source over `migrations`, for knex.migrate and the knex CLI. */
export const migrationSource: Knex.MigrationSource<NamedMigration> = {
  async getMigrations() {
    return [...migrations];
  },
  getMigrationName(spec) {
    return spec.name;
  },
  async getMigration(spec) {
    return spec.migration;
  },
};
