// The initial schema, seeds and migration lifecycle, run against both stores: a temp SQLite file and a
// fresh PostgreSQL schema. A failing run leaves its database behind for inspection.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import { isSchemaCurrent, migrateToLatest, migrationStatus, rollbackLast } from '../../src/store/migrate.js';
import { runSeeds } from '../../seeds/index.js';
import { settingsCatalog } from '../../src/domain/settings-catalog.js';
import { migrations } from '../../migrations/index.js';

const migrationNames = migrations.map((migration) => migration.name);

const pgUrl = process.env.TAV_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const allTables = [
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
];

const keyColumns: Record<string, string[]> = {
  workflows: ['id', 'workflow_data', 'author_id', 'last_execution_id', 'is_template', 'last_run_at'],
  executions: ['id', 'workflow_id', 'status', 'error_message', 'event_id', 'updated_at'],
  execution_results: ['content', 'file_path', 'content_projection', 'byte_size', 'data_type'],
  execution_logs: ['execution_id', 'node_id', 'level', 'event', 'data', 'attempt', 'duration_ms'],
  workflow_state: ['workflow_id', 'namespace', 'state_key', 'state_value', 'version', 'expires_at'],
  api_keys: ['user_id', 'key_prefix', 'key_hash', 'scopes', 'revoked_at', 'is_active'],
  credentials: ['user_id', 'name', 'credential_type', 'encrypted_data', 'field_names', 'last_used_at'],
  settings: ['category', 'key', 'value', 'updated_by'],
  email_interactions: ['interaction_id', 'token_hash', 'expires_at'],
  event_queue: ['source', 'run_at', 'sort_key', 'lease_owner', 'lease_token', 'lease_expires_at', 'max_attempts', 'dedup_key', 'execution_id', 'finished_at'],
  audit_logs: ['user_id', 'api_key_id', 'action', 'resource_type', 'resource_id', 'request_id', 'details'],
};

/** One store under test: how to open it and how to throw it away. */
interface StoreFixture {
  open(): Promise<Knex>;
  dispose(keep: boolean): Promise<void>;
}

function sqliteFixture(): StoreFixture {
  let dir = '';
  return {
    async open() {
      dir = await mkdtemp(path.join(tmpdir(), 'tav-migrations-'));
      return knexFactory({
        client: 'better-sqlite3',
        connection: { filename: path.join(dir, 'tav_engine.db') },
        useNullAsDefault: true,
        // The store turns FK enforcement on per connection; do the same so the cascades are exercised.
        pool: { afterCreate: (conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) => {
          conn.pragma('foreign_keys = ON');
          done(null, conn);
        } },
      });
    },
    async dispose(keep) {
      if (keep) console.error(`migrations test: SQLite database kept in ${dir}`);
      else await rm(dir, { recursive: true, force: true });
    },
  };
}

