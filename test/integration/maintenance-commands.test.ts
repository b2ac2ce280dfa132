// The maintenance commands as an operator runs them, on a real database beside (or without) a real
// daemon: check-stuck finds and repairs planted stuck executions, check-db and tables report in text
// and JSON, reset keeps the system user and the settings, vacuum and analyze run beside the daemon.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { expectOk } from '../helpers/api-assertions.js';
import { makeDataDir, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, readDatabase, removeIfPassed, waitForStatus } from '../helpers/queue-runs.js';
import { runTav } from '../helpers/tav-cli.js';
import { oneNode } from '../helpers/workflows.js';
import { repairStuckExecution, selectRunningExecutions } from '../../src/store/sqlite/stuck-sql.js';

/** Plants an execution marked running and the event that should carry it, as a dead daemon leaves them. */
function plantRunning(db: Database.Database, workflowId: string, event: { status: string; leaseOwner: string | null; leaseExpiresAt: number | null; attempts?: number }): { executionId: string; eventId: number } {
  const executionId = randomUUID();
  const now = new Date().toISOString();
  db.prepare(`INSERT INTO executions (id, workflow_id, status, execution_source, execution_mode, started_by, started_at, updated_at) VALUES (?, ?, 'running', 'api', 'parallel', 'system', ?, ?)`).run(executionId, workflowId, now, now);
  const eventId = Number(
    db
      .prepare(
        `INSERT INTO event_queue (workflow_id, event_type, event_data, source, priority, status, run_at, sort_key, lease_owner, lease_token, lease_expires_at, attempts, max_attempts, execution_id, created_at, processed_at, updated_at)
         VALUES (?, 'manual', '{}', 'api', 3, ?, ?, ?, ?, ?, ?, ?, 3, ?, ?, ?, ?)`,
      )
      .run(workflowId, event.status, Date.now() - 60_000, Date.now() - 60_000, event.leaseOwner, event.leaseOwner ? randomUUID() : null, event.leaseExpiresAt, event.attempts ?? 1, executionId, now, now, now).lastInsertRowid,
  );
  db.prepare('UPDATE executions SET event_id = ? WHERE id = ?').run(eventId, executionId);
  return { executionId, eventId };
}

function rowsOf(dbPath: string, executionId: string) {
  return readDatabase(dbPath, (db) => ({
    execution: db.prepare('SELECT status, error_message FROM executions WHERE id = ?').get(executionId) as { status: string; error_message: string | null },
    event: db.prepare('SELECT status, attempts, lease_owner FROM event_queue WHERE execution_id = ?').get(executionId) as { status: string; attempts: number; lease_owner: string | null },
  }));
}

