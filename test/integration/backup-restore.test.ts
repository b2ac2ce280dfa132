// Backups are consistent copies taken while the daemon works; restore swaps one in only when it is
// sound, of a schema we know, and no daemon holds the database — and keeps the file it replaced.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { expectError, expectOk } from '../helpers/api-assertions.js';
import { makeDataDir, prepareDatabase, startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, readDatabase, removeIfPassed } from '../helpers/queue-runs.js';
import { runTav } from '../helpers/tav-cli.js';
import { oneNode, workflowBody, node } from '../helpers/workflows.js';

const ourBackupName = /^tav_engine-\d{8}T\d{6}Z(-\d+)?\.db$/;

function integrityOf(file: string): string {
  return readDatabase(file, (db) => (db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check);
}

function workflowNames(file: string): string[] {
  return readDatabase(file, (db) => (db.prepare('SELECT name FROM workflows WHERE is_template = 0 ORDER BY name').all() as Array<{ name: string }>).map((row) => row.name));
}

describe('backup and restore', function () {
  this.timeout(90_000);
  const daemons: TestDaemon[] = [];
  let dataDir: string | undefined;

  afterEach(async function () {
    for (const d of daemons) await d.stop('SIGKILL');
    daemons.length = 0;
    removeIfPassed(this.currentTest, dataDir);
    dataDir = undefined;
  });

  async function start(options: Parameters<typeof startDaemon>[0] = {}): Promise<TestDaemon> {
    const daemon = await startDaemon({ dataDir, ...options });
    dataDir = daemon.dataDir;
    daemons.push(daemon);
    return daemon;
  }

  it('takes a valid backup while 5,000 events are processed, holding every event answered before it began', async function () {
    const daemon = await start({ settings: { execution: { max_queue_depth_per_workflow: 10_000, max_concurrent_runs_global: 16 } } });
    const workflowId = await createWorkflow(daemon, oneNode());
    const total = 5_000;
    const beforeBackup = 4_000;
    const answered: number[] = [];
    const enqueueRange = async (from: number, to: number) => {
      const concurrency = 100;
      for (let sent = from; sent < to; sent += concurrency) {
        const chunk = Array.from({ length: Math.min(concurrency, to - sent) }, (_, i) => daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, event_data: { n: sent + i } }));
        for (const response of await Promise.all(chunk)) {
          expect(response.status, JSON.stringify(response.body)).to.equal(202);
          answered.push(response.body.id as number);
        }
      }
    };
    await enqueueRange(0, beforeBackup);
    const answeredBefore = [...answered];
    // The backup runs while the rest is enqueued and the daemon keeps running events.
    const [backup] = await Promise.all([runTav(['backup', '--json'], daemon.dataDir, { deadlineMs: 60_000 }), enqueueRange(beforeBackup, total)]);
    expect(backup.code, backup.stderr).to.equal(0);
    const result = JSON.parse(backup.stdout);
    expect(result.file).to.match(ourBackupName);
    expect(path.dirname(result.path)).to.equal(path.join(daemon.dataDir, 'backups'));
    expect(result.size_bytes).to.equal(fs.statSync(result.path).size);
    expect(answered).to.have.length(total);

    expect(integrityOf(result.path)).to.equal('ok');
    const inCopy = new Set(readDatabase(result.path, (db) => (db.prepare('SELECT id FROM event_queue').all() as Array<{ id: number }>).map((row) => Number(row.id))));
    const missing = answeredBefore.filter((id) => !inCopy.has(id));
    expect(missing, 'events answered 202 before the backup began but absent from it').to.deep.equal([]);
    // No partial copies are left behind.
    expect(fs.readdirSync(path.dirname(result.path)).filter((name) => !ourBackupName.test(name))).to.deep.equal([]);
    // The daemon went on: every event is still processed to the end.
    await waitFor(async () => (await daemon.request('GET', '/api/v1/queue')).body.depth.completed === total, `all ${total} events completed`, 60_000);
  });

  it('keeps the newest N of its own backups and leaves other files alone', async function () {
    dataDir = makeDataDir('backup-keep');
    await prepareDatabase(dataDir);
    const dest = path.join(dataDir, 'elsewhere');
    fs.mkdirSync(dest);
    const foreign = ['notes.txt', 'tav_engine-manual.db', 'tav_engine-20200101T000000Z.db.bak'];
    for (const name of foreign) fs.writeFileSync(path.join(dest, name), 'not ours');
    const written: string[] = [];
    for (let i = 0; i < 4; i++) {
      const run = await runTav(['backup', '--dest', dest, '--keep', '2', '--json'], dataDir);
      expect(run.code, run.stderr).to.equal(0);
      written.push(JSON.parse(run.stdout).file);
    }
    expect(new Set(written).size).to.equal(4);
    const left = fs.readdirSync(dest).sort();
    expect(left).to.deep.equal([...foreign, ...written.slice(2)].sort());

    const text = await runTav(['backup', '--dest', dest, '--keep', '1'], dataDir);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout).to.match(/^backup: .*tav_engine-\d{8}T\d{6}Z(-\d+)?\.db\nsize: .* \(\d+ bytes\)\nintegrity: ok\npruned: /);
    expect(fs.readdirSync(dest).filter((name) => ourBackupName.test(name))).to.have.length(1);

    const usage = await runTav(['backup', '--keep', '0'], dataDir);
    expect(usage.code).to.equal(2);
  });

  it('restores a backup: the data at backup time is back and the replaced database is kept aside', async function () {
    const first = await start();
    await createWorkflow(first, workflowBody('kept workflow', [node('input', 'text_input', { text: 'a' })]));
    const backup = expectOk(await first.request('POST', '/api/v1/admin/backup', {}), 201);
    expect(backup.file).to.match(ourBackupName);
    expect(backup.integrity).to.equal('ok');
    expect(fs.statSync(backup.path).size).to.equal(backup.size_bytes);
    await createWorkflow(first, workflowBody('added after the backup', [node('input', 'text_input', { text: 'b' })]));

    const refused = await runTav(['restore', backup.path], first.dataDir);
    expect(refused.code, 'refused while the daemon runs').to.equal(3);
    expect(refused.stderr).to.match(/refusing to restore while a daemon \(pid \d+\)/);
    expect(await first.stop()).to.equal(0);
    daemons.length = 0;
    expect(workflowNames(first.dbPath)).to.deep.equal(['added after the backup', 'kept workflow']);

    const restored = await runTav(['restore', backup.path, '--json'], first.dataDir);
    expect(restored.code, restored.stderr).to.equal(0);
    const report = JSON.parse(restored.stdout);
    expect(report.replaced_path).to.match(/tav_engine\.db\.replaced-\d{8}T\d{6}\d{3}Z$/);
    expect(workflowNames(report.replaced_path), 'the replaced database, whole').to.deep.equal(['added after the backup', 'kept workflow']);
    expect(fs.existsSync(`${first.dbPath}-wal`)).to.equal(false);
    expect(fs.existsSync(`${first.dbPath}-shm`)).to.equal(false);

    const second = await start();
    const listed = expectOk(await second.request('GET', '/api/v1/workflows?limit=100&offset=0'));
    const names = listed.items.map((w: { name: string }) => w.name);
    expect(names).to.include('kept workflow');
    expect(names).not.to.include('added after the backup');
    const check = await runTav(['check-db', '--json'], second.dataDir);
    expect(check.code, check.stdout).to.equal(0);
    expect(JSON.parse(check.stdout).schema.status).to.equal('current');
  });

  it('refuses a corrupt file, a file from a newer schema and a missing file, and leaves the database as it was', async function () {
    dataDir = makeDataDir('restore-refusals');
    await prepareDatabase(dataDir);
    const made = await runTav(['backup', '--json'], dataDir);
    expect(made.code, made.stderr).to.equal(0);
    const good = JSON.parse(made.stdout).path as string;

    const corrupt = path.join(dataDir, 'corrupt.db');
    const bytes = fs.readFileSync(good);
    // Keep the header, scribble over the b-tree pages.
    bytes.fill(0x5a, 4096, Math.min(bytes.length, 4096 * 12));
    fs.writeFileSync(corrupt, bytes);
    const garbage = path.join(dataDir, 'garbage.db');
    fs.writeFileSync(garbage, 'this is not a database'.repeat(500));

    const newer = path.join(dataDir, 'newer.db');
    fs.copyFileSync(good, newer);
    const db = new Database(newer);
    db.prepare('INSERT INTO knex_migrations (name, batch, migration_time) VALUES (?, ?, ?)').run('999_from_the_future', 99, new Date().toISOString());
    db.close();

    const before = fs.readFileSync(path.join(dataDir, 'tav_engine.db'));
    for (const [file, pattern] of [
      [corrupt, /integrity check|malformed/],
      [garbage, /integrity check|not a database/],
      [newer, /newer TAV Engine.*999_from_the_future|999_from_the_future.*newer/],
    ] as const) {
      const run = await runTav(['restore', file], dataDir);
      expect(run.code, `${file}: ${run.stderr}`).to.equal(1);
      expect(run.stderr).to.match(pattern);
    }
    const missing = await runTav(['restore', path.join(dataDir, 'nope.db'), '--json'], dataDir);
    expect(missing.code).to.equal(2);
    expect(JSON.parse(missing.stdout).error.code).to.equal('restore_missing');
    expect(fs.readFileSync(path.join(dataDir, 'tav_engine.db')).equals(before), 'the database is untouched').to.equal(true);
    expect(fs.readdirSync(dataDir).filter((name) => name.includes('.replaced-') || name.includes('.restoring-'))).to.deep.equal([]);
  });

  it('answers the backup route for admin keys only, with the error shape otherwise', async function () {
    const daemon = await start();
    expectError(await daemon.request('POST', '/api/v1/admin/backup', undefined, { authorization: '' }), 401, 'unauthorized');
    const reader = expectOk(await daemon.request('POST', '/api/v1/api-keys', { name: 'reader', scopes: ['read'] }), 201);
    const asReader = await fetch(`${daemon.baseUrl}/api/v1/admin/backup`, { method: 'POST', headers: { authorization: `Bearer ${reader.key}` } });
    expect(asReader.status).to.equal(403);
    expect(((await asReader.json()) as { error: { code: string } }).error.code).to.equal('forbidden');
    expectError(await daemon.request('POST', '/api/v1/admin/backup', { keep: 0 }), 400, 'validation_failed');
    expectError(await daemon.request('POST', '/api/v1/admin/backup', { dest: '/tmp' }), 400, 'validation_failed');
    expectError(await daemon.request('POST', '/api/v1/admin/backup', '{"keep":'), 400, 'malformed_json');
    const first = expectOk(await daemon.request('POST', '/api/v1/admin/backup'), 201);
    const second = expectOk(await daemon.request('POST', '/api/v1/admin/backup', { keep: 1 }), 201);
    expect(second.pruned).to.deep.equal([first.file]);
    expect(fs.readdirSync(path.join(daemon.dataDir, 'backups'))).to.deep.equal([second.file]);
    expect(integrityOf(second.path)).to.equal('ok');
  });

  it('writes backups on the schedule the backup settings describe', async function () {
    const daemon = await start({ settings: { backup: { auto_backup: true, backup_interval_hours: 24, backup_keep: 3 } } });
    const backupDir = path.join(daemon.dataDir, 'backups');
    await waitFor(() => fs.existsSync(backupDir) && fs.readdirSync(backupDir).some((name) => ourBackupName.test(name)), 'a scheduled backup', 20_000);
    await waitFor(() => daemon.output().includes('"message":"backup written"'), 'the backup to be logged', 5_000);
    const settings = expectOk(await daemon.request('GET', '/api/v1/settings/backup'));
    expect(settings.settings.auto_backup).to.equal(true);
    expectError(await daemon.request('PUT', '/api/v1/settings/backup', { backup_interval_hours: 0 }), 400, 'invalid_settings');
  });
});
