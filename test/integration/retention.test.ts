// Retention against the real daemon and the real `tav cleanup`: keeps exactly N executions per
// workflow, ages out results, logs, events, state, audit rows, uploads and temp files, never touches
// unfinished work, and a dry run changes nothing.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { createWorkflow, enqueue, expectError, expectOk, removeIfAllPassed } from '../helpers/api-assertions.js';
import { makeDataDir, prepareDatabase, startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { countRows, daysAgo, plantEvent, plantExecution, plantExecutionRows, plantInteraction, withDb } from '../helpers/retention-rows.js';
import { runTav } from '../helpers/tav-cli.js';
import { node, oneNode, slowNode, workflowBody } from '../helpers/workflows.js';
import { runToEnd, waitForNodeStarted } from '../helpers/workflow-runs.js';

// Above the smallest inline limit (16384 bytes), so each run's result is stored as a file.
const bigText = () => workflowBody('big output', [node('input', 'text_input', { text: 'x'.repeat(20_000) })]);

async function upload(daemon: TestDaemon, text: string): Promise<any> {
  const form = new FormData();
  form.append('file', new Blob([text], { type: 'text/plain' }), 'note.txt');
  const response = await fetch(`${daemon.baseUrl}/api/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${daemon.key}` }, body: form });
  expect(response.status).to.equal(201);
  return response.json();
}

/** Writes each file; those in `stale` get a modification time two hours back. */
function plantFiles(files: string[], stale: string[]): void {
  const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
  for (const file of files) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, 'partial');
    if (stale.includes(file)) fs.utimesSync(file, twoHoursAgo, twoHoursAgo);
  }
}

function retentionLogLine(daemon: TestDaemon): Record<string, number> | null {
  const line = daemon.output().split('\n').find((text) => text.includes('"retention removed expired data"'));
  return line ? JSON.parse(line) : null;
}

