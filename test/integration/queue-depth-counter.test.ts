// The per-workflow pending count that migration 006's triggers keep (workflow_queue_depth) stays equal
// to COUNT(*) of pending events through every way event_queue changes: the daemon's own queue SQL on
// a real SQLite file, writes of other processes (maintenance commands, reset, a workflow delete that
// cascades), and on PostgreSQL at the schema level, including the backfill of rows that existed
// before the migration.
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { expect } from 'chai';
import knexFactory from 'knex';
import type { Knex } from 'knex';
import { migrationSource } from '../../migrations/index.js';
import { migrateToLatest } from '../../src/store/migrate.js';
import { countPendingOfWorkflow } from '../../src/store/sqlite/claim-sql.js';
import { openWriteConnection } from '../../src/store/sqlite/connection.js';
import {
  cancelExecution,
  cancelPendingEvent,
  claimEvents,
  finishRun,
  insertEvent,
  requeueExecution,
  rescueOrphans,
} from '../../src/store/sqlite/event-queue-sql.js';
import { openKnexSqlite } from '../../src/store/sqlite/knex-sqlite.js';
import { deleteAllData } from '../../src/store/sqlite/reset-sql.js';
import { repairStuckExecution, selectRunningExecutions } from '../../src/store/sqlite/stuck-sql.js';
import { deleteWorkflow } from '../../src/store/sqlite/workflow-sql.js';
import { removeIfAllPassed } from '../helpers/api-assertions.js';
import { makeDataDir, prepareDatabase } from '../helpers/daemon.js';

const pgUrl = process.env.TAV_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const migratorConfig = { migrationSource, tableName: 'knex_migrations' };

/** Pending events per workflow, counted the slow way and as the counter table holds them (0 rows left out). */
interface Depths {
  counted: Record<string, number>;
  kept: Record<string, number>;
}

const pendingCountSql = `SELECT workflow_id, COUNT(*) AS n FROM event_queue WHERE status = 'pending' GROUP BY workflow_id`;
const keptCountSql = `SELECT workflow_id, pending AS n FROM workflow_queue_depth WHERE pending <> 0`;
const orphanSql = `SELECT COUNT(*) AS n FROM workflow_queue_depth d WHERE NOT EXISTS (SELECT 1 FROM workflows w WHERE w.id = d.workflow_id)`;

function toRecord(rows: Array<{ workflow_id: string; n: number | string }>): Record<string, number> {
  return Object.fromEntries(rows.map((row) => [row.workflow_id, Number(row.n)]));
}

/** A tiny deterministic generator, so a failing mix can be replayed. */
function seededRandom(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state % below;
  };
}

