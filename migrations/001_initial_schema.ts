// The 14 tables of seed/database-architecture.md plus the columns the queue and engine rely on.
// Runs unchanged on SQLite (better-sqlite3) and PostgreSQL: schema builder only, raw SQL only where the
// statement is valid in both. Longer than our usual file: a migration is frozen history and one file
// keeps it atomic and reviewable as a whole.
import type { Knex } from 'knex';

type Table = Knex.CreateTableBuilder;

const tz = { useTz: true } as const;

/** Table names in creation (foreign-key) order; `down` drops them in reverse. */
export const tableNames = [
  'users',
  'workflows',
  'executions',
  'execution_results',
  'execution_logs',
  'execution_iterations',
  'workflow_state',
  'api_keys',
  'credentials',
  'settings',
  'files',
  'email_interactions',
  'event_queue',
  'audit_logs',
] as const;

/** Creates every table, foreign key and index. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('users', (t) => users(t, knex));
  await knex.schema.createTable('workflows', (t) => workflows(t, knex));
  await knex.schema.createTable('executions', (t) => executions(t));
  await knex.schema.createTable('execution_results', (t) => executionResults(t, knex));
  await knex.schema.createTable('execution_logs', (t) => executionLogs(t, knex));
  await knex.schema.createTable('execution_iterations', (t) => executionIterations(t));
  await knex.schema.createTable('workflow_state', (t) => workflowState(t, knex));
  await knex.schema.createTable('api_keys', (t) => apiKeys(t, knex));
  await knex.schema.createTable('credentials', (t) => credentials(t, knex));
  await knex.schema.createTable('settings', (t) => settings(t));
  await knex.schema.createTable('files', (t) => files(t, knex));
  await knex.schema.createTable('email_interactions', (t) => emailInteractions(t, knex));
  await knex.schema.createTable('event_queue', (t) => eventQueue(t, knex));
  await knex.schema.createTable('audit_logs', (t) => auditLogs(t, knex));
  // At most one live event per (workflow, dedup key); a finished one no longer blocks a new enqueue.
  // Partial indexes are the same SQL in SQLite and PostgreSQL, the schema builder cannot express it portably.
  await knex.raw(
    `CREATE UNIQUE INDEX idx_event_queue_dedup_active ON event_queue (workflow_id, dedup_key)
     WHERE dedup_key IS NOT NULL AND status IN ('pending', 'processing')`,
  );
}

/** Drops every table, children before parents. */
export async function down(knex: Knex): Promise<void> {
  for (const name of [...tableNames].reverse()) {
    await knex.schema.dropTableIfExists(name);
  }
}

// created_at defaults to now so a row is never undated; the app still writes ISO-8601 itself, because
// SQLite's CURRENT_TIMESTAMP text ('YYYY-MM-DD HH:MM:SS') would not sort with ISO strings.
function createdAt(t: Table, knex: Knex): void {
  t.timestamp('created_at', tz).notNullable().defaultTo(knex.fn.now());
}

function workflowFk(t: Table, onDelete: 'CASCADE' | 'SET NULL', nullable = false): void {
  const column = t.string('workflow_id', 36);
  if (!nullable) column.notNullable();
  t.foreign('workflow_id').references('id').inTable('workflows').onDelete(onDelete);
}

function executionFk(t: Table, onDelete: 'CASCADE' | 'SET NULL', nullable = false): void {
  const column = t.string('execution_id', 36);
  if (!nullable) column.notNullable();
  t.foreign('execution_id').references('id').inTable('executions').onDelete(onDelete);
}

function users(t: Table, knex: Knex): void {
  t.increments('id');
  t.string('user_name', 255).notNullable();
  t.string('user_email', 255).nullable();
  t.string('user_password', 255).nullable();
  t.string('user_firstname', 255).nullable();
  t.string('user_lastname', 255).nullable();
  t.string('user_status', 16).notNullable().defaultTo('active');
  createdAt(t, knex);
  t.timestamp('updated_at', tz).nullable();
  t.unique(['user_name'], { indexName: 'idx_users_username' });
  t.unique(['user_email'], { indexName: 'idx_users_email' });
}

