// The credentials and files families on PostgreSQL, held to their SQLite twins: every step runs on a
// fresh SQLite store and on a fresh PostgreSQL schema with the same fake clock, and the two answers
// must be equal (ids, times, shapes). Then what only PostgreSQL has: two daemons (two pools, two
// writers) racing for one credential name, and a workflow deleted while a file row is being created —
// both must end in an answer, never in a constraint error. A failing run keeps its schema.
import path from 'node:path';
import { expect } from 'chai';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import { EncryptionKey, SecretBox, sealedKeyId } from '../../src/auth/secret-box.js';
import { createLogger } from '../../src/log.js';
import type { CredentialStore } from '../../src/store/credential-store.js';
import type { FileInput, FileStore } from '../../src/store/file-store.js';
import * as credentialSql from '../../src/store/pg/pg-credential-sql.js';
import { PgCredentials } from '../../src/store/pg/pg-credentials.js';
import { PgFiles } from '../../src/store/pg/pg-files.js';
import { PgWriter } from '../../src/store/pg/pg-writer.js';
import { openKnexSqlite } from '../../src/store/sqlite/knex-sqlite.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { openPgTestSchema, testPgUrl, type PgTestSchema } from '../helpers/pg-schema.js';
import { openTestStore } from '../helpers/store-fixture.js';

const systemUser = 1;
const otherUser = 2;
const keyA = EncryptionKey.generate();
const keyB = EncryptionKey.generate();
const boxA = new SecretBox(keyA);
const boxB = new SecretBox(keyB, [keyA]);

function contextOf(id: number): string {
  return `credential:${id}`;
}

function sealWith(box: SecretBox, secret: string): (id: number) => string {
  return (id) => box.seal(secret, contextOf(id));
}

/** The rows both backends start from: a second user, two workflows, one execution. */
async function seedParents(db: Knex): Promise<void> {
  const now = '2026-01-01T00:00:00.000Z';
  await db('users').insert({ id: otherUser, user_name: 'other', user_status: 'active', created_at: now });
  for (const id of ['wf-files-a', 'wf-files-b']) {
    await db('workflows').insert({ id, name: id, workflow_data: JSON.stringify({ nodes: [], connections: [] }), created_at: now });
  }
  await db('executions').insert({ id: 'ex-files-a', workflow_id: 'wf-files-a', status: 'completed' });
}

function fileInput(name: string, workflowId: string | null, executionId: string | null): FileInput {
  return {
    workflowId,
    executionId,
    originalFilename: `${name}.csv`,
    storedFilename: `stored-${name}.csv`,
    filePath: `uploads/stored-${name}.csv`,
    fileType: 'csv',
    mimeType: 'text/csv',
    sizeBytes: 12_345_678_901,
    metadata: { rows: 3, nested: { header: ['a', 'b'], quoted: true } },
  };
}