describe('workflow queue depth counter on SQLite', function () {
  const workflows = ['wf-a', 'wf-b', 'wf-c', 'wf-d'];
  let dataDir: string;
  let db: Database.Database;
  let clockMs = 1_700_000_000_000;
  const now = () => (clockMs += 7);

  before(async function () {
    dataDir = makeDataDir('queue-depth');
    await prepareDatabase(dataDir);
    db = openWriteConnection(path.join(dataDir, 'tav_engine.db'), 'NORMAL');
    for (const id of workflows) insertBareWorkflow(db, id);
  });

  after(function () {
    db?.close();
    removeIfAllPassed(this.test!.parent!, dataDir);
  });

  function insertBareWorkflow(target: Database.Database, id: string): void {
    target.prepare(`INSERT INTO workflows (id, name, workflow_data, created_at) VALUES (?, ?, '{"nodes":[],"connections":[]}', ?)`).run(id, id, new Date().toISOString());
  }

  function depths(): Depths {
    return { counted: toRecord(db.prepare(pendingCountSql).all() as never), kept: toRecord(db.prepare(keptCountSql).all() as never) };
  }

  function expectExact(when: string): void {
    const { counted, kept } = depths();
    expect(kept, when).to.deep.equal(counted);
    expect(Number((db.prepare(orphanSql).get() as { n: number }).n), `${when}: orphan counter rows`).to.equal(0);
    expect(Number((db.prepare(`SELECT COUNT(*) AS n FROM workflow_queue_depth WHERE pending < 0`).get() as { n: number }).n), `${when}: negative`).to.equal(0);
    for (const id of workflows) expect(countPendingOfWorkflow(db, id), `${when}: ${id}`).to.equal(counted[id] ?? 0);
  }

  function enqueue(workflowId: string, dedupKey: string | null = null, maxPending = Number.POSITIVE_INFINITY) {
    const runAt = clockMs - 1_000;
    return insertEvent(db, { workflowId, eventType: 'test', eventData: {}, priority: 3, source: 'api', runAt, maxAttempts: 3, dedupKey }, runAt, now(), maxPending);
  }

  function finish(claimed: ReturnType<typeof claimEvents>[number], event: Parameters<typeof finishRun>[1]['event']): boolean {
    const executionStatus = event.kind === 'completed' ? 'completed' : event.kind === 'failed' ? 'failed' : 'pending';
    return finishRun(db, { eventId: claimed.id, leaseToken: claimed.leaseToken, executionId: claimed.executionId, executionStatus, nodeResults: {}, finalOutputs: {}, errorMessage: null, executionMetadata: null, event }, now());
  }

  it('refuses an enqueue exactly at the limit and has room again once an event is claimed', function () {
    for (let i = 0; i < 3; i += 1) expect(enqueue('wf-d', null, 3)).to.have.property('created', true);
    expect(enqueue('wf-d', null, 3)).to.deep.equal({ full: true });
    // A dedup hit adds nothing, so a full workflow still answers it.
    expect(enqueue('wf-d', 'same', 4)).to.have.property('created', true);
    expect(enqueue('wf-d', 'same', 4)).to.have.property('created', false);
    expect(countPendingOfWorkflow(db, 'wf-d')).to.equal(4);
    claimEvents(db, 1, 'test', 60_000, now(), 10);
    expect(countPendingOfWorkflow(db, 'wf-d')).to.equal(3);
    expect(enqueue('wf-d', null, 4)).to.have.property('created', true);
    expect(countPendingOfWorkflow(db, 'wf-unknown')).to.equal(0);
    expectExact('after the limit checks');
  });

  /** A re-queue that collides with a live event's dedup key is refused whole, counter changes included (as in the writer's transaction). */
  function requeueRolledBackOnConflict(executionId: string): void {
    try {
      db.transaction(() => requeueExecution(db, executionId, (_priority, runAt) => runAt, now()))();
    } catch (error) {
      if ((error as { code?: string }).code !== 'dedup_key_taken') throw error;
    }
  }

  it('equals COUNT(*) through a mix of enqueues, claims, finishes, retries, releases, cancels, requeues and rescues', function () {
    const random = seededRandom(42);
    let inFlight: ReturnType<typeof claimEvents> = [];
    const ended: string[] = [];
    const outcomes: Array<Parameters<typeof finishRun>[1]['event']> = [
      { kind: 'completed' },
      { kind: 'failed', error: 'boom' },
      { kind: 'retry', runAt: clockMs, error: 'again' },
      { kind: 'released' },
    ];
    for (let step = 0; step < 600; step += 1) {
      const op = random(10);
      const workflowId = workflows[random(workflows.length)]!;
      if (op <= 2) {
        enqueue(workflowId, random(4) === 0 ? `k${random(5)}` : null, 1 + random(30));
      } else if (op === 3) {
        inFlight.push(...claimEvents(db, 1 + random(4), 'test', 60_000, now(), 1 + random(3)));
      } else if (op <= 5 && inFlight.length > 0) {
        const [claimed] = inFlight.splice(random(inFlight.length), 1);
        const outcome = outcomes[random(outcomes.length)]!;
        finish(claimed!, outcome.kind === 'retry' ? { ...outcome, runAt: clockMs - 1 } : outcome);
        if (outcome.kind === 'completed' || outcome.kind === 'failed') ended.push(claimed!.executionId);
      } else if (op === 6) {
        const pending = db.prepare(`SELECT id FROM event_queue WHERE status = 'pending' ORDER BY id`).all() as Array<{ id: number }>;
        if (pending.length > 0) cancelPendingEvent(db, pending[random(pending.length)]!.id, now());
      } else if (op === 7 && inFlight.length > 0) {
        const [claimed] = inFlight.splice(random(inFlight.length), 1);
        cancelExecution(db, claimed!.executionId, now());
        ended.push(claimed!.executionId);
      } else if (op === 8 && ended.length > 0) {
        requeueRolledBackOnConflict(ended.splice(random(ended.length), 1)[0]!);
      } else if (op === 9 && random(10) === 0) {
        rescueOrphans(db, now());
        inFlight = [];
      }
      if (step % 25 === 0) expectExact(`after step ${step}`);
    }
    expectExact('after the mix');
    expect(Object.values(depths().counted).reduce((sum, n) => sum + n, 0), 'the mix left pending events').to.be.greaterThan(0);
  });

  it('follows a check-stuck repair, deletes of pending and finished events, and a moved event', function () {
    claimEvents(db, 3, 'test', 60_000, now(), 3);
    for (const seen of selectRunningExecutions(db).filter((row) => row.eventStatus === 'processing')) {
      repairStuckExecution(db, seen, seen.eventId! % 2 === 0 ? 'requeue' : 'fail', 'stuck', now());
    }
    expectExact('after check-stuck repairs');
    db.prepare(`DELETE FROM event_queue WHERE id IN (SELECT id FROM event_queue WHERE status = 'pending' ORDER BY id LIMIT 3)`).run();
    db.prepare(`DELETE FROM event_queue WHERE status IN ('completed', 'failed', 'cancelled')`).run();
    expectExact('after deletes');
    db.prepare(`UPDATE event_queue SET workflow_id = 'wf-a' WHERE id = (SELECT MAX(id) FROM event_queue WHERE status = 'pending' AND workflow_id <> 'wf-a')`).run();
    expectExact('after moving a pending event to another workflow');
  });

  it('leaves no counter behind when a workflow with pending events is deleted', function () {
    enqueue('wf-b');
    enqueue('wf-b');
    // The API refuses to delete a busy workflow; another process may still do it, and the cascade must count.
    db.prepare(`DELETE FROM workflows WHERE id = 'wf-b'`).run();
    expect(db.prepare(`SELECT * FROM workflow_queue_depth WHERE workflow_id = 'wf-b'`).all()).to.deep.equal([]);
    expectExact('after deleting a busy workflow');
    insertBareWorkflow(db, 'wf-b');
    enqueue('wf-b');
    expect(countPendingOfWorkflow(db, 'wf-b')).to.equal(1);
    cancelPendingEvent(db, Number((db.prepare(`SELECT id FROM event_queue WHERE workflow_id = 'wf-b' AND status = 'pending'`).get() as { id: number }).id), now());
    expect(deleteWorkflow(db, 'wf-b')).to.equal('deleted');
    expectExact('after deleting an idle workflow');
  });

  it('is empty after a reset', function () {
    db.transaction(() => deleteAllData(db, 1))();
    expect(db.prepare(`SELECT COUNT(*) AS n FROM workflow_queue_depth`).get()).to.deep.equal({ n: 0 });
  });
});