function workflows(t: Table, knex: Knex): void {
  t.string('id', 36).primary();
  t.string('name', 255).notNullable();
  t.text('description').nullable();
  t.string('version', 32).notNullable().defaultTo('1.0.0');
  t.json('workflow_data').notNullable();
  t.json('tags').nullable();
  t.integer('author_id').unsigned().nullable();
  t.json('execution_config').nullable();
  t.string('status', 16).notNullable().defaultTo('na');
  // No FK: executions already reference workflows, a second edge back would make a cycle.
  t.string('last_execution_id', 36).nullable();
  t.boolean('is_active').notNullable().defaultTo(false);
  t.boolean('is_template').notNullable().defaultTo(false);
  t.string('template_category', 64).nullable();
  t.string('recommended_await_completion', 32).nullable();
  t.timestamp('monitoring_started_at', tz).nullable();
  t.timestamp('monitoring_stopped_at', tz).nullable();
  createdAt(t, knex);
  t.timestamp('updated_at', tz).nullable();
  t.timestamp('last_run_at', tz).nullable();
  t.foreign('author_id').references('id').inTable('users').onDelete('SET NULL');
  t.index(['name'], 'idx_workflows_name');
  t.index(['status'], 'idx_workflows_status');
  t.index(['author_id'], 'idx_workflows_author_id');
  t.index(['created_at'], 'idx_workflows_created_at');
  t.index(['last_run_at'], 'idx_workflows_last_run_at');
  t.index(['template_category'], 'idx_workflows_template_category');
}

function executions(t: Table): void {
  t.string('id', 36).primary();
  workflowFk(t, 'CASCADE');
  t.string('status', 16).notNullable().defaultTo('pending');
  t.string('started_by', 128).nullable();
  t.string('execution_source', 32).nullable();
  t.string('execution_mode', 16).nullable();
  t.json('trigger_data').nullable();
  t.json('final_outputs').nullable();
  t.json('node_results').nullable();
  t.json('execution_log').nullable();
  t.json('execution_metadata').nullable();
  t.text('error_message').nullable();
  // No FK: event_queue.execution_id already points here; the event may be purged first.
  t.bigInteger('event_id').nullable();
  t.timestamp('started_at', tz).nullable();
  t.timestamp('completed_at', tz).nullable();
  t.timestamp('cancelled_at', tz).nullable();
  t.timestamp('updated_at', tz).nullable();
  t.index(['workflow_id'], 'idx_executions_workflow_id');
  t.index(['status'], 'idx_executions_status');
  t.index(['started_at'], 'idx_executions_started_at');
  t.index(['workflow_id', 'started_at'], 'idx_executions_workflow_started_at');
}

function executionResults(t: Table, knex: Knex): void {
  t.bigIncrements('id');
  executionFk(t, 'CASCADE');
  t.string('node_id', 128).notNullable();
  t.string('port_name', 128).nullable();
  t.string('data_type', 32).nullable();
  t.text('content').nullable();
  t.string('file_path', 1024).nullable();
  t.text('content_projection').nullable();
  t.integer('byte_size').nullable();
  createdAt(t, knex);
  t.index(['execution_id'], 'idx_execution_results_execution_id');
  t.index(['node_id'], 'idx_execution_results_node_id');
}

function executionLogs(t: Table, knex: Knex): void {
  t.bigIncrements('id');
  executionFk(t, 'CASCADE');
  t.string('node_id', 128).nullable();
  t.string('level', 16).notNullable();
  t.string('event', 64).notNullable();
  t.text('message').nullable();
  t.json('data').nullable();
  t.integer('attempt').nullable();
  t.integer('duration_ms').nullable();
  createdAt(t, knex);
  t.index(['execution_id'], 'idx_execution_logs_execution_id');
  t.index(['created_at'], 'idx_execution_logs_created_at');
}

