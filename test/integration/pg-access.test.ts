// The access family on PostgreSQL (API keys, users, settings, the audit trail), held to its SQLite twin:
// every step runs on a fresh SQLite store and on a fresh PostgreSQL schema with the same fake clock,
// and the two answers must be equal (ids, times, shapes). Then what only PostgreSQL has: another
// daemon's insert of the same user name landing between the check and the insert, and two daemons
// changing one setting at once — both must end in an answer, never in a constraint error or a lost
// change. A failing run keeps its schema.
import path from 'node:path';
import { expect } from 'chai';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import type { Json } from '../../workers/node-contract.js';
import { createLogger } from '../../src/log.js';
import type { AuditEntry, AuditStore, UserRecord, UserStore } from '../../src/store/access-store.js';
import type { ApiKeyRecord, ApiKeyStore } from '../../src/store/api-key-store.js';
import { PgAccess } from '../../src/store/pg/pg-access.js';
import { PgWriter } from '../../src/store/pg/pg-writer.js';
import { openKnexSqlite } from '../../src/store/sqlite/knex-sqlite.js';
import type { SettingsStore } from '../../src/store/settings-store.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { openPgTestSchema, testPgUrl, type PgTestSchema } from '../helpers/pg-schema.js';
import { openTestStore } from '../helpers/store-fixture.js';

type Access = ApiKeyStore & UserStore & SettingsStore & AuditStore;

const start = Date.parse('2026-03-01T09:00:00.000Z');
const actor = { userId: 1, apiKeyId: 1, requestId: 'req-settings-1' };
const seededAt = '2026-01-01T00:00:00.000Z';

/** The seeds stamp the system user with the real time; pinning it lets the two backends' user lists be compared whole. */
async function pinSeededUser(db: Knex): Promise<void> {
  await db('users').where({ id: 1 }).update({ created_at: seededAt, updated_at: seededAt });
}

function keyInput(userId: number, name: string, expiresAt: string | null) {
  return { userId, name, keyPrefix: `tav_${name.slice(0, 4)}`, keyHash: `hash-${name}`, scopes: ['workflows:read', 'executions:write'], expiresAt };
}

function auditEntry(overrides: Partial<AuditEntry>): AuditEntry {
  return {
    userId: 1,
    apiKeyId: 1,
    action: 'POST /api/v1/workflows',
    resourceType: 'workflow',
    resourceId: 'wf-1',
    ipAddress: '127.0.0.1',
    userAgent: 'test-agent',
    statusCode: 201,
    errorCode: null,
    errorMessage: null,
    details: null,
    requestId: 'req-1',
    ...overrides,
  };
}

function idOf(answer: UserRecord | ApiKeyRecord | string): number {
  if (typeof answer === 'string') throw new Error(`expected a record, got ${answer}`);
  return answer.id;
}

