// The retention family on PostgreSQL, held to its SQLite twin: the same rows (old and new, finished and
// live work) are planted in a fresh SQLite store and a fresh PostgreSQL schema, and every finder and
// delete must answer alike on both — surplus executions per workflow, aged rows per table, batch
// limits, the re-check that spares live work, the result files on disk. Then what only PostgreSQL has:
// another daemon's transaction holding an execution or re-setting a state key while retention deletes.
// A failing run keeps its schema.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Knex } from 'knex';
import { isoAt } from '../../src/domain/clock.js';
import { PgRetention } from '../../src/store/pg/pg-retention.js';
import type { AgedTable, ExecutionRowTable, RetentionCutoffs, RetentionStore } from '../../src/store/retention-store.js';
import { openKnexSqlite } from '../../src/store/sqlite/knex-sqlite.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { openPgTestSchema, type PgTestSchema } from '../helpers/pg-schema.js';
import { openTestStore } from '../helpers/store-fixture.js';

const dayMs = 86_400_000;
const nowMs = Date.parse('2026-03-01T00:00:00.000Z');
const ago = (days: number) => isoAt(nowMs - days * dayMs);
const cutoffs: RetentionCutoffs = { now: ago(0), resultsBefore: ago(30), eventsBefore: ago(7), auditBefore: ago(90), uploadsBefore: ago(30) };
const terminal = ['completed', 'failed', 'cancelled'];

const executionRowTables: ExecutionRowTable[] = ['execution_results', 'execution_logs', 'execution_iterations', 'email_interactions'];
const agedTables: AgedTable[] = ['execution_results', 'execution_logs', 'execution_iterations', 'email_interactions', 'workflow_state', 'event_queue', 'audit_logs', 'files'];

/** The column (or expression, on PostgreSQL) that names each planted row. */
const labelOf: Record<AgedTable, string> = {
  execution_results: `execution_id || '/' || port_name`,
  execution_logs: 'message',
  execution_iterations: 'loop_node_id',
  email_interactions: 'interaction_id',
  workflow_state: 'state_key',
  event_queue: 'event_type',
  audit_logs: 'action',
  files: 'original_filename',
};

/** An execution, with one inline and one file result, a log and a loop pass, all dated by its start. */
async function plantExecution(db: Knex, id: string, workflowId: string, status: string, startedAt: string | null, options: { undatedPass?: boolean } = {}): Promise<void> {
  const finishedAt = terminal.includes(status) ? startedAt : null;
  await db('executions').insert({ id, workflow_id: workflowId, status, execution_source: 'api', execution_mode: 'parallel', started_by: 'system', started_at: startedAt, completed_at: finishedAt, updated_at: startedAt });
  const at = startedAt ?? ago(100);
  await db('execution_results').insert([
    { execution_id: id, node_id: 'n', port_name: 'inline', data_type: 'text', content: 'x', byte_size: 1, created_at: at },
    { execution_id: id, node_id: 'n', port_name: 'file', data_type: 'text', content: null, file_path: `results/${id}/n.file.1.dat`, byte_size: 20_000, created_at: at },
  ]);
  await db('execution_logs').insert({ execution_id: id, node_id: 'n', level: 'info', event: 'node_completed', message: `log:${id}`, created_at: at });
  const passAt = options.undatedPass ? null : at;
  await db('execution_iterations').insert({ execution_id: id, loop_node_id: `pass:${id}`, iteration_number: 0, status: 'completed', started_at: passAt, completed_at: passAt });
}

async function plantEvent(db: Knex, label: string, status: string, executionId: string | null, at: string | null, createdAt = at ?? ago(20)): Promise<void> {
  const runAt = Date.parse(createdAt);
  await db('event_queue').insert({
    workflow_id: 'wf-a', event_type: label, source: 'api', priority: 3, status, run_at: runAt, sort_key: runAt, execution_id: executionId,
    created_at: createdAt, finished_at: terminal.includes(status) ? at : null, updated_at: at,
  });
}

async function plantInteraction(db: Knex, label: string, executionId: string | null, status: string, createdAt: string, expiresAt: string | null): Promise<void> {
  await db('email_interactions').insert({ interaction_id: label, workflow_id: 'wf-a', execution_id: executionId, node_id: 'approve', interaction_type: 'approval', status, created_at: createdAt, expires_at: expiresAt });
}