function executionIterations(t: Table): void {
  t.bigIncrements('id');
  executionFk(t, 'CASCADE');
  t.string('loop_node_id', 128).notNullable();
  t.integer('iteration_number').notNullable();
  t.json('iteration_value').nullable();
  t.integer('iteration_index').nullable();
  t.string('status', 16).notNullable().defaultTo('pending');
  t.timestamp('started_at', tz).nullable();
  t.timestamp('completed_at', tz).nullable();
  t.json('outputs').nullable();
  t.text('error_message').nullable();
  // Also serves the FK: PostgreSQL does not index referencing columns, and cascades scan them.
  t.index(['execution_id', 'loop_node_id', 'iteration_number'], 'idx_execution_iterations_loop');
}

function workflowState(t: Table, knex: Knex): void {
  t.bigIncrements('id');
  workflowFk(t, 'CASCADE');
  t.string('namespace', 128).notNullable().defaultTo('default');
  t.string('state_key', 255).notNullable();
  t.json('state_value').nullable();
  t.string('value_type', 16).nullable();
  t.text('description').nullable();
  createdAt(t, knex);
  t.timestamp('updated_at', tz).nullable();
  t.timestamp('accessed_at', tz).nullable();
  t.integer('access_count').notNullable().defaultTo(0);
  t.integer('ttl_seconds').nullable();
  t.timestamp('expires_at', tz).nullable();
  // Optimistic concurrency: an update names the version it read.
  t.integer('version').notNullable().defaultTo(1);
  t.unique(['workflow_id', 'namespace', 'state_key'], { indexName: 'idx_workflow_state_workflow_key' });
  t.index(['expires_at'], 'idx_workflow_state_expires_at');
}

function apiKeys(t: Table, knex: Knex): void {
  t.increments('id');
  t.integer('user_id').unsigned().notNullable();
  t.string('name', 255).notNullable();
  t.string('key_prefix', 16).notNullable();
  t.string('key_hash', 128).notNullable();
  t.json('scopes').notNullable();
  createdAt(t, knex);
  t.timestamp('expires_at', tz).nullable();
  t.timestamp('last_used_at', tz).nullable();
  t.timestamp('revoked_at', tz).nullable();
  t.boolean('is_active').notNullable().defaultTo(true);
  t.foreign('user_id').references('id').inTable('users').onDelete('CASCADE');
  t.unique(['key_hash'], { indexName: 'idx_api_keys_key_hash' });
  t.index(['user_id'], 'idx_api_keys_user_id');
}

function credentials(t: Table, knex: Knex): void {
  t.increments('id');
  t.integer('user_id').unsigned().notNullable();
  t.string('name', 255).notNullable();
  t.string('credential_type', 64).notNullable();
  t.text('encrypted_data').notNullable();
  t.text('description').nullable();
  createdAt(t, knex);
  t.timestamp('updated_at', tz).nullable();
  t.timestamp('last_used_at', tz).nullable();
  t.foreign('user_id').references('id').inTable('users').onDelete('CASCADE');
  t.index(['user_id'], 'idx_credentials_user_id');
}

function settings(t: Table): void {
  t.increments('id');
  t.string('category', 64).notNullable();
  t.string('key', 128).notNullable();
  t.json('value').nullable();
  t.timestamp('updated_at', tz).nullable();
  t.string('updated_by', 128).nullable();
  t.unique(['category', 'key'], { indexName: 'idx_settings_category_key' });
}

