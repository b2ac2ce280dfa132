// Events may now wait for a person (`paused`, email_approval). A paused event is still live: it comes
// back to `pending` when answered, so it must keep holding its dedup key — otherwise a second event
// with the same key could be enqueued meanwhile, and the resume would break the unique index.
import type { Knex } from 'knex';

/** Rebuilds the live-dedup index to count paused events as live. */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX idx_event_queue_dedup_active`);
  await knex.raw(
    `CREATE UNIQUE INDEX idx_event_queue_dedup_active ON event_queue (workflow_id, dedup_key)
     WHERE dedup_key IS NOT NULL AND status IN ('pending', 'processing', 'paused')`,
  );
}

/** Back to the index of 001 (paused events, if any, stop holding their keys). */
export async function down(knex: Knex): Promise<void> {
  await knex.raw(`DROP INDEX idx_event_queue_dedup_active`);
  await knex.raw(
    `CREATE UNIQUE INDEX idx_event_queue_dedup_active ON event_queue (workflow_id, dedup_key)
     WHERE dedup_key IS NOT NULL AND status IN ('pending', 'processing')`,
  );
}