describe('PostgreSQL access family, twin of SQLite', function () {
  const clock = { at: start, now() { return this.at; } };
  let sqlite: SqliteStore;
  let pgSchema: PgTestSchema;
  let pg: PgAccess;
  let failed = false;

  /** Runs `step` on the SQLite store, then on the PostgreSQL family; the answers must be equal. Returns SQLite's. */
  async function both<T>(step: (store: Access) => Promise<T>): Promise<T> {
    const fromSqlite = await step(sqlite);
    const fromPg = await step(pg);
    expect(fromPg, 'PostgreSQL answers as SQLite does').to.deep.equal(fromSqlite);
    return fromSqlite;
  }

  /** Waits out the fire-and-forget writes: the writer commits in order, so an awaited write lands after them. */
  async function settle(store: Access): Promise<void> {
    await store.revokeApiKey(-1);
  }

  before(async function () {
    const opened = await openTestStore('pg-twin-access', clock);
    sqlite = opened.store;
    const sqliteKnex = openKnexSqlite(path.join(opened.dataDir, 'tav_engine.db'));
    try {
      await pinSeededUser(sqliteKnex);
    } finally {
      await sqliteKnex.destroy();
    }
    pgSchema = await openPgTestSchema('access', clock);
    await pinSeededUser(pgSchema.db);
    pg = new PgAccess(pgSchema.context);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    await sqlite?.close();
    await pgSchema?.close(failed);
  });

  // The seeds made the system user (id 1): the users made here follow it.
  let alice: number;
  let bob: number;
  let carol: number;

  describe('users', function () {
    it('creates users, and answers name_taken / email_taken (the name first) without spending an id', async function () {
      const first = await both((store) => store.createUser({ name: 'alice', email: 'alice@example.com', passwordHash: 'scrypt$hash' }));
      expect(first).to.deep.equal({
        id: 2,
        user_name: 'alice',
        user_email: 'alice@example.com',
        user_status: 'active',
        has_password: true,
        created_at: '2026-03-01T09:00:00.000Z',
        updated_at: '2026-03-01T09:00:00.000Z',
      });
      alice = idOf(first);
      expect(await both((store) => store.createUser({ name: 'alice', email: null, passwordHash: null }))).to.equal('name_taken');
      expect(await both((store) => store.createUser({ name: 'alice2', email: 'alice@example.com', passwordHash: null }))).to.equal('email_taken');
      expect(await both((store) => store.createUser({ name: 'alice', email: 'alice@example.com', passwordHash: null }))).to.equal('name_taken');
      // Emails are optional: any number of users may have none.
      const created = await both((store) => store.createUser({ name: 'bob', email: null, passwordHash: null }));
      expect(created).to.include({ id: alice + 1, user_email: null, has_password: false });
      bob = idOf(created);
      carol = idOf(await both((store) => store.createUser({ name: 'carol', email: null, passwordHash: null })));
      expect(carol).to.equal(bob + 1);
    });

    it('sets statuses, and answers false for a user that does not exist', async function () {
      clock.at = start + 60_000;
      expect(await both((store) => store.setUserStatus(carol, 'locked'))).to.equal(true);
      expect(await both((store) => store.setUserStatus(999, 'inactive'))).to.equal(false);
      expect(await both((store) => store.getUser(carol))).to.include({ user_status: 'locked', updated_at: '2026-03-01T09:01:00.000Z' });
    });

    it('finds users by id and name, and lists them oldest first', async function () {
      expect(await both((store) => store.getUser(alice))).to.include({ user_name: 'alice' });
      expect(await both((store) => store.getUser(999))).to.equal(null);
      expect(await both((store) => store.findUserByName('bob'))).to.include({ id: bob });
      expect(await both((store) => store.findUserByName('Bob'))).to.equal(null);
      expect((await both((store) => store.listUsers())).map((user) => user.user_name)).to.deep.equal(['system', 'alice', 'bob', 'carol']);
    });
  });

  describe('API keys', function () {
    let active: number;
    let expiring: number;
    let expired: number;
    let lockedUsers: number;

    it('creates keys and finds them by hash, with their user status', async function () {
      clock.at = start + 120_000;
      const created = await both((store) => store.createApiKey(keyInput(alice, 'active', null)));
      expect(created).to.deep.equal({
        id: 1,
        user_id: alice,
        name: 'active',
        key_prefix: 'tav_acti',
        scopes: ['workflows:read', 'executions:write'],
        created_at: '2026-03-01T09:02:00.000Z',
        expires_at: null,
        last_used_at: null,
        revoked_at: null,
        is_active: true,
      });
      active = created.id;
      expiring = idOf(await both((store) => store.createApiKey(keyInput(alice, 'expiring', '2026-03-01T10:00:00.000Z'))));
      expired = idOf(await both((store) => store.createApiKey(keyInput(alice, 'expired', '2026-03-01T09:01:00.000Z'))));
      lockedUsers = idOf(await both((store) => store.createApiKey({ ...keyInput(carol, 'locked', null), scopes: [] })));
      expect(await both((store) => store.findApiKeyByHash('hash-active'))).to.deep.equal({ ...created, user_status: 'active' });
      expect(await both((store) => store.findApiKeyByHash('hash-locked'))).to.include({ id: lockedUsers, user_status: 'locked' });
      expect(await both((store) => store.findApiKeyByHash('hash-expired'))).to.include({ id: expired, expires_at: '2026-03-01T09:01:00.000Z' });
      expect(await both((store) => store.findApiKeyByHash('no-such-hash'))).to.equal(null);
    });

    it('gets and lists keys, newest first', async function () {
      expect(await both((store) => store.getApiKey(expiring))).to.include({ name: 'expiring', expires_at: '2026-03-01T10:00:00.000Z' });
      expect(await both((store) => store.getApiKey(999))).to.equal(null);
      expect((await both((store) => store.listApiKeys())).map((key) => key.id)).to.deep.equal([lockedUsers, expired, expiring, active]);
    });

    it('notes use without being awaited', async function () {
      const used = await both(async (store) => {
        store.touchApiKey(active, '2026-03-01T09:02:30.000Z');
        store.touchApiKey(active, '2026-03-01T09:02:31.000Z');
        await settle(store);
        return (await store.getApiKey(active))!.last_used_at;
      });
      expect(used).to.equal('2026-03-01T09:02:31.000Z');
    });

    it('counts usable keys: active, unexpired, of an active user', async function () {
      // active and expiring; not expired's (past), not locked's (user locked).
      expect(await both((store) => store.countUsableApiKeys())).to.equal(2);
      clock.at = Date.parse('2026-03-01T10:00:00.000Z');
      expect(await both((store) => store.countUsableApiKeys()), 'expires_at is exclusive').to.equal(1);
      await both((store) => store.setUserStatus(carol, 'active'));
      expect(await both((store) => store.countUsableApiKeys())).to.equal(2);
    });

    it('revokes a key once, and answers false for a revoked or missing one', async function () {
      clock.at = start + 600_000;
      expect(await both((store) => store.revokeApiKey(active))).to.equal(true);
      expect(await both((store) => store.revokeApiKey(active))).to.equal(false);
      expect(await both((store) => store.revokeApiKey(999))).to.equal(false);
      expect(await both((store) => store.findApiKeyByHash('hash-active'))).to.include({ revoked_at: '2026-03-01T09:10:00.000Z', is_active: false, user_status: 'active' });
      expect(await both((store) => store.countUsableApiKeys())).to.equal(2);
    });
  });

  describe('settings', function () {
    it('loads the seeded defaults alike', async function () {
      expect(await both((store) => store.loadSettings())).to.deep.include({ ui: { default_grid_size: 20, default_theme_mode: 'default', enable_grid: true, grid_opacity: 0.3 } });
    });

    it('writes a category, answers each change with its old and new value, and loads it back', async function () {
      clock.at = start + 3_600_000;
      const values: Record<string, Json> = { max_workers: 4, notify: { email: 'ops@example.com', on: ['failure'] }, banner: 'hello', off: null, list: [1, 2] };
      const changes = await both((store) => store.updateSettings('engine', values, actor));
      // A key set to null that was never set is no change.
      expect(changes).to.deep.equal([
        { key: 'max_workers', old: null, new: 4 },
        { key: 'notify', old: null, new: { email: 'ops@example.com', on: ['failure'] } },
        { key: 'banner', old: null, new: 'hello' },
        { key: 'list', old: null, new: [1, 2] },
      ]);
      await both((store) => store.updateSettings('mail', { from: 'tav@example.com' }, { userId: null, apiKeyId: null, requestId: null }));
      expect(await both((store) => store.loadSettings())).to.deep.include({
        engine: { max_workers: 4, notify: { email: 'ops@example.com', on: ['failure'] }, banner: 'hello', list: [1, 2] },
        mail: { from: 'tav@example.com' },
      });
    });

    it('skips unchanged keys, records only what changed, and writes nothing (no audit row) when nothing did', async function () {
      clock.at = start + 3_660_000;
      const changes = await both((store) => store.updateSettings('engine', { max_workers: 8, notify: { on: ['failure'], email: 'ops@example.com' }, banner: null }, actor));
      expect(changes).to.deep.equal([
        { key: 'max_workers', old: 4, new: 8 },
        { key: 'banner', old: 'hello', new: null },
      ]);
      expect(await both((store) => store.updateSettings('engine', { max_workers: 8 }, actor))).to.deep.equal([]);
      expect((await both((store) => store.loadSettings())).engine).to.deep.equal({ max_workers: 8, notify: { email: 'ops@example.com', on: ['failure'] }, banner: null, list: [1, 2] });
    });

    it('audits each change in the same transaction', async function () {
      const rows = await both((store) => store.listAuditLogs({ action: 'settings.update', limit: 10 }));
      expect(rows).to.have.length(3);
      expect(rows[0]).to.deep.equal({
        id: 3,
        created_at: '2026-03-01T10:01:00.000Z',
        user_id: 1,
        api_key_id: 1,
        action: 'settings.update',
        resource_type: 'settings',
        resource_id: 'engine',
        ip_address: null,
        user_agent: null,
        status_code: null,
        error_code: null,
        error_message: null,
        request_id: 'req-settings-1',
        details: { category: 'engine', changes: [{ key: 'max_workers', old: 4, new: 8 }, { key: 'banner', old: 'hello', new: null }] },
      });
      expect(rows[1]).to.include({ resource_id: 'mail', user_id: null, api_key_id: null, request_id: null });
    });
  });

  describe('audit trail', function () {
    const base = Date.parse('2026-03-02T00:00:00.000Z');

    it('records rows without being awaited, the error code riding in details', async function () {
      await both(async (store) => {
        clock.at = base;
        store.recordAudit(auditEntry({ details: { name: 'flow' } }));
        clock.at = base + 1_000;
        store.recordAudit(auditEntry({ userId: 2, apiKeyId: 2, action: 'DELETE /api/v1/workflows/:id', resourceId: 'wf-2', statusCode: 404, errorCode: 'not_found', errorMessage: 'no such workflow', requestId: 'req-2' }));
        clock.at = base + 2_000;
        store.recordAudit(auditEntry({ statusCode: 409, errorCode: 'conflict', details: { reason: 'busy', error_code: 'stale' }, requestId: 'req-3' }));
        clock.at = base + 3_000;
        store.recordAudit(auditEntry({ resourceType: 'api_key', resourceId: '7', statusCode: 500, errorCode: 'internal', details: ['not', 'an', 'object'], requestId: 'req-4' }));
        clock.at = base + 4_000;
        store.recordAudit(auditEntry({ userId: null, apiKeyId: null, action: 'cli users create', resourceType: null, resourceId: null, ipAddress: null, userAgent: null, statusCode: null, details: 'plain text', requestId: null }));
        await settle(store);
      });
    });

    it('lists rows newest first with their shapes', async function () {
      const all = await both((store) => store.listAuditLogs({ limit: 100 }));
      expect(all.map((row) => row.id)).to.deep.equal([8, 7, 6, 5, 4, 3, 2, 1]);
      const [cli, internal, conflict, missing, created] = all;
      expect(cli).to.include({ action: 'cli users create', user_id: null, status_code: null, request_id: null, created_at: '2026-03-02T00:00:04.000Z' });
      expect(cli!.details).to.equal('plain text');
      expect(internal).to.deep.include({ error_code: 'internal', details: null });
      expect(conflict).to.deep.include({ error_code: 'conflict', details: { reason: 'busy' } });
      expect(missing).to.deep.include({ error_code: 'not_found', error_message: 'no such workflow', details: null, status_code: 404 });
      expect(created).to.deep.include({ error_code: null, details: { name: 'flow' }, ip_address: '127.0.0.1', user_agent: 'test-agent' });
    });

    it('filters by every field, and by their combination', async function () {
      const ids = async (filter: Omit<Parameters<AuditStore['listAuditLogs']>[0], 'limit'>) =>
        (await both((store) => store.listAuditLogs({ ...filter, limit: 100 }))).map((row) => row.id);
      expect(await ids({ userId: 2 })).to.deep.equal([5]);
      expect(await ids({ apiKeyId: 1 })).to.deep.equal([7, 6, 4, 3, 1]);
      expect(await ids({ action: 'DELETE /api/v1/workflows/:id' })).to.deep.equal([5]);
      expect(await ids({ resourceType: 'api_key' })).to.deep.equal([7]);
      expect(await ids({ resourceId: 'wf-1' })).to.deep.equal([6, 4]);
      expect(await ids({ requestId: 'req-3' })).to.deep.equal([6]);
      expect(await ids({ statusMin: 400, statusMax: 499 })).to.deep.equal([6, 5]);
      expect(await ids({ statusMin: 500 })).to.deep.equal([7]);
      expect(await ids({ statusMax: 201 })).to.deep.equal([4]);
      expect(await ids({ from: '2026-03-02T00:00:01.000Z', to: '2026-03-02T00:00:03.000Z' })).to.deep.equal([6, 5]);
      expect(await ids({ from: '2026-03-02T00:00:04.000Z' })).to.deep.equal([8]);
      expect(await ids({ to: '2026-03-02T00:00:00.000Z' })).to.deep.equal([3, 2, 1]);
      expect(await ids({ resourceType: 'workflow', statusMin: 400, apiKeyId: 1 })).to.deep.equal([6]);
      expect(await ids({ userId: 999 })).to.deep.equal([]);
    });

    it('pages newest first with the id as cursor', async function () {
      const first = await both((store) => store.listAuditLogs({ limit: 3 }));
      expect(first.map((row) => row.id)).to.deep.equal([8, 7, 6]);
      const second = await both((store) => store.listAuditLogs({ limit: 3, beforeId: first.at(-1)!.id }));
      expect(second.map((row) => row.id)).to.deep.equal([5, 4, 3]);
      const last = await both((store) => store.listAuditLogs({ limit: 3, beforeId: second.at(-1)!.id }));
      expect(last.map((row) => row.id)).to.deep.equal([2, 1]);
      expect(await both((store) => store.listAuditLogs({ limit: 3, beforeId: 1 }))).to.deep.equal([]);
      expect((await both((store) => store.listAuditLogs({ limit: 2, beforeId: 7, apiKeyId: 1 }))).map((row) => row.id)).to.deep.equal([6, 4]);
    });
  });

  describe('seeded settings', function () {
    it('changes a default the seeds wrote, with the default as its old value', async function () {
      clock.at = start + 7_200_000;
      expect(await both((store) => store.updateSettings('ui', { default_grid_size: 24, enable_grid: true }, actor))).to.deep.equal([{ key: 'default_grid_size', old: 20, new: 24 }]);
      expect((await both((store) => store.loadSettings())).ui).to.include({ default_grid_size: 24, enable_grid: true });
      expect(await both((store) => store.listAuditLogs({ resourceType: 'settings', resourceId: 'ui', limit: 10 }))).to.have.length(1);
    });
  });

  describe('two daemons on one database (PostgreSQL only)', function () {
    /** A second daemon's family: its own pool and writer on the same schema. */
    function openSecondDaemon() {
      const db = knexFactory({ client: 'pg', connection: testPgUrl, searchPath: [pgSchema.schema], pool: { min: 0, max: 2 } });
      const log = createLogger('error', { silent: true });
      const writer = new PgWriter(db, { maxBatch: 500, log });
      const access = new PgAccess({ ...pgSchema.context, db, writer });
      return { access, writer, db, async close() { await writer.close(); await db.destroy(); } };
    }

    it("answers name_taken when another daemon's insert of the name commits after the check", async function () {
      // The other daemon's transaction has inserted 'racer' but not committed: the check cannot see it,
      // so the insert waits on it, then ON CONFLICT gives up, and the answer comes from a second look.
      const commitsBefore = pgSchema.context.writer.stats.commits;
      const other = await pgSchema.db.transaction();
      await other.raw(`INSERT INTO users (user_name, user_email, user_status, created_at) VALUES ('racer', 'racer@example.com', 'active', now())`);
      const racing = pg.createUser({ name: 'racer', email: null, passwordHash: null });
      const byEmail = pg.createUser({ name: 'racer-2', email: 'racer@example.com', passwordHash: null });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await other.commit();
      expect(await racing).to.equal('name_taken');
      expect(await byEmail).to.equal('email_taken');
      // Both rode in one group that committed whole: no unique violation made the writer replay them one by one.
      expect(pgSchema.context.writer.stats.commits).to.equal(commitsBefore + 1);
      // The writer's transaction was not aborted: the next write goes through.
      expect(await pg.createUser({ name: 'after-race', email: null, passwordHash: null })).to.include({ user_name: 'after-race' });
    });

    it('serialises settings changes across daemons, so none is skipped or audited with a stale old value', async function () {
      const second = openSecondDaemon();
      try {
        const rounds = 20;
        const answers = await Promise.all(
          Array.from({ length: rounds }, (_, i) => (i % 2 === 0 ? pg : second.access).updateSettings('race', { value: i % 3 }, actor)),
        );
        // Every change's old value is the new value of the change before it, in commit order.
        const audited = (await pg.listAuditLogs({ resourceId: 'race', limit: 100 })).reverse();
        const chain = audited.map((row) => (row.details as { changes: Array<{ old: Json; new: Json }> }).changes[0]!);
        chain.forEach((change, i) => expect(change.old, `change ${i}`).to.equal(i === 0 ? null : chain[i - 1]!.new));
        expect(answers.flat()).to.have.length(chain.length);
        expect((await pg.loadSettings()).race).to.deep.equal({ value: chain.at(-1)!.new });
      } finally {
        await second.close();
      }
    });
  });
});
