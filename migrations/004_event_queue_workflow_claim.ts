// Per-workflow limits (max_concurrent_runs_per_workflow, max_queue_depth_per_workflow) need, for one
// workflow, its processing count, its pending count and its next pending events in claim order, without
// reading its finished history or the other workflows' events. Status leads so each of those is one
// index range, and so "which workflows have pending events" is a loose index scan.
import type { Knex } from 'knex';

/** Adds the (status, workflow_id, sort_key, id) index the per-workflow claim and depth check read. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('event_queue', (t) => {
    t.index(['status', 'workflow_id', 'sort_key', 'id'], 'idx_event_queue_workflow_claim');
  });
}

/** Drops it again. */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('event_queue', (t) => {
    t.dropIndex(['status', 'workflow_id', 'sort_key', 'id'], 'idx_event_queue_workflow_claim');
  });
}