function postgresFixture(): StoreFixture {
  const schema = `tav_test_${randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: pgUrl, pool: { min: 0, max: 1 } });
  return {
    async open() {
      await admin.raw('CREATE SCHEMA ??', [schema]);
      return knexFactory({ client: 'pg', connection: pgUrl, searchPath: [schema], pool: { min: 0, max: 4 } });
    },
    async dispose(keep) {
      if (keep) console.error(`migrations test: PostgreSQL schema kept as ${schema}`);
      else await admin.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
      await admin.destroy();
    },
  };
}

async function expectRejects(promise: Promise<unknown>): Promise<void> {
  let rejected = false;
  await promise.catch(() => {
    rejected = true;
  });
  expect(rejected, 'expected the statement to be refused').to.equal(true);
}

async function insertWorkflow(knex: Knex): Promise<string> {
  const id = randomUUID();
  await knex('workflows').insert({ id, name: `wf ${id}`, workflow_data: JSON.stringify({ nodes: [], connections: [] }), created_at: new Date().toISOString() });
  return id;
}

function eventRow(workflowId: string, dedupKey: string | null, sortKey: number): Record<string, unknown> {
  return { workflow_id: workflowId, event_type: 'manual', event_data: '{}', run_at: Date.now(), sort_key: sortKey, dedup_key: dedupKey, created_at: new Date().toISOString() };
}

// SQLite hands JSON columns back as text, pg already parsed; decide by dialect, not by typeof, since a
// JSON string value comes back from pg as a plain JS string.
function parseJson(knex: Knex, value: unknown): unknown {
  return knex.client.config.client === 'pg' ? value : JSON.parse(value as string);
}

function describeStore(name: string, makeFixture: () => StoreFixture): void {
  describe(`migrations on ${name}`, function () {
    let fixture: StoreFixture;
    let knex: Knex;
    let failed = false;
    let firstApplied: string[] = [];

    before(async function () {
      fixture = makeFixture();
      knex = await fixture.open();
      firstApplied = await migrateToLatest(knex);
    });

    afterEach(function () {
      if (this.currentTest?.state === 'failed') failed = true;
    });

    after(async function () {
      await knex?.destroy();
      await fixture?.dispose(failed);
    });

    it('applies the initial schema and every later migration on an empty database', async function () {
      expect(firstApplied).to.deep.equal(migrationNames);
      expect(await migrationStatus(knex)).to.deep.equal({ current: migrationNames.at(-1), applied: migrationNames, pending: [] });
      expect(await isSchemaCurrent(knex)).to.equal(true);
    });

    it('creates all 14 tables with their key columns', async function () {
      for (const table of allTables) {
        expect(await knex.schema.hasTable(table), table).to.equal(true);
      }
      for (const [table, columns] of Object.entries(keyColumns)) {
        for (const column of columns) {
          expect(await knex.schema.hasColumn(table, column), `${table}.${column}`).to.equal(true);
        }
      }
    });

    it('refuses a second active event with the same dedup key until the first one completes', async function () {
      const workflowId = await insertWorkflow(knex);
      const [first] = await knex('event_queue').insert(eventRow(workflowId, 'k1', 1)).returning('id');
      await expectRejects(knex('event_queue').insert(eventRow(workflowId, 'k1', 2)));
      await knex('event_queue').where({ id: (first as { id: number }).id }).update({ status: 'completed' });
      await knex('event_queue').insert(eventRow(workflowId, 'k1', 3));
      await expectRejects(knex('event_queue').insert(eventRow(workflowId, 'k1', 4)));
    });

    it('refuses a second credential with the same name for the same user', async function () {
      const row = (name: string) => ({ user_id: 1, name, credential_type: 'bearer', encrypted_data: 'v1:x', field_names: '[]' });
      await knex('credentials').insert(row('same name'));
      await expectRejects(knex('credentials').insert(row('same name')));
      await knex('credentials').insert(row('another name'));
    });

    it('lets events without a dedup key repeat freely', async function () {
      const workflowId = await insertWorkflow(knex);
      await knex('event_queue').insert([eventRow(workflowId, null, 1), eventRow(workflowId, null, 2)]);
      const [{ n }] = await knex('event_queue').where({ workflow_id: workflowId }).count({ n: '*' });
      expect(Number(n)).to.equal(2);
    });

    it('cascades a workflow delete to its executions and detaches its files', async function () {
      const workflowId = await insertWorkflow(knex);
      const executionId = randomUUID();
      await knex('executions').insert({ id: executionId, workflow_id: workflowId });
      await knex('execution_logs').insert({ execution_id: executionId, level: 'info', event: 'execution_started' });
      await knex('files').insert({ workflow_id: workflowId, original_filename: 'a.txt', stored_filename: 'x.txt', file_path: '/tmp/x.txt' });
      await knex('workflows').where({ id: workflowId }).del();
      expect(await knex('executions').where({ id: executionId })).to.have.length(0);
      expect(await knex('execution_logs').where({ execution_id: executionId })).to.have.length(0);
      const [file] = await knex('files').where({ stored_filename: 'x.txt' });
      expect(file.workflow_id).to.equal(null);
    });

    it('seeds the system user and every catalog setting', async function () {
      const [user] = await knex('users').where({ id: 1 });
      expect(user).to.include({ user_name: 'system', user_status: 'active' });
      const rows: Array<{ category: string; key: string; value: unknown }> = await knex('settings').select('category', 'key', 'value');
      expect(rows).to.have.length(settingsCatalog.length);
      for (const setting of settingsCatalog) {
        const row = rows.find((r) => r.category === setting.category && r.key === setting.key);
        expect(row, `${setting.category}.${setting.key}`).to.not.equal(undefined);
        expect(parseJson(knex, row?.value)).to.deep.equal(setting.default);
      }
    });

    it('gives the next user an id after the system user', async function () {
      const [row] = await knex('users').insert({ user_name: `admin-${randomUUID()}` }).returning('id');
      expect(Number((row as { id: number }).id)).to.be.greaterThan(1);
    });

    it('migrates and seeds again without changes and keeps edited settings', async function () {
      await knex('settings').where({ category: 'execution', key: 'max_concurrent_nodes' }).update({ value: JSON.stringify(9) });
      expect(await migrateToLatest(knex)).to.deep.equal([]);
      expect(await migrateToLatest(knex)).to.deep.equal([]);
      await runSeeds(knex);
      const [row] = await knex('settings').where({ category: 'execution', key: 'max_concurrent_nodes' });
      expect(parseJson(knex, row.value)).to.equal(9);
      const [{ n }] = await knex('settings').count({ n: '*' });
      expect(Number(n)).to.equal(settingsCatalog.length);
      expect(await knex('users').where({ user_name: 'system' })).to.have.length(1);
    });

    it('rolls back to a database without any of the tables', async function () {
      expect(await rollbackLast(knex)).to.deep.equal([...migrationNames].reverse());
      for (const table of allTables) {
        expect(await knex.schema.hasTable(table), table).to.equal(false);
      }
      expect(await migrationStatus(knex)).to.deep.equal({ current: null, applied: [], pending: migrationNames });
      expect(await isSchemaCurrent(knex)).to.equal(false);
    });
  });
}

describeStore('SQLite', sqliteFixture);
describeStore('PostgreSQL', postgresFixture);
