// An event that was `processing` when its daemon died is returned to the queue on the next start with
// its attempt given back (an operator's kill -9 should not cost work its retries). Counting those
// rescues bounds the refund: an event whose run takes the whole process down every time would
// otherwise crash-loop the daemon for ever.
import type { Knex } from 'knex';

/** Adds event_queue.rescues: how many times a start found this event orphaned. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('event_queue', (t) => {
    t.integer('rescues').notNullable().defaultTo(0);
  });
}

/** Drops it again. */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('event_queue', (t) => {
    t.dropColumn('rescues');
  });
}