/**
 * The same rows on either database, in the same order, so ids agree. Workflow a: five finished runs
 * beyond the newest two (a running one counts among the newest), and live work of every kind; workflow
 * b: an undated run, which SQLite ranks oldest.
 */
async function plantRows(db: Knex): Promise<void> {
  for (const id of ['wf-a', 'wf-b']) await db('workflows').insert({ id, name: id, workflow_data: JSON.stringify({ nodes: [], connections: [] }), created_at: ago(365) });
  await plantExecution(db, 'a-01', 'wf-a', 'completed', ago(100));
  await plantExecution(db, 'a-02', 'wf-a', 'completed', ago(99));
  await plantExecution(db, 'a-03', 'wf-a', 'failed', ago(98));
  await plantExecution(db, 'a-04', 'wf-a', 'cancelled', ago(97));
  await plantExecution(db, 'a-05', 'wf-a', 'completed', ago(2));
  await plantExecution(db, 'a-06', 'wf-a', 'completed', ago(1));
  await plantExecution(db, 'a-live-running', 'wf-a', 'running', ago(0.5));
  await plantExecution(db, 'a-live-paused', 'wf-a', 'paused', ago(140));
  // Failed, but its event was re-queued: live.
  await plantExecution(db, 'a-requeued', 'wf-a', 'failed', ago(130));
  await plantExecution(db, 'b-01', 'wf-b', 'completed', ago(50));
  await plantExecution(db, 'b-02', 'wf-b', 'completed', ago(40), { undatedPass: true });
  await plantExecution(db, 'B-undated', 'wf-b', 'completed', null);

  await plantInteraction(db, 'i-surplus', 'a-01', 'approved', ago(1), null);
  await plantInteraction(db, 'i-answered-old', 'b-01', 'approved', ago(60), null);
  await plantInteraction(db, 'i-open-old', 'b-01', 'pending', ago(60), ago(-5));
  await plantInteraction(db, 'i-expired-old', 'b-01', 'pending', ago(60), ago(10));
  await plantInteraction(db, 'i-live', 'a-live-paused', 'approved', ago(60), null);
  await plantInteraction(db, 'i-new', 'b-01', 'approved', ago(1), null);
  await plantInteraction(db, 'i-orphan', null, 'approved', ago(60), null);

  for (const [label, expiresAt] of [['s-expired', ago(1)], ['s-future', ago(-1)], ['s-forever', null]] as const) {
    await db('workflow_state').insert({ workflow_id: 'wf-a', namespace: 'default', state_key: label, state_value: JSON.stringify(1), created_at: ago(100), expires_at: expiresAt });
  }

  await plantEvent(db, 'e-orphan-old', 'completed', null, ago(20));
  await plantEvent(db, 'e-finished-old', 'completed', 'b-01', ago(20));
  await plantEvent(db, 'e-requeued-old', 'failed', 'a-requeued', ago(20));
  await plantEvent(db, 'e-requeued-pending', 'pending', 'a-requeued', ago(130));
  await plantEvent(db, 'e-paused', 'paused', 'a-live-paused', ago(140));
  await plantEvent(db, 'e-running', 'processing', 'a-live-running', ago(20));
  await plantEvent(db, 'e-new', 'completed', 'a-06', ago(1));
  await plantEvent(db, 'e-a01', 'completed', 'a-01', ago(2));
  // Neither finished nor updated: dated by its creation.
  await plantEvent(db, 'e-undated-finish', 'cancelled', null, null, ago(20));

  for (const [label, at] of [['audit-old', ago(100)], ['audit-mid', ago(60)], ['audit-new', ago(1)]] as const) {
    await db('audit_logs').insert({ action: label, created_at: at });
  }

  for (const [label, executionId, at] of [
    ['f-orphan-old', null, ago(40)],
    ['f-finished-old', 'b-02', ago(40)],
    ['f-live-old', 'a-live-running', ago(40)],
    ['f-new', null, ago(1)],
    ['f-surplus', 'a-01', ago(1)],
  ] as const) {
    await db('files').insert({ workflow_id: 'wf-a', execution_id: executionId, original_filename: label, stored_filename: label, file_path: `uploads/${label}`, created_at: at });
  }
}