describe('retention', function () {
  const daemons: TestDaemon[] = [];
  const dirs: string[] = [];
  const start = async (options: Parameters<typeof startDaemon>[0]) => {
    const daemon = await startDaemon(options);
    daemons.push(daemon);
    dirs.push(daemon.dataDir);
    return daemon;
  };

  after(async function () {
    await Promise.all(daemons.map((daemon) => daemon.stop('SIGTERM')));
    removeIfAllPassed(this.test!.parent!, ...dirs);
  });

  it('keeps exactly max_execution_history executions per workflow, with their results, and leaves other workflows alone', async function () {
    // Only execution.max_execution_history is lowered: the stricter of it and storage's applies.
    const daemon = await start({ settings: { execution: { max_execution_history: 10, payload_inline_max_bytes: 16384 }, storage: { auto_cleanup: false } } });
    const busy = await createWorkflow(daemon, bigText());
    const other = await createWorkflow(daemon, oneNode());
    const runs: string[] = [];
    for (let i = 0; i < 15; i++) runs.push((await runToEnd(daemon, busy)).execution.id);
    for (let i = 0; i < 3; i++) await runToEnd(daemon, other);
    const resultsDir = path.join(daemon.dataDir, 'results');
    expect(runs.every((id) => fs.existsSync(path.join(resultsDir, id)))).to.equal(true);

    const report = expectOk(await daemon.request('POST', '/api/v1/admin/cleanup'));
    expect(report.dry_run).to.equal(false);
    expect(report.tables.executions).to.equal(5);
    expect(report.disk.result_files).to.equal(5);

    const kept = expectOk(await daemon.request('GET', `/api/v1/executions?workflow_id=${busy}&limit=100`)).items.map((e: any) => e.id);
    expect([...kept].sort()).to.deep.equal(runs.slice(5).sort());
    for (const id of runs.slice(5)) {
      expect(expectOk(await daemon.request('GET', `/api/v1/executions/${id}/results`)).items).to.have.length.greaterThan(0);
      expect(fs.existsSync(path.join(resultsDir, id))).to.equal(true);
    }
    for (const id of runs.slice(0, 5)) {
      expectError(await daemon.request('GET', `/api/v1/executions/${id}`), 404, 'not_found');
      expect(fs.existsSync(path.join(resultsDir, id))).to.equal(false);
      expect(countRows(daemon.dbPath, 'execution_logs', 'execution_id = ?', id)).to.equal(0);
      expect(countRows(daemon.dbPath, 'execution_results', 'execution_id = ?', id)).to.equal(0);
    }
    expect(expectOk(await daemon.request('GET', `/api/v1/executions?workflow_id=${other}&limit=100`)).items).to.have.length(3);
    expect(retentionLogLine(daemon)).to.include({ executions: 5, execution_results: 5 });
    // A second run finds nothing more.
    expect(expectOk(await daemon.request('POST', '/api/v1/admin/cleanup')).total_rows).to.equal(0);
  });

  it('never touches a pending, running or paused execution or anything of it, however old', async function () {
    const daemon = await start({
      settings: { execution: { max_execution_history: 10 }, storage: { auto_cleanup: false, result_storage_days: 1, event_retention_days: 1 } },
      env: { TAV_SHUTDOWN_GRACE_MS: '200' },
    });
    const workflowId = await createWorkflow(daemon, slowNode(60_000));
    const held = await enqueue(daemon, workflowId);
    const running = await waitForNodeStarted(daemon, held.id, 'slow');
    const delayed = await enqueue(daemon, workflowId, { delay_ms: 3_600_000 });
    const old = daysAgo(400);
    withDb(daemon.dbPath, (db) => {
      // Twelve newer finished runs: the running and paused ones rank beyond the ten kept.
      for (let i = 0; i < 12; i++) {
        plantExecution(db, `finished-${i}`, workflowId, 'completed', new Date(Date.now() - (i + 1) * 60_000).toISOString());
        plantExecutionRows(db, `finished-${i}`, old);
      }
      db.prepare(`UPDATE executions SET started_at = ? WHERE id = ?`).run(old, running);
      db.prepare(`UPDATE execution_logs SET created_at = ? WHERE execution_id = ?`).run(old, running);
      plantExecutionRows(db, running, old);
      db.prepare(`UPDATE event_queue SET created_at = ?, updated_at = ? WHERE id IN (?, ?)`).run(old, old, held.id, delayed.id);
      plantExecution(db, 'paused-1', workflowId, 'paused', old);
      plantExecutionRows(db, 'paused-1', old);
      plantEvent(db, workflowId, 'paused', 'paused-1', old);
      plantInteraction(db, 'answered-of-paused', workflowId, 'paused-1', 'approved', old, old);
      plantInteraction(db, 'open-of-paused', workflowId, 'paused-1', 'pending', old, daysAgo(-1));
    });
    const rowsOf = (id: string) => ['execution_results', 'execution_logs', 'execution_iterations', 'email_interactions'].map((table) => countRows(daemon.dbPath, table, 'execution_id = ?', id));
    const before = { running: rowsOf(running), paused: rowsOf('paused-1') };

    // An upload abandoned two hours ago, and one still arriving.
    const incoming = path.join(daemon.dataDir, 'uploads', '.incoming');
    plantFiles([path.join(incoming, 'abandoned.part'), path.join(incoming, 'arriving.part')], [path.join(incoming, 'abandoned.part')]);

    // `tav cleanup` beside the running daemon, then the daemon's own run.
    const cli = await runTav(['cleanup', '--json'], daemon.dataDir);
    expect(cli.code, cli.stderr).to.equal(0);
    const report = JSON.parse(cli.stdout);
    expect(report.tables.executions).to.equal(2);
    expect(report.disk.temp_files).to.equal(1);
    expect(fs.readdirSync(incoming)).to.deep.equal(['arriving.part']);
    expect(expectOk(await daemon.request('POST', '/api/v1/admin/cleanup')).tables.executions).to.equal(0);

    expect(rowsOf(running)).to.deep.equal(before.running);
    expect(rowsOf('paused-1')).to.deep.equal(before.paused);
    expect(expectOk(await daemon.request('GET', `/api/v1/executions/${running}`)).status).to.equal('running');
    expect(expectOk(await daemon.request('GET', '/api/v1/executions/paused-1')).status).to.equal('paused');
    expect(expectOk(await daemon.request('GET', `/api/v1/events/${held.id}`)).status).to.equal('processing');
    expect(expectOk(await daemon.request('GET', `/api/v1/events/${delayed.id}`)).status).to.equal('pending');
    expect(countRows(daemon.dbPath, 'event_queue', "status = 'paused'")).to.equal(1);
    // The ten newest finished runs stay as executions; their planted rows were old enough to go.
    expect(countRows(daemon.dbPath, 'executions', "id LIKE 'finished-%'")).to.equal(10);
    expect(countRows(daemon.dbPath, 'execution_logs', "execution_id LIKE 'finished-%'")).to.equal(0);
  });

  it('ages out results, logs, events, state, audit rows, uploads and temp files; a dry run only counts them', async function () {
    const dataDir = makeDataDir('retention-age');
    dirs.push(dataDir);
    const first = await start({ dataDir, settings: { execution: { payload_inline_max_bytes: 16384 }, storage: { auto_cleanup: false } } });
    const workflowId = await createWorkflow(first, bigText());
    const oldRun = (await runToEnd(first, workflowId)).execution.id as string;
    const newRun = (await runToEnd(first, workflowId)).execution.id as string;
    const oldUpload = await upload(first, 'old');
    const newUpload = await upload(first, 'new');
    expect(await first.stop(), first.output()).to.equal(0);

    // csv_writer's temp files (a start-up already clears the upload folder's .incoming/: see the test above).
    const exportsDir = path.join(dataDir, 'exports');
    const staleTemp = [path.join(exportsDir, '.report.csv.0123456789ab.tmp'), path.join(exportsDir, '.other.csv.ba9876543210.tmp')];
    const freshTemp = path.join(exportsDir, '.report.csv.aaaaaaaaaaaa.tmp');
    const notTemp = path.join(exportsDir, 'report.csv');
    plantFiles([...staleTemp, freshTemp, notTemp], staleTemp.concat(notTemp));
    withDb(first.dbPath, (db) => {
      const old = daysAgo(40);
      db.prepare(`UPDATE executions SET started_at = ?, completed_at = ? WHERE id = ?`).run(old, old, oldRun);
      for (const table of ['execution_results', 'execution_logs']) db.prepare(`UPDATE ${table} SET created_at = ? WHERE execution_id = ?`).run(old, oldRun);
      db.prepare(`UPDATE event_queue SET finished_at = ? WHERE execution_id = ?`).run(daysAgo(8), oldRun);
      db.prepare(`UPDATE files SET created_at = ? WHERE id = ?`).run(old, oldUpload.id);
      db.prepare(`UPDATE audit_logs SET created_at = ? WHERE id = (SELECT MIN(id) FROM audit_logs)`).run(daysAgo(91));
      plantInteraction(db, 'answered-old', workflowId, oldRun, 'approved', old, old);
      plantInteraction(db, 'open-new', workflowId, newRun, 'pending', daysAgo(0), daysAgo(-1));
      const state = db.prepare(`INSERT INTO workflow_state (workflow_id, namespace, state_key, state_value, created_at, expires_at) VALUES (?, 'default', ?, '1', ?, ?)`);
      state.run(workflowId, 'expired', old, daysAgo(1));
      state.run(workflowId, 'alive', old, daysAgo(-1));
      state.run(workflowId, 'forever', old, null);
    });
    const tables = ['executions', 'execution_results', 'execution_logs', 'event_queue', 'workflow_state', 'audit_logs', 'files', 'email_interactions'];
    const counts = () => Object.fromEntries(tables.map((table) => [table, countRows(first.dbPath, table)]));
    const before = counts();
    const oldResults = countRows(first.dbPath, 'execution_results', 'execution_id = ?', oldRun);
    const oldResultFiles = countRows(first.dbPath, 'execution_results', 'execution_id = ? AND file_path IS NOT NULL', oldRun);
    const oldLogs = countRows(first.dbPath, 'execution_logs', 'execution_id = ?', oldRun);
    expect(oldResultFiles).to.be.greaterThan(0);

    const dry = await runTav(['cleanup', '--dry-run', '--json'], dataDir);
    expect(dry.code, dry.stderr).to.equal(0);
    const due = JSON.parse(dry.stdout);
    expect(due.dry_run).to.equal(true);
    expect(due.tables).to.include({ executions: 0, execution_results: oldResults, execution_logs: oldLogs, event_queue: 1, workflow_state: 1, audit_logs: 1, files: 1, email_interactions: 1 });
    expect(due.disk).to.deep.equal({ result_files: oldResultFiles, upload_files: 1, temp_files: 2 });
    const text = await runTav(['cleanup', '--dry-run'], dataDir);
    expect(text.stdout).to.match(/^dry run: nothing was changed/).and.match(/^ {2}workflow_state +1$/m);
    expect(counts()).to.deep.equal(before);
    expect([...staleTemp, freshTemp].every((file) => fs.existsSync(file))).to.equal(true);

    // auto_cleanup on: the restarted daemon runs retention shortly after start, on its own.
    await prepareDatabase(dataDir, { storage: { auto_cleanup: true } });
    const second = await start({ dataDir });
    const logged = await waitFor(() => retentionLogLine(second), 'the start-up retention run');
    expect(logged).to.include({ ...due.tables, ...due.disk });
    const after = counts();
    for (const table of tables) expect(after[table], table).to.equal(before[table]! - due.tables[table]);
    expect(countRows(first.dbPath, 'execution_results', 'execution_id = ?', newRun)).to.be.greaterThan(0);
    expect(countRows(first.dbPath, 'workflow_state', "state_key IN ('alive', 'forever')")).to.equal(2);
    expect(fs.existsSync(path.join(dataDir, 'results', oldRun))).to.equal(false);
    expect(fs.existsSync(path.join(dataDir, 'results', newRun))).to.equal(true);
    expect(fs.existsSync(path.join(dataDir, oldUpload.file_path))).to.equal(false);
    expect(fs.existsSync(path.join(dataDir, newUpload.file_path))).to.equal(true);
    expect(staleTemp.some((file) => fs.existsSync(file))).to.equal(false);
    expect(fs.existsSync(freshTemp)).to.equal(true);
    expect(fs.existsSync(notTemp)).to.equal(true);
    expectError(await second.request('GET', `/api/v1/files/${oldUpload.id}`), 404, 'not_found');
  });

  it('answers bad input on the cleanup route with the error shape', async function () {
    const daemon = daemons.find((candidate) => candidate.process.exitCode === null) ?? (await start({}));
    expectError(await daemon.request('POST', '/api/v1/admin/cleanup?dry_run=maybe'), 400, 'validation_failed');
    expectError(await daemon.request('POST', '/api/v1/admin/cleanup?dry_run=true&dry_run=false'), 400, 'validation_failed');
    expectError(await daemon.request('POST', '/api/v1/admin/cleanup', undefined, { authorization: '' }), 401, 'unauthorized');
    const reader = expectOk(await daemon.request('POST', '/api/v1/api-keys', { name: 'reader', scopes: ['read'] }), 201);
    const asReader = await fetch(`${daemon.baseUrl}/api/v1/admin/cleanup?dry_run=true`, { method: 'POST', headers: { authorization: `Bearer ${reader.key}` } });
    expect(asReader.status).to.equal(403);
    const dry = expectOk(await daemon.request('POST', '/api/v1/admin/cleanup?dry_run=1'));
    expect(dry.dry_run).to.equal(true);
  });
});