describe('maintenance commands', function () {
  this.timeout(60_000);
  const daemons: TestDaemon[] = [];
  let dataDir: string | undefined;

  afterEach(async function () {
    for (const d of daemons) await d.stop('SIGKILL');
    daemons.length = 0;
    removeIfPassed(this.currentTest, dataDir);
    dataDir = undefined;
  });

  async function start(): Promise<TestDaemon> {
    const daemon = await startDaemon({ dataDir });
    dataDir = daemon.dataDir;
    daemons.push(daemon);
    return daemon;
  }

  async function stop(daemon: TestDaemon): Promise<void> {
    expect(await daemon.stop()).to.equal(0);
    daemons.splice(daemons.indexOf(daemon), 1);
  }

  it('check-stuck finds executions without a live lease, --fix repairs them, and the next start finishes them', async function () {
    const first = await start();
    const workflowId = await createWorkflow(first, oneNode());
    const deadPid = first.process.pid!;
    await stop(first);

    const db = new Database(first.dbPath);
    const expired = plantRunning(db, workflowId, { status: 'processing', leaseOwner: 'another-host:4242', leaseExpiresAt: Date.now() - 60_000, attempts: 2 });
    const deadOwner = plantRunning(db, workflowId, { status: 'processing', leaseOwner: `${hostname()}:${deadPid}`, leaseExpiresAt: Date.now() + 600_000 });
    const finishedEvent = plantRunning(db, workflowId, { status: 'completed', leaseOwner: null, leaseExpiresAt: null });
    // Held by a live process of this host (this test): long runs outlast their lease, this is not stuck.
    const live = plantRunning(db, workflowId, { status: 'processing', leaseOwner: `${hostname()}:${process.pid}`, leaseExpiresAt: Date.now() - 60_000 });
    db.close();

    const found = await runTav(['check-stuck', '--json'], first.dataDir);
    expect(found.code, found.stderr).to.equal(1);
    const report = JSON.parse(found.stdout);
    expect(report.stuck).to.equal(3);
    const byId = Object.fromEntries(report.executions.map((e: { execution_id: string }) => [e.execution_id, e]));
    expect(byId[expired.executionId]).to.include({ repair: 'requeue', event_status: 'processing', outcome: null });
    expect(byId[expired.executionId].reason).to.match(/lease of another-host:4242 expired/);
    expect(byId[deadOwner.executionId]).to.include({ repair: 'requeue' });
    expect(byId[deadOwner.executionId].reason).to.match(/not running/);
    expect(byId[finishedEvent.executionId]).to.include({ repair: 'fail', reason: 'its event is completed' });
    expect(byId[live.executionId]).to.equal(undefined);

    const text = await runTav(['check-stuck'], first.dataDir);
    expect(text.code).to.equal(1);
    expect(text.stdout).to.match(/^3 stuck execution\(s\)\n/);
    expect(text.stdout).to.include(expired.executionId).and.include('would requeue').and.include('run with --fix');

    const fixed = await runTav(['check-stuck', '--fix', '--json'], first.dataDir);
    expect(fixed.code, fixed.stderr).to.equal(0);
    expect(JSON.parse(fixed.stdout)).to.include({ stuck: 3, fixed: 3 });
    expect(rowsOf(first.dbPath, expired.executionId)).to.deep.equal({ execution: { status: 'pending', error_message: null }, event: { status: 'pending', attempts: 1, lease_owner: null } });
    expect(rowsOf(first.dbPath, deadOwner.executionId).event.status).to.equal('pending');
    const failed = rowsOf(first.dbPath, finishedEvent.executionId).execution;
    expect(failed.status).to.equal('failed');
    expect(failed.error_message).to.match(/marked failed by tav check-stuck: its event is completed/);
    expect(rowsOf(first.dbPath, live.executionId).execution.status).to.equal('running');

    const clean = await runTav(['check-stuck'], first.dataDir);
    expect(clean.code).to.equal(0);
    expect(clean.stdout).to.equal('no stuck executions\n');

    // The re-queued events run to the end on the next start.
    const second = await start();
    await waitForStatus(second, expired.eventId, 'completed');
    await waitForStatus(second, deadOwner.eventId, 'completed');
    const beside = await runTav(['check-stuck', '--json'], second.dataDir);
    expect(beside.code, 'read beside a running daemon').to.equal(0);
  });

  it('check-stuck --fix --fail fails them instead, and a repair changes nothing when the rows moved meanwhile', async function () {
    const first = await start();
    const workflowId = await createWorkflow(first, oneNode());
    await stop(first);
    const db = new Database(first.dbPath);
    const planted = plantRunning(db, workflowId, { status: 'processing', leaseOwner: 'another-host:1', leaseExpiresAt: Date.now() - 1_000 });
    const moved = plantRunning(db, workflowId, { status: 'processing', leaseOwner: 'another-host:1', leaseExpiresAt: Date.now() - 1_000 });
    // Seen, then touched by "the daemon" before the repair: the guard leaves it alone.
    const seen = selectRunningExecutions(db).find((row) => row.executionId === moved.executionId)!;
    db.prepare('UPDATE executions SET updated_at = ? WHERE id = ?').run(new Date(Date.now() + 1_000).toISOString(), moved.executionId);
    expect(repairStuckExecution(db, seen, 'fail', 'test', Date.now())).to.equal(false);
    db.close();
    expect(rowsOf(first.dbPath, moved.executionId).execution.status).to.equal('running');

    const usage = await runTav(['check-stuck', '--fail'], first.dataDir);
    expect(usage.code, '--fail without --fix').to.equal(2);
    const unknownOption = await runTav(['check-stuck', '--bogus'], first.dataDir);
    expect(unknownOption.code).to.equal(2);

    const fixed = await runTav(['check-stuck', '--fix', '--fail'], first.dataDir);
    expect(fixed.code, fixed.stderr).to.equal(0);
    expect(fixed.stdout).to.include('fail: done');
    const rows = rowsOf(first.dbPath, planted.executionId);
    expect(rows.execution.status).to.equal('failed');
    expect(rows.event.status).to.equal('failed');
  });

  it('check-db and tables report in text and JSON, beside a running daemon', async function () {
    const daemon = await start();
    const workflowId = await createWorkflow(daemon, oneNode());
    await waitForStatus(daemon, (await enqueue(daemon, workflowId)).id, 'completed');

    const json = await runTav(['check-db', '--json'], daemon.dataDir);
    expect(json.code, json.stderr).to.equal(0);
    const report = JSON.parse(json.stdout);
    expect(report).to.include({ ok: true, database: daemon.dbPath, daemon_pid: daemon.process.pid });
    expect(report.integrity).to.deep.equal({ mode: 'full', ok: true, problems: [] });
    expect(report.schema.status).to.equal('current');
    expect(report.file_size_bytes).to.be.greaterThan(0);
    expect(report.wal_size_bytes).to.be.a('number');
    const rows = Object.fromEntries(report.tables.map((t: { table: string; rows: number }) => [t.table, t.rows]));
    expect(rows.event_queue).to.equal(1);
    expect(rows.users).to.equal(1);
    expect(Object.keys(rows)).to.include.members(['workflows', 'executions', 'execution_results', 'settings', 'audit_logs', 'knex_migrations']);

    const text = await runTav(['check-db', '--quick'], daemon.dataDir);
    expect(text.code).to.equal(0);
    expect(text.stdout).to.match(/^database: {3}.*tav_engine\.db\n/);
    expect(text.stdout).to.match(/\nintegrity: {2}ok \(quick check\)\n/);
    expect(text.stdout).to.match(/\nevent_queue +1\n/);
    expect(text.stdout).to.match(new RegExp(`running \\(pid ${daemon.process.pid}\\)`));
    expect(text.stdout.trimEnd().endsWith('OK')).to.equal(true);

    const tables = await runTav(['tables', '--json'], daemon.dataDir);
    expect(tables.code).to.equal(0);
    const eventQueue = JSON.parse(tables.stdout).tables.find((t: { table: string }) => t.table === 'event_queue');
    const columnCount = readDatabase(daemon.dbPath, (db) => (db.prepare('SELECT COUNT(*) AS n FROM pragma_table_info(?)').get('event_queue') as { n: number }).n);
    expect(eventQueue.column_count).to.equal(columnCount);
    expect(eventQueue.foreign_keys).to.deep.include({ column: 'workflow_id', references: 'workflows', references_column: 'id', on_delete: 'CASCADE' });
    expect(eventQueue.indexes).to.deep.include({ name: 'idx_event_queue_claim', columns: ['status', 'sort_key', 'id'], unique: false, partial: false });
    const tablesText = await runTav(['tables'], daemon.dataDir);
    expect(tablesText.stdout).to.match(/^event_queue \(\d+ columns\)\n {2}execution_id → executions\.id \(on delete set null\)/m);
    expect(tablesText.stdout).to.match(/\n\d+ tables, \d+ foreign keys, \d+ indexes\n$/);
  });

  it('check-db fails on a damaged or missing database', async function () {
    dataDir = makeDataDir('check-db-bad');
    const missing = await runTav(['check-db'], dataDir);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.match(/no database at/);
    expect(fs.existsSync(path.join(dataDir, 'tav_engine.db')), 'a check does not create the database').to.equal(false);

    const made = await runTav(['migrate'], dataDir);
    expect(made.code, made.stderr).to.equal(0);
    const damaged = path.join(dataDir, 'damaged.db');
    const bytes = fs.readFileSync(path.join(dataDir, 'tav_engine.db'));
    bytes.fill(0x5a, 4096 * 2, 4096 * 6);
    fs.writeFileSync(damaged, bytes);
    const run = await runTav(['check-db', '--json'], dataDir, { env: { TAV_DB_PATH: damaged } });
    expect(run.code, run.stdout + run.stderr).to.equal(1);
    if (run.stdout.startsWith('{') && !JSON.parse(run.stdout).error) expect(JSON.parse(run.stdout).integrity.ok).to.equal(false);
  });

  it('reset refuses without --yes and beside a daemon, then deletes all data but the system user and the settings', async function () {
    const daemon = await start();
    const workflowId = await createWorkflow(daemon, oneNode());
    await waitForStatus(daemon, (await enqueue(daemon, workflowId)).id, 'completed');
    expectOk(await daemon.request('PUT', '/api/v1/settings/execution', { max_retries: 7 }));
    const alice = await runTav(['users', 'create', '--name', 'alice'], daemon.dataDir);
    expect(alice.code, alice.stderr).to.equal(0);

    const beside = await runTav(['reset', '--yes'], daemon.dataDir);
    expect(beside.code).to.equal(3);
    expect(beside.stderr).to.match(/refusing to reset while a daemon/);
    await stop(daemon);

    const unconfirmed = await runTav(['reset', '--json'], daemon.dataDir);
    expect(unconfirmed.code).to.equal(2);
    expect(JSON.parse(unconfirmed.stdout).error.code).to.equal('confirmation_required');
    expect(readDatabase(daemon.dbPath, (db) => (db.prepare('SELECT COUNT(*) AS n FROM workflows WHERE id = ?').get(workflowId) as { n: number }).n)).to.equal(1);

    const reset = await runTav(['reset', '--yes', '--json'], daemon.dataDir);
    expect(reset.code, reset.stderr).to.equal(0);
    const removed = JSON.parse(reset.stdout).removed;
    expect(removed.users).to.equal(1);
    expect(removed.event_queue).to.equal(1);
    readDatabase(daemon.dbPath, (db) => {
      const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      for (const table of ['workflows', 'executions', 'event_queue', 'execution_logs', 'api_keys', 'audit_logs']) expect(count(table), table).to.equal(0);
      expect(db.prepare('SELECT id, user_name FROM users').all()).to.deep.equal([{ id: 1, user_name: 'system' }]);
      expect((db.prepare(`SELECT value FROM settings WHERE category = 'execution' AND key = 'max_retries'`).get() as { value: unknown }).value).to.equal(7);
    });
    expect(fs.existsSync(`${daemon.dbPath}.lock`), 'the lock is released').to.equal(false);

    // The emptied database starts: a new bootstrap key, the example templates seeded again.
    const again = await start();
    expect(again.key).not.to.equal(daemon.key);
    expectOk(await again.request('GET', '/api/v1/workflows'));
  });

  it('vacuum and analyze run beside a running daemon, which keeps working', async function () {
    const daemon = await start();
    const workflowId = await createWorkflow(daemon, oneNode());
    const vacuum = await runTav(['vacuum', '--json'], daemon.dataDir);
    expect(vacuum.code, vacuum.stderr).to.equal(0);
    const sizes = JSON.parse(vacuum.stdout);
    expect(sizes.before_bytes).to.be.greaterThan(0);
    expect(sizes.daemon_pid).to.equal(daemon.process.pid);
    const analyze = await runTav(['analyze'], daemon.dataDir);
    expect(analyze.code, analyze.stderr).to.equal(0);
    expect(analyze.stdout).to.match(/^analyzed/);
    expect(readDatabase(daemon.dbPath, (db) => db.prepare(`SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'`).get())).to.not.equal(undefined);
    await waitForStatus(daemon, (await enqueue(daemon, workflowId)).id, 'completed');
  });
});