describe('PostgreSQL retention, twin of SQLite', function () {
  let sqlite: SqliteStore;
  let sqliteDataDir: string;
  let pgSchema: PgTestSchema;
  let pg: PgRetention;
  let failed = false;

  /** Runs `step` on both backends; their answers must be equal. Returns PostgreSQL's. */
  async function both<T>(step: (store: RetentionStore) => Promise<T>): Promise<T> {
    const fromSqlite = await step(sqlite.retention());
    const fromPg = await step(pg);
    expect(fromPg, 'PostgreSQL answers as SQLite does').to.deep.equal(fromSqlite);
    return fromPg;
  }

  /** The labels of the given rows of `table` (ids agree on both backends), sorted. */
  async function labels(table: AgedTable, ids: number[]): Promise<string[]> {
    const found = await pgSchema.db.raw(`SELECT ${labelOf[table]} AS label FROM ${table} WHERE id IN (SELECT (jsonb_array_elements_text(?::jsonb))::bigint)`, [JSON.stringify(ids)]);
    return (found.rows as Array<{ label: string }>).map((row) => row.label).sort();
  }

  /** Labels of every row of `table` left, checked equal on both backends. */
  async function remaining(table: AgedTable): Promise<string[]> {
    const sqliteKnex = openKnexSqlite(path.join(sqliteDataDir, 'tav_engine.db'));
    try {
      const fromSqlite = (await sqliteKnex(table).select('id').orderBy('id')).map((row: { id: number }) => Number(row.id));
      const fromPg = (await pgSchema.db(table).select('id').orderBy('id')).map((row: { id: string }) => Number(row.id));
      expect(fromPg, `${table} rows left`).to.deep.equal(fromSqlite);
      return labels(table, fromPg);
    } finally {
      await sqliteKnex.destroy();
    }
  }

  /** Plants the same rows on both backends. */
  async function plantOnBoth(plant: (db: Knex) => Promise<void>): Promise<void> {
    const sqliteKnex = openKnexSqlite(path.join(sqliteDataDir, 'tav_engine.db'));
    try {
      await plant(sqliteKnex);
    } finally {
      await sqliteKnex.destroy();
    }
    await plant(pgSchema.db);
  }

  before(async function () {
    const clock = { now: () => nowMs };
    const opened = await openTestStore('pg-twin-retention', clock);
    sqlite = opened.store;
    sqliteDataDir = opened.dataDir;
    pgSchema = await openPgTestSchema('retention', clock);
    pg = new PgRetention(pgSchema.context);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    await sqlite?.close();
    await pgSchema?.close(failed);
  });

  describe('an empty database', function () {
    it('has no id range, nothing due and nothing to delete', async function () {
      for (const table of agedTables) expect(await both((store) => store.idRange(table)), table).to.equal(null);
      expect(await both((store) => store.findSurplusExecutions(0))).to.deep.equal([]);
      expect(await both((store) => store.findAged('audit_logs', cutoffs, 0, 1_000))).to.deep.equal([]);
      expect(await both((store) => store.deleteExecutions(['none']))).to.deep.equal([]);
    });
  });

  describe('execution history', function () {
    const surplus = ['B-undated', 'a-01', 'a-02', 'a-03', 'a-04', 'a-05'];

    before(async function () {
      await plantOnBoth(plantRows);
    });

    it('finds finished executions beyond the newest `keep` per workflow, live ones counted among the newest but never found', async function () {
      expect(await both((store) => store.findSurplusExecutions(2))).to.deep.equal(surplus);
      expect(await both((store) => store.findSurplusExecutions(100))).to.deep.equal([]);
      // keep 0: every finished execution, and none of the live ones.
      expect(await both((store) => store.findSurplusExecutions(0))).to.deep.equal(['B-undated', 'a-01', 'a-02', 'a-03', 'a-04', 'a-05', 'a-06', 'b-01', 'b-02']);
    });

    it('counts the rows of executions, and those naming a file', async function () {
      const counts = await both(async (store) => Promise.all(executionRowTables.map((table) => store.countExecutionRows(table, surplus))));
      expect(counts).to.deep.equal([{ rows: 12, files: 6 }, { rows: 6, files: 0 }, { rows: 6, files: 0 }, { rows: 1, files: 0 }]);
      expect(await both((store) => store.countExecutionRows('execution_logs', []))).to.deep.equal({ rows: 0, files: 0 });
    });

    it('deletes execution rows at most `limit` at a time, and none of a live execution', async function () {
      const listed = [...surplus, 'a-requeued', 'a-live-running'];
      const batches = await both(async (store) => {
        const deleted: Record<string, number[]> = {};
        const filePaths: string[] = [];
        for (const table of executionRowTables) {
          deleted[table] = [];
          for (;;) {
            const batch = await store.deleteExecutionRows(table, listed, 5);
            deleted[table]!.push(batch.deleted);
            filePaths.push(...batch.filePaths);
            if (batch.deleted < 5) break;
          }
        }
        return { deleted, filePaths: filePaths.sort() };
      });
      expect(batches.deleted).to.deep.equal({ execution_results: [5, 5, 2], execution_logs: [5, 1], execution_iterations: [5, 1], email_interactions: [1] });
      expect(batches.filePaths).to.deep.equal(surplus.map((id) => `results/${id}/n.file.1.dat`).sort());
      expect(await remaining('execution_logs')).to.deep.equal(['log:a-06', 'log:a-live-paused', 'log:a-live-running', 'log:a-requeued', 'log:b-01', 'log:b-02']);
    });

    it('deletes the executions still finished; their events stay, unlinked', async function () {
      const deleted = await both(async (store) => (await store.deleteExecutions([...surplus, 'a-requeued', 'a-live-running', 'a-live-paused', 'a-missing'])).sort());
      expect(deleted).to.deep.equal(surplus);
      expect(await both((store) => store.deleteExecutions([]))).to.deep.equal([]);
      const unlinked = await pgSchema.db('event_queue').where({ event_type: 'e-a01' }).first('execution_id');
      expect(unlinked).to.deep.equal({ execution_id: null });
      expect(await both((store) => store.findSurplusExecutions(2))).to.deep.equal([]);
    });
  });

  describe('rows by age', function () {
    const due: Record<AgedTable, string[]> = {
      execution_results: ['b-01/file', 'b-01/inline', 'b-02/file', 'b-02/inline'],
      execution_logs: ['log:b-01', 'log:b-02'],
      execution_iterations: ['pass:b-01', 'pass:b-02'],
      email_interactions: ['i-answered-old', 'i-expired-old', 'i-orphan'],
      workflow_state: ['s-expired'],
      event_queue: ['e-finished-old', 'e-orphan-old', 'e-undated-finish'],
      audit_logs: ['audit-old'],
      files: ['f-finished-old', 'f-orphan-old'],
    };
    const kept: Record<AgedTable, string[]> = {
      execution_results: ['a-06/file', 'a-06/inline', 'a-live-paused/file', 'a-live-paused/inline', 'a-live-running/file', 'a-live-running/inline', 'a-requeued/file', 'a-requeued/inline'],
      execution_logs: ['log:a-06', 'log:a-live-paused', 'log:a-live-running', 'log:a-requeued'],
      execution_iterations: ['pass:a-06', 'pass:a-live-paused', 'pass:a-live-running', 'pass:a-requeued'],
      email_interactions: ['i-live', 'i-new', 'i-open-old'],
      workflow_state: ['s-forever', 's-future'],
      event_queue: ['e-a01', 'e-new', 'e-paused', 'e-requeued-old', 'e-requeued-pending', 'e-running'],
      audit_logs: ['audit-mid', 'audit-new'],
      files: ['f-live-old', 'f-new', 'f-surplus'],
    };

    it('tells each table\'s id range', async function () {
      for (const table of agedTables) {
        const range = (await both((store) => store.idRange(table)))!;
        const [{ min, max }] = await pgSchema.db(table).min('id as min').max('id as max');
        expect(range, table).to.deep.equal({ min: Number(min), max: Number(max) });
      }
    });

    it('finds the due rows of each table in an id window, by id, with their execution and file', async function () {
      for (const table of agedTables) {
        const found = await both(async (store) => {
          const range = (await store.idRange(table))!;
          return store.findAged(table, cutoffs, range.min - 1, range.max);
        });
        expect(await labels(table, found.map((row) => row.id)), table).to.deep.equal(due[table]);
        expect(found.map((row) => row.id), `${table} by id`).to.deep.equal([...found.map((row) => row.id)].sort((a, b) => a - b));
      }
      const results = await both((store) => store.findAged('execution_results', cutoffs, 0, 1_000));
      expect(results.map((row) => [row.executionId, row.filePath])).to.deep.equal([
        ['b-01', null],
        ['b-01', 'results/b-01/n.file.1.dat'],
        ['b-02', null],
        ['b-02', 'results/b-02/n.file.1.dat'],
      ]);
      const state = await both((store) => store.findAged('workflow_state', cutoffs, 0, 1_000));
      expect(state.map((row) => [row.executionId, row.filePath])).to.deep.equal([[null, null]]);
      const files = await both((store) => store.findAged('files', cutoffs, 0, 1_000));
      expect(files.map((row) => [row.executionId, row.filePath])).to.deep.equal([[null, 'uploads/f-orphan-old'], ['b-02', 'uploads/f-finished-old']]);
    });

    it('reads only inside the window it is given', async function () {
      const range = (await both((store) => store.idRange('audit_logs')))!;
      expect(await both((store) => store.findAged('audit_logs', cutoffs, range.min - 1, range.min - 1))).to.deep.equal([]);
      expect((await both((store) => store.findAged('audit_logs', cutoffs, range.min - 1, range.min))).map((row) => row.id)).to.deep.equal([range.min]);
      expect(await both((store) => store.findAged('audit_logs', cutoffs, range.min, range.max))).to.deep.equal([]);
    });

    it('deletes of the ids given only those still due, and hands back the files they named', async function () {
      const filePaths: Partial<Record<AgedTable, string[]>> = { execution_results: ['results/b-01/n.file.1.dat', 'results/b-02/n.file.1.dat'], files: ['uploads/f-finished-old', 'uploads/f-orphan-old'] };
      for (const table of agedTables) {
        // Every id of the table, due or not: the delete repeats the rule.
        const everyId = (await pgSchema.db(table).select('id')).map((row: { id: string }) => Number(row.id));
        const deleted = await both(async (store) => {
          const outcome = await store.deleteAged(table, everyId, cutoffs);
          return { deleted: outcome.deleted, filePaths: outcome.filePaths.sort() };
        });
        expect(deleted, table).to.deep.equal({ deleted: due[table].length, filePaths: filePaths[table] ?? [] });
        expect(await remaining(table), table).to.deep.equal(kept[table]);
      }
      expect(await both((store) => store.deleteAged('execution_results', [], cutoffs))).to.deep.equal({ deleted: 0, filePaths: [] });
      for (const table of agedTables) expect(await both((store) => store.findAged(table, cutoffs, 0, 1_000)), table).to.deep.equal([]);
    });
  });

  describe('result files', function () {
    /** Writes the files one backend's results folder holds; returns that folder. */
    function plantResultFiles(resultsDir: string): string {
      for (const file of ['b-01/n.file.1.dat', 'b-01/kept.dat', 'b-02/n.file.1.dat', 'a-01/n.file.1.dat', 'a-01/other.dat']) {
        fs.mkdirSync(path.dirname(path.join(resultsDir, file)), { recursive: true });
        fs.writeFileSync(path.join(resultsDir, file), 'result');
      }
      fs.writeFileSync(path.join(path.dirname(resultsDir), 'outside.txt'), 'not a result');
      return resultsDir;
    }

    it('removes the named files and deleted executions\' folders, emptied folders too, and nothing outside the results folder', async function () {
      const sqliteResults = plantResultFiles(path.join(sqliteDataDir, 'results'));
      const pgResults = plantResultFiles(pgSchema.context.resultsDir);
      const removed = await both((store) =>
        store.removeResultFiles(['results/b-01/n.file.1.dat', 'results/b-02/n.file.1.dat', 'outside.txt', 'results/../outside.txt', 'results'], ['a-01', '..', '']),
      );
      expect(removed).to.equal(2);
      for (const resultsDir of [sqliteResults, pgResults]) {
        expect(fs.existsSync(path.join(resultsDir, 'b-01/kept.dat')), 'a file not named stays').to.equal(true);
        expect(fs.existsSync(path.join(resultsDir, 'b-01/n.file.1.dat'))).to.equal(false);
        expect(fs.existsSync(path.join(resultsDir, 'b-02')), 'an emptied folder goes').to.equal(false);
        expect(fs.existsSync(path.join(resultsDir, 'a-01')), 'a deleted execution\'s folder goes').to.equal(false);
        expect(fs.existsSync(path.join(path.dirname(resultsDir), 'outside.txt'))).to.equal(true);
        expect(fs.existsSync(resultsDir)).to.equal(true);
      }
    });
  });

  describe('beside other daemons (PostgreSQL only)', function () {
    async function plantHeld(db: Knex, id: string): Promise<number> {
      await plantExecution(db, id, 'wf-a', 'completed', ago(100));
      const [row] = await db('execution_logs').where({ execution_id: id }).select('id');
      return Number(row.id);
    }

    /** Resolves once some backend waits for a lock `holderPid` holds (a condition polled with a deadline). */
    async function blockedBy(holderPid: number): Promise<void> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const found = await pgSchema.db.raw('SELECT 1 FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))', [holderPid]);
        if (found.rows.length > 0) return;
        if (Date.now() > deadline) throw new Error('no statement waited for the held row');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }

    it('skips, without waiting, an execution another transaction holds (a re-queue not yet committed)', async function () {
      const logId = await plantHeld(pgSchema.db, 'c-held');
      const holder = await pgSchema.db.transaction();
      try {
        await holder('executions').where({ id: 'c-held' }).update({ status: 'pending' });
        expect(await pg.deleteExecutionRows('execution_logs', ['c-held'], 10)).to.deep.equal({ deleted: 0, filePaths: [] });
        expect(await pg.deleteAged('execution_logs', [logId], cutoffs)).to.deep.equal({ deleted: 0, filePaths: [] });
        expect(await pg.deleteExecutions(['c-held'])).to.deep.equal([]);
      } finally {
        await holder.rollback();
      }
      // Released and still finished: the next run takes it.
      expect(await pg.deleteAged('execution_logs', [logId], cutoffs)).to.deep.equal({ deleted: 1, filePaths: [] });
      expect(await pg.deleteExecutions(['c-held'])).to.deep.equal(['c-held']);
    });

    it('keeps an execution re-queued by another daemon before the delete took its lock', async function () {
      await plantHeld(pgSchema.db, 'c-requeued');
      const holder = await pgSchema.db.transaction();
      await holder('executions').where({ id: 'c-requeued' }).update({ status: 'pending' });
      await holder.commit();
      expect(await pg.deleteExecutionRows('execution_results', ['c-requeued'], 10)).to.deep.equal({ deleted: 0, filePaths: [] });
      expect(await pg.deleteExecutions(['c-requeued'])).to.deep.equal([]);
    });

    it('keeps a state key set again while the delete waited for its row', async function () {
      await pgSchema.db('workflow_state').insert({ workflow_id: 'wf-a', namespace: 'default', state_key: 's-set-again', state_value: JSON.stringify(1), created_at: ago(10), expires_at: ago(1) });
      const { id } = await pgSchema.db('workflow_state').where({ state_key: 's-set-again' }).first('id');
      expect((await pg.findAged('workflow_state', cutoffs, Number(id) - 1, Number(id))).map((row) => row.id)).to.deep.equal([Number(id)]);
      const holder = await pgSchema.db.transaction();
      const pid = Number((await holder.raw('SELECT pg_backend_pid() AS pid')).rows[0].pid);
      await holder('workflow_state').where({ id }).update({ expires_at: ago(-1) });
      const deleting = pg.deleteAged('workflow_state', [Number(id)], cutoffs);
      try {
        await blockedBy(pid);
      } finally {
        await holder.commit();
      }
      expect(await deleting).to.deep.equal({ deleted: 0, filePaths: [] });
      expect(await pgSchema.db('workflow_state').where({ id }).first('state_key')).to.deep.equal({ state_key: 's-set-again' });
    });
  });
});