function files(t: Table, knex: Knex): void {
  t.increments('id');
  workflowFk(t, 'SET NULL', true);
  executionFk(t, 'SET NULL', true);
  t.string('original_filename', 512).notNullable();
  t.string('stored_filename', 255).notNullable();
  t.string('file_path', 1024).notNullable();
  t.string('file_type', 32).nullable();
  t.string('mime_type', 255).nullable();
  t.bigInteger('size_bytes').nullable();
  t.json('file_metadata').nullable();
  createdAt(t, knex);
  t.index(['workflow_id'], 'idx_files_workflow_id');
  t.index(['execution_id'], 'idx_files_execution_id');
  t.index(['created_at'], 'idx_files_created_at');
}

function emailInteractions(t: Table, knex: Knex): void {
  t.bigIncrements('id');
  t.string('interaction_id', 64).notNullable();
  workflowFk(t, 'CASCADE');
  executionFk(t, 'CASCADE', true);
  t.string('node_id', 128).nullable();
  t.string('interaction_type', 32).notNullable().defaultTo('approval');
  t.json('email_data').nullable();
  t.string('status', 16).notNullable().defaultTo('pending');
  t.json('response_data').nullable();
  // Only a hash of the link token is stored, so a leaked database cannot answer an approval.
  t.string('token_hash', 128).nullable();
  createdAt(t, knex);
  t.timestamp('responded_at', tz).nullable();
  t.timestamp('expires_at', tz).nullable();
  t.unique(['interaction_id'], { indexName: 'idx_email_interactions_interaction_id' });
  t.index(['workflow_id'], 'idx_email_interactions_workflow_id');
  t.index(['execution_id'], 'idx_email_interactions_execution_id');
  t.index(['status', 'expires_at'], 'idx_email_interactions_status_expires_at');
}

function eventQueue(t: Table, knex: Knex): void {
  t.bigIncrements('id');
  workflowFk(t, 'CASCADE');
  t.string('event_type', 64).notNullable();
  t.json('event_data').nullable();
  t.string('source', 32).notNullable().defaultTo('api');
  t.integer('priority').notNullable().defaultTo(3);
  t.string('status', 16).notNullable().defaultTo('pending');
  // Epoch milliseconds, not timestamps: the claim query compares and orders them as plain integers.
  t.bigInteger('run_at').notNullable();
  t.bigInteger('sort_key').notNullable();
  t.string('lease_owner', 128).nullable();
  t.string('lease_token', 64).nullable();
  t.bigInteger('lease_expires_at').nullable();
  t.integer('attempts').notNullable().defaultTo(0);
  t.integer('max_attempts').notNullable().defaultTo(3);
  t.string('dedup_key', 255).nullable();
  executionFk(t, 'SET NULL', true);
  t.text('error_message').nullable();
  createdAt(t, knex);
  t.timestamp('processed_at', tz).nullable();
  t.timestamp('finished_at', tz).nullable();
  t.timestamp('updated_at', tz).nullable();
  t.index(['workflow_id', 'priority', 'status'], 'idx_event_queue_workflow_priority');
  t.index(['created_at'], 'idx_event_queue_created_at');
  t.index(['status', 'sort_key', 'id'], 'idx_event_queue_claim');
  t.index(['execution_id'], 'idx_event_queue_execution_id');
}

function auditLogs(t: Table, knex: Knex): void {
  t.bigIncrements('id');
  // No FKs: the audit trail must outlive the users and keys it mentions.
  t.integer('user_id').nullable();
  t.integer('api_key_id').nullable();
  t.string('action', 64).notNullable();
  t.string('resource_type', 64).nullable();
  t.string('resource_id', 128).nullable();
  t.string('ip_address', 64).nullable();
  t.string('user_agent', 512).nullable();
  t.integer('status_code').nullable();
  t.text('error_message').nullable();
  t.json('details').nullable();
  t.string('request_id', 64).nullable();
  createdAt(t, knex);
  t.index(['created_at'], 'idx_audit_logs_created_at');
  t.index(['user_id'], 'idx_audit_logs_user_id');
  t.index(['resource_type', 'resource_id'], 'idx_audit_logs_resource');
}
