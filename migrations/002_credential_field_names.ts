// Credentials keep the names of their secret fields beside the sealed data, so listing and reading
// them never needs a decryption (and still works when a value cannot be opened); and a user's
// credentials have distinct names, so a name picks one.
import type { Knex } from 'knex';

/** Adds `credentials.field_names` and the unique (user_id, name) index. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credentials', (t) => {
    t.json('field_names').nullable();
    t.unique(['user_id', 'name'], { indexName: 'idx_credentials_user_name' });
  });
}

/** Drops them again. */
export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('credentials', (t) => {
    t.dropUnique(['user_id', 'name'], 'idx_credentials_user_name');
    t.dropColumn('field_names');
  });
}