describe('PostgreSQL credentials and files, twins of SQLite', function () {
  const clock = { at: Date.parse('2026-02-01T10:00:00.000Z'), now() { return this.at; } };
  let sqlite: SqliteStore;
  let pgSchema: PgTestSchema;
  let pgCredentials: PgCredentials;
  let pgFiles: PgFiles;
  let failed = false;

  /** Runs `step` on the SQLite family, then on its PostgreSQL twin; the answers must be equal. Returns SQLite's. */
  function twins<Family>(sides: () => [Family, Family]) {
    return async <T>(step: (store: Family) => Promise<T>): Promise<T> => {
      const [onSqlite, onPg] = sides();
      const fromSqlite = await step(onSqlite);
      const fromPg = await step(onPg);
      expect(fromPg, 'PostgreSQL answers as SQLite does').to.deep.equal(fromSqlite);
      return fromSqlite;
    };
  }

  /** Waits out the fire-and-forget writes: the writer commits in order, so an awaited write lands after them. */
  async function settle(store: CredentialStore): Promise<void> {
    await store.deleteCredential(-1);
  }

  before(async function () {
    const opened = await openTestStore('pg-twin-credentials-files', clock);
    sqlite = opened.store;
    const sqliteKnex = openKnexSqlite(path.join(opened.dataDir, 'tav_engine.db'));
    try {
      await seedParents(sqliteKnex);
    } finally {
      await sqliteKnex.destroy();
    }
    pgSchema = await openPgTestSchema('credentials_files', clock);
    await seedParents(pgSchema.db);
    pgCredentials = new PgCredentials(pgSchema.context);
    pgFiles = new PgFiles(pgSchema.context);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    await sqlite?.close();
    await pgSchema?.close(failed);
  });

  describe('credentials', function () {
    const both = twins<CredentialStore>(() => [sqlite, pgCredentials]);
    let first: number;
    let second: number;
    let othersFirst: number;

    it('creates credentials sealed for their own id, and refuses a name the user already has', async function () {
      const created = await both((store) => store.createCredential(
        { userId: systemUser, name: 'smtp', credentialType: 'smtp', description: 'mail relay', fieldNames: ['user', 'password'] },
        sealWith(boxA, 'smtp-secret'),
      ));
      expect(created).to.include({ user_id: systemUser, name: 'smtp', credential_type: 'smtp', description: 'mail relay', key_id: keyA.id });
      expect(created).to.deep.include({ field_names: ['user', 'password'], created_at: '2026-02-01T10:00:00.000Z', updated_at: '2026-02-01T10:00:00.000Z', last_used_at: null });
      first = (created as { id: number }).id;
      second = ((await both((store) => store.createCredential(
        { userId: systemUser, name: 'api', credentialType: 'bearer', description: null, fieldNames: [] },
        sealWith(boxA, 'api-secret'),
      ))) as { id: number }).id;
      const taken = await both((store) => store.createCredential(
        { userId: systemUser, name: 'smtp', credentialType: 'smtp', description: null, fieldNames: [] },
        sealWith(boxA, 'never stored'),
      ));
      expect(taken).to.equal('name_taken');
      // Names are unique per user: another user may use the same one.
      othersFirst = ((await both((store) => store.createCredential(
        { userId: otherUser, name: 'smtp', credentialType: 'smtp', description: null, fieldNames: ['token'] },
        sealWith(boxA, 'other-secret'),
      ))) as { id: number }).id;
      expect(await both((store) => store.countCredentials())).to.equal(3);
    });

    it('hands back the sealed data, which opens for its own id only', async function () {
      const sealed = await both(async (store) => {
        const found = await store.sealedCredential(first);
        return found && { id: found.id, opened: boxA.open(found.encrypted_data, contextOf(found.id)), keyId: sealedKeyId(found.encrypted_data) };
      });
      expect(sealed).to.deep.equal({ id: first, opened: 'smtp-secret', keyId: keyA.id });
      expect(await both((store) => store.sealedCredential(99_999))).to.equal(null);
      expect(await both((store) => store.getCredential(99_999))).to.equal(null);
    });

    it('updates metadata and data, keeping what was not given, and answers missing and name_taken', async function () {
      clock.at += 60_000;
      const renamed = await both((store) => store.updateCredential(second, { name: 'api-v2', description: 'second api' }, null));
      expect(renamed).to.deep.include({ name: 'api-v2', credential_type: 'bearer', description: 'second api', field_names: [], updated_at: '2026-02-01T10:01:00.000Z' });
      const resealed = await both(async (store) => {
        await store.updateCredential(second, { fieldNames: ['token'], description: null }, sealWith(boxB, 'api-secret-2'));
        const found = (await store.sealedCredential(second))!;
        return { record: await store.getCredential(second), opened: boxB.open(found.encrypted_data, contextOf(second)) };
      });
      expect(resealed.record).to.deep.include({ name: 'api-v2', description: null, field_names: ['token'], key_id: keyB.id });
      expect(resealed.opened).to.equal('api-secret-2');
      expect(await both((store) => store.updateCredential(first, { name: 'api-v2' }, null))).to.equal('name_taken');
      // Its own name, and a name only another user has, are free.
      expect(await both((store) => store.updateCredential(first, { name: 'smtp' }, null))).to.include({ name: 'smtp' });
      expect(await both((store) => store.updateCredential(othersFirst, { name: 'api-v2' }, null))).to.include({ name: 'api-v2' });
      expect(await both((store) => store.updateCredential(99_999, { name: 'ghost' }, null))).to.equal('missing');
    });

    it('lists newest first by pages, counts keys, and notes use', async function () {
      const page = await both((store) => store.listCredentials(2, 0));
      expect(page.map((credential) => credential.id)).to.deep.equal([othersFirst, second]);
      expect((await both((store) => store.listCredentials(2, 2))).map((credential) => credential.id)).to.deep.equal([first]);
      // A value that is not sealed text counts under null.
      await both((store) => store.createCredential({ userId: otherUser, name: 'plain', credentialType: 'basic', description: null, fieldNames: [] }, () => 'not sealed'));
      const counts = await both((store) => store.credentialKeyCounts());
      expect(counts).to.deep.equal(new Map<string | null, number>([[keyA.id, 2], [keyB.id, 1], [null, 1]]));
      const used = await both(async (store) => {
        store.touchCredential(first, '2026-02-01T11:00:00.000Z');
        await settle(store);
        return (await store.getCredential(first))!.last_used_at;
      });
      expect(used).to.equal('2026-02-01T11:00:00.000Z');
    });

    it('re-seals every credential in one transaction, and leaves them all as they were when one fails', async function () {
      const unsealed = async (store: CredentialStore) => {
        const all = await store.listCredentials(100, 0);
        return Promise.all(all.map(async (credential) => (await store.sealedCredential(credential.id))!.encrypted_data));
      };
      const failing = await both(async (store) => {
        const before = await unsealed(store);
        const error = await store.resealCredentials((id) => {
          if (id === second) throw new Error('cannot open');
          return 'overwritten';
        }).then(() => null, (thrown: Error) => thrown.message);
        return { error, unchanged: JSON.stringify(await unsealed(store)) === JSON.stringify(before) };
      });
      expect(failing).to.deep.equal({ error: 'cannot open', unchanged: true });
      const count = await both((store) => store.resealCredentials((id, sealed) => (sealedKeyId(sealed) === null ? sealed : boxB.seal(boxB.open(sealed, contextOf(id)), contextOf(id)))));
      expect(count).to.equal(4);
      expect(await both((store) => store.credentialKeyCounts())).to.deep.equal(new Map<string | null, number>([[keyB.id, 3], [null, 1]]));
      const opened = await both(async (store) => boxB.open((await store.sealedCredential(first))!.encrypted_data, contextOf(first)));
      expect(opened).to.equal('smtp-secret');
    });

    it('deletes, and says whether there was one', async function () {
      expect(await both((store) => store.deleteCredential(first))).to.equal(true);
      expect(await both((store) => store.deleteCredential(first))).to.equal(false);
      expect(await both((store) => store.getCredential(first))).to.equal(null);
      expect(await both((store) => store.countCredentials())).to.equal(3);
    });
  });

  describe('files', function () {
    const both = twins<FileStore>(() => [sqlite, pgFiles]);
    let bare: number;
    let ofWorkflow: number;
    let ofExecution: number;

    it('creates rows with and without a workflow and an execution, and refuses missing ones', async function () {
      clock.at += 60_000;
      const created = await both((store) => store.createFile(fileInput('bare', null, null)));
      expect(created).to.deep.include({
        workflow_id: null,
        execution_id: null,
        original_filename: 'bare.csv',
        size_bytes: 12_345_678_901,
        file_metadata: { rows: 3, nested: { header: ['a', 'b'], quoted: true } },
        created_at: '2026-02-01T10:02:00.000Z',
      });
      bare = (created as { id: number }).id;
      ofWorkflow = ((await both((store) => store.createFile(fileInput('wf', 'wf-files-a', null)))) as { id: number }).id;
      ofExecution = ((await both((store) => store.createFile(fileInput('ex', 'wf-files-a', 'ex-files-a')))) as { id: number }).id;
      await both((store) => store.createFile(fileInput('wf-b', 'wf-files-b', null)));
      expect(await both((store) => store.createFile(fileInput('x', 'wf-none', null)))).to.equal('workflow_missing');
      expect(await both((store) => store.createFile(fileInput('x', null, 'ex-none')))).to.equal('execution_missing');
      expect(await both((store) => store.createFile(fileInput('x', 'wf-files-a', 'ex-none')))).to.equal('execution_missing');
    });

    it('reads one row, and null for none', async function () {
      expect(await both((store) => store.getFile(ofExecution))).to.include({ workflow_id: 'wf-files-a', execution_id: 'ex-files-a', mime_type: 'text/csv' });
      expect(await both((store) => store.getFile(99_999))).to.equal(null);
    });

    it('lists newest first, by workflow, below a cursor, up to a limit', async function () {
      const ids = async (listed: Promise<Array<{ id: number }>>) => (await listed).map((file) => file.id);
      expect(await both((store) => ids(store.listFiles({ limit: 10 })))).to.have.length(4);
      expect(await both((store) => ids(store.listFiles({ limit: 10, workflowId: 'wf-files-a' })))).to.deep.equal([ofExecution, ofWorkflow]);
      expect(await both((store) => ids(store.listFiles({ limit: 10, beforeId: ofExecution })))).to.deep.equal([ofWorkflow, bare]);
      expect(await both((store) => ids(store.listFiles({ limit: 1, workflowId: 'wf-files-a', beforeId: ofExecution })))).to.deep.equal([ofWorkflow]);
      expect(await both((store) => ids(store.listFiles({ limit: 10, workflowId: 'wf-none' })))).to.deep.equal([]);
      // Whole rows are alike too, not only their order.
      await both((store) => store.listFiles({ limit: 10 }));
    });

    it('deletes a row and hands it back, then null', async function () {
      const deleted = await both((store) => store.deleteFile(bare));
      expect(deleted).to.include({ id: bare, stored_filename: 'stored-bare.csv' });
      expect(await both((store) => store.deleteFile(bare))).to.equal(null);
      expect(await both((store) => store.getFile(bare))).to.equal(null);
    });
  });

  // The writer replays a failed group one write at a time, which would turn a constraint error into the
  // right answer after all; so these tests also check that every write committed in its group
  // (PgWriter.stats counts only those), i.e. that no transaction was aborted on the way.
  describe('several daemons on one schema (PostgreSQL only)', function () {
    const log = createLogger('error', { silent: true });
    let secondPool: Knex;
    let writerA: PgWriter;
    let writerB: PgWriter;
    let daemonA: PgCredentials;
    let daemonB: PgCredentials;

    before(function () {
      secondPool = knexFactory({ client: 'pg', connection: testPgUrl, searchPath: [pgSchema.schema], pool: { min: 0, max: 4 } });
      writerA = new PgWriter(pgSchema.db, { maxBatch: 500, log });
      writerB = new PgWriter(secondPool, { maxBatch: 500, log });
      daemonA = new PgCredentials({ ...pgSchema.context, writer: writerA });
      daemonB = new PgCredentials({ ...pgSchema.context, db: secondPool, writer: writerB });
    });

    after(async function () {
      await writerA?.close();
      await writerB?.close();
      await secondPool?.destroy();
    });

    function committedInGroups(): number {
      return writerA.stats.operations + writerB.stats.operations;
    }

    it('lets one of two racing creates, or a create and a rename, take a name; the other hears name_taken', async function () {
      const before = committedInGroups();
      let writes = 0;
      for (let round = 0; round < 15; round++) {
        const input = { userId: otherUser, name: `race-${round}`, credentialType: 'basic', description: null, fieldNames: [] };
        const creates = await Promise.all([daemonA.createCredential(input, sealWith(boxA, 'a')), daemonB.createCredential(input, sealWith(boxA, 'b'))]);
        expect(creates.filter((answer) => answer === 'name_taken'), `round ${round}: creates`).to.have.length(1);

        const spare = (await daemonA.createCredential({ ...input, name: `race-${round}-spare` }, sealWith(boxA, 's'))) as { id: number };
        const target = `race-${round}-renamed`;
        const raced = await Promise.all([
          daemonA.updateCredential(spare.id, { name: target }, null),
          daemonB.createCredential({ ...input, name: target }, sealWith(boxA, 'b')),
        ]);
        expect(raced.filter((answer) => answer === 'name_taken'), `round ${round}: rename against create`).to.have.length(1);
        writes += 5;
      }
      expect(committedInGroups() - before).to.equal(writes);
    });

    it('makes a rename wait for a create of the same name still being committed, then answer name_taken', async function () {
      const input = { userId: otherUser, name: 'held-spare', credentialType: 'basic', description: null, fieldNames: [] };
      const spare = (await daemonA.createCredential(input, sealWith(boxA, 's'))) as { id: number };
      const before = committedInGroups();
      // Daemon B's create holds its transaction open a while after the insert.
      const holding = writerB.write(async (trx) => {
        const created = await credentialSql.insertCredential(trx, { ...input, name: 'held' }, sealWith(boxA, 'b'), '2026-02-01T12:00:00.000Z');
        await new Promise((resolve) => setTimeout(resolve, 300));
        return created;
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const renamed = await daemonA.updateCredential(spare.id, { name: 'held' }, null);
      expect(await holding).to.include({ name: 'held' });
      expect(renamed).to.equal('name_taken');
      expect(committedInGroups() - before).to.equal(2);
    });

    it('answers workflow_missing when the workflow is deleted while the file row is being created', async function () {
      const files = new PgFiles({ ...pgSchema.context, writer: writerA });
      await pgSchema.db('workflows').insert({ id: 'wf-doomed', name: 'doomed', workflow_data: JSON.stringify({ nodes: [] }) });
      const before = committedInGroups();
      const deleting = await secondPool.transaction();
      try {
        await deleting('workflows').where({ id: 'wf-doomed' }).delete();
        const creating = files.createFile(fileInput('late', 'wf-doomed', null));
        // Give the create time to reach the row and wait on the uncommitted delete.
        await new Promise((resolve) => setTimeout(resolve, 300));
        await deleting.commit();
        expect(await creating).to.equal('workflow_missing');
      } finally {
        if (!deleting.isCompleted()) await deleting.rollback();
      }
      expect(committedInGroups() - before).to.equal(1);
    });
  });
});