/** One dialect's fresh database, migrated to the newest schema. */
interface SchemaFixture {
  knex: Knex;
  dispose(keep: boolean): Promise<void>;
}

async function openSqliteSchema(): Promise<SchemaFixture> {
  const dir = makeDataDir('queue-depth-schema');
  const knex = openKnexSqlite(path.join(dir, 'tav_engine.db'));
  return { knex, dispose: async () => knex.destroy() };
}

async function openPostgresSchema(): Promise<SchemaFixture> {
  const schema = `tav_test_${randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: pgUrl, pool: { min: 0, max: 1 } });
  await admin.raw('CREATE SCHEMA ??', [schema]);
  const knex = knexFactory({ client: 'pg', connection: pgUrl, searchPath: [schema], pool: { min: 0, max: 2 } });
  return {
    knex,
    async dispose(keep) {
      await knex.destroy();
      if (keep) console.error(`queue depth test: PostgreSQL schema kept as ${schema}`);
      else await admin.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
      await admin.destroy();
    },
  };
}

function describeSchema(name: string, open: () => Promise<SchemaFixture>): void {
  describe(`workflow queue depth triggers on ${name}`, function () {
    let fixture: SchemaFixture;
    let knex: Knex;
    let failed = false;
    const workflowIds = [randomUUID(), randomUUID(), randomUUID()];
    let sortKey = 0;

    before(async function () {
      fixture = await open();
      knex = fixture.knex;
      await migrateToLatest(knex);
    });

    afterEach(function () {
      if (this.currentTest?.state === 'failed') failed = true;
    });

    after(async function () {
      await fixture?.dispose(failed);
    });

    async function expectExact(when: string): Promise<void> {
      const counted = toRecord(await knex.raw(pendingCountSql).then(rowsOf));
      const kept = toRecord(await knex.raw(keptCountSql).then(rowsOf));
      expect(kept, when).to.deep.equal(counted);
      const [orphans] = await knex.raw(orphanSql).then(rowsOf);
      expect(Number(orphans.n), `${when}: orphans`).to.equal(0);
    }

    function rowsOf(result: unknown): any[] {
      return Array.isArray(result) ? result : (result as { rows: any[] }).rows;
    }

    function events(workflowId: string, statuses: string[]) {
      return statuses.map((status) => ({ workflow_id: workflowId, event_type: 'test', event_data: '{}', status, run_at: 0, sort_key: (sortKey += 1), created_at: new Date().toISOString() }));
    }

    it('backfills the counts of events that existed before the migration', async function () {
      await knex.migrate.down(migratorConfig);
      expect(await knex.schema.hasTable('workflow_queue_depth')).to.equal(false);
      for (const id of workflowIds) {
        await knex('workflows').insert({ id, name: id, workflow_data: JSON.stringify({ nodes: [], connections: [] }), created_at: new Date().toISOString() });
      }
      await knex('event_queue').insert(events(workflowIds[0]!, ['pending', 'pending', 'processing', 'completed']));
      await knex('event_queue').insert(events(workflowIds[1]!, ['pending', 'failed']));
      await knex.migrate.up(migratorConfig);
      expect(toRecord(await knex.raw(keptCountSql).then(rowsOf))).to.deep.equal({ [workflowIds[0]!]: 2, [workflowIds[1]!]: 1 });
      await expectExact('after the backfill');
    });

    it('counts inserts, status changes, moves and deletes of any writer', async function () {
      const [a, b, c] = workflowIds as [string, string, string];
      await knex('event_queue').insert(events(c, ['pending', 'pending', 'paused']));
      await expectExact('after inserts');
      await knex('event_queue').where({ workflow_id: a, status: 'pending' }).update({ status: 'processing' });
      await knex('event_queue').where({ workflow_id: a, status: 'processing' }).update({ status: 'pending' });
      await knex('event_queue').where({ workflow_id: c, status: 'paused' }).update({ status: 'pending' });
      await knex('event_queue').where({ workflow_id: b }).update({ status: 'cancelled' });
      await expectExact('after status changes');
      // Setting status to the value it already has counts nothing twice.
      await knex('event_queue').where({ workflow_id: c, status: 'pending' }).update({ status: 'pending', attempts: 1 });
      await knex('event_queue').where({ workflow_id: a }).update({ lease_owner: 'x' });
      await expectExact('after updates that change nothing pending');
      const [moved] = await knex('event_queue').where({ workflow_id: c, status: 'pending' }).orderBy('id').limit(1).pluck('id');
      await knex('event_queue').where({ id: moved }).update({ workflow_id: b });
      await expectExact('after a move');
      await knex('event_queue').where({ status: 'completed' }).del();
      await knex('event_queue').where({ workflow_id: b, status: 'pending' }).del();
      await expectExact('after deletes');
    });

    it('drops the counter row with its workflow, pending events and all', async function () {
      const [a] = workflowIds as [string];
      expect(await knex('event_queue').where({ workflow_id: a, status: 'pending' }).count({ n: '*' }).then((rows) => Number(rows[0]!.n))).to.be.greaterThan(0);
      await knex('workflows').where({ id: a }).del();
      expect(await knex('workflow_queue_depth').where({ workflow_id: a })).to.deep.equal([]);
      await expectExact('after the workflow delete');
    });

    it('rolls back to event_queue without triggers', async function () {
      await knex.migrate.down(migratorConfig);
      expect(await knex.schema.hasTable('workflow_queue_depth')).to.equal(false);
      await knex('event_queue').insert(events(workflowIds[2]!, ['pending']));
      await knex.migrate.up(migratorConfig);
      await expectExact('after down and up again');
    });
  });
}

describeSchema('SQLite', openSqliteSchema);
describeSchema('PostgreSQL', openPostgresSchema);
