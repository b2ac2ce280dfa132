// The `tav` command as an operator runs it: `node bin/tav.js …` as a child process on a temp data
// folder, next to a running daemon where the command affects it.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { makeDataDir, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { expectError, expectOk, removeIfAllPassed } from '../helpers/api-assertions.js';
import { migrations } from '../../migrations/index.js';
import { runTav, type TavResult as CliResult } from '../helpers/tav-command.js';


/** The `key:` line of `tav keys create`. */
function printedKey(result: CliResult): { id: number; key: string } {
  const key = /^key: (\S+)$/m.exec(result.stdout)?.[1];
  const id = /^id: (\d+)$/m.exec(result.stdout)?.[1];
  expect(key, result.stdout).to.be.a('string');
  expect(id, result.stdout).to.be.a('string');
  return { id: Number(id), key: key! };
}

describe('tav command line', function () {
  let daemon: TestDaemon;
  const scratchDirs: string[] = [];
  /** A fresh data folder for a command that must not touch the daemon's. */
  const scratchDir = (label: string) => {
    const dir = makeDataDir(label);
    scratchDirs.push(dir);
    return dir;
  };

  before(async function () {
    // Debug level logs the most, so a key that leaked into any log line would show.
    daemon = await startDaemon({ env: { TAV_LOG_LEVEL: 'debug' } });
  });

  after(async function () {
    if (!daemon) return;
    expect(await daemon.stop('SIGTERM')).to.equal(0);
    removeIfAllPassed(this.test!.parent!, daemon.dataDir, ...scratchDirs);
  });

  describe('tav migrate', function () {
    it('applies the schema to a fresh data folder, after which --status lists nothing pending', async function () {
      const dataDir = scratchDir('cli-migrate');
      const before = await runTav(['migrate', '--status'], dataDir);
      expect(before.code).to.equal(0);
      // A status query does not create the database it reports on.
      expect(before.stdout).to.match(/^no database at .* every migration is pending/m);
      expect(fs.existsSync(path.join(dataDir, 'tav_engine.db'))).to.equal(false);

      const migrated = await runTav(['migrate'], dataDir);
      expect(migrated.code, migrated.stderr).to.equal(0);
      expect(migrated.stdout).to.contain('applied: 001_initial_schema');
      expect(fs.existsSync(path.join(dataDir, 'tav_engine.db'))).to.equal(true);

      const status = await runTav(['migrate', '--status'], dataDir);
      expect(status.code).to.equal(0);
      expect(status.stdout).to.include(`current: ${migrations.at(-1)!.name}\n`);
      expect(status.stdout).to.match(/^pending: \(none\)$/m);

      const again = await runTav(['migrate'], dataDir);
      expect(again.code).to.equal(0);
      expect(again.stdout).to.contain('(already current)');
    });

    it('creates a missing data folder', async function () {
      const dataDir = path.join(scratchDir('cli-fresh'), 'not', 'yet');
      const migrated = await runTav(['migrate'], path.dirname(path.dirname(dataDir)), { TAV_DATA_DIR: dataDir });
      expect(migrated.code, migrated.stderr).to.equal(0);
      expect(fs.existsSync(path.join(dataDir, 'tav_engine.db'))).to.equal(true);
    });

    it('refuses to roll back while a daemon uses the database', async function () {
      const result = await runTav(['migrate', '--rollback'], daemon.dataDir);
      expect(result.code).to.equal(3);
      expect(result.stderr).to.contain('refusing to roll back');
      expectOk(await daemon.request('GET', '/health/ready'));
    });
  });

  describe('tav keys', function () {
    let created: { id: number; key: string };

    before(async function () {
      const result = await runTav(['keys', 'create', '--name', 'x', '--scopes', 'read,enqueue'], daemon.dataDir);
      expect(result.code, result.stderr).to.equal(0);
      created = printedKey(result);
      expect(result.stdout).to.match(/^scopes: read,enqueue$/m);
    });

    it('creates a key that authenticates against the running daemon', async function () {
      expect(created.key).to.match(/^tav_/);
      expectOk(await daemon.request('GET', '/api/v1/queue', undefined, { authorization: `Bearer ${created.key}` }));
      expectOk(await daemon.request('GET', '/api/v1/events', undefined, { authorization: '', 'x-api-key': created.key }));
    });

    it('lists the key with its name and scopes but never the key itself', async function () {
      const result = await runTav(['keys', 'list'], daemon.dataDir);
      expect(result.code).to.equal(0);
      const line = result.stdout.split('\n').find((row) => row.startsWith(`${created.id}\t`));
      expect(line, result.stdout).to.be.a('string');
      expect(line).to.contain('\tactive\t').and.to.contain('read,enqueue').and.to.contain('\tx\t');
      expect(line).to.contain(created.key.slice(0, 12));
      expect(result.stdout).not.to.contain(created.key);
      expect(result.stdout).not.to.contain(daemon.key);
    });

    it('revokes the key, after which the running daemon answers it with 401', async function () {
      const { key, id } = printedKey(await runTav(['keys', 'create', '--name', 'short-lived'], daemon.dataDir));
      expectOk(await daemon.request('GET', '/api/v1/queue', undefined, { authorization: `Bearer ${key}` }));

      const revoked = await runTav(['keys', 'revoke', String(id)], daemon.dataDir);
      expect(revoked.code, revoked.stderr).to.equal(0);
      expect(revoked.stdout).to.contain(`revoked key ${id}`);
      expectError(await daemon.request('GET', '/api/v1/queue', undefined, { authorization: `Bearer ${key}` }), 401, 'unauthorized');

      const listed = await runTav(['keys', 'list'], daemon.dataDir);
      expect(listed.stdout.split('\n').find((row) => row.startsWith(`${id}\t`))).to.contain('\trevoked\t');
      expectOk(await daemon.request('GET', '/api/v1/queue'));
    });

    it('exits non-zero when revoking an unknown or already revoked key', async function () {
      const [unknown, create] = await Promise.all([runTav(['keys', 'revoke', '999999'], daemon.dataDir), runTav(['keys', 'create'], daemon.dataDir)]);
      expect(unknown.code).to.not.equal(0);
      expect(unknown.stderr).to.contain('no active API key with id 999999');

      const { id } = printedKey(create);
      expect((await runTav(['keys', 'revoke', String(id)], daemon.dataDir)).code).to.equal(0);
      expect((await runTav(['keys', 'revoke', String(id)], daemon.dataDir)).code).to.not.equal(0);
    });

    it('exits non-zero with a message for an invalid scope, id or expiry, creating nothing', async function () {
      const before = (await runTav(['keys', 'list'], daemon.dataDir)).stdout;
      const [scope, expiry, id] = await Promise.all([
        runTav(['keys', 'create', '--name', 'bad', '--scopes', 'read,superuser'], daemon.dataDir),
        runTav(['keys', 'create', '--expires-in-days', '0'], daemon.dataDir),
        runTav(['keys', 'revoke', 'abc'], daemon.dataDir),
      ]);
      expect(scope.code).to.not.equal(0);
      expect(scope.stderr).to.contain('scopes must be among admin, enqueue, read');
      expect(scope.stdout).not.to.match(/^key: /m);

      expect(expiry.code).to.not.equal(0);
      expect(expiry.stderr).to.contain('positive whole number');

      expect(id.code).to.not.equal(0);
      expect(id.stderr).to.contain('positive whole number');

      expect((await runTav(['keys', 'list'], daemon.dataDir)).stdout).to.equal(before);
    });
  });

  describe('tav start', function () {
    it('exits 2 and reports every bad environment value at once', async function () {
      const result = await runTav(['start'], scratchDir('cli-config'), { TAV_PORT: 'abc', TAV_SQLITE_SYNCHRONOUS: 'weird' });
      expect(result.code).to.equal(2);
      expect(result.stderr).to.contain('invalid configuration');
      expect(result.stderr).to.contain('TAV_PORT');
      expect(result.stderr).to.contain('TAV_SQLITE_SYNCHRONOUS');
    });

    it('exits 3 when another daemon runs on the same data folder, leaving that one running', async function () {
      const result = await runTav(['start'], daemon.dataDir, { TAV_PORT: '0' });
      expect(result.code).to.equal(3);
      expect(result.stdout + result.stderr).to.contain('another daemon');
      expect(daemon.process.exitCode).to.equal(null);
      expectOk(await daemon.request('GET', '/health/ready'));
    });

    it('keeps the bootstrap admin key in a 0600 file and logs its path, never the key', async function () {
      const keyFile = path.join(daemon.dataDir, 'admin-api-key');
      expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o600);
      expect(daemon.output()).to.contain('created the bootstrap admin API key');
      expect(daemon.output()).to.contain(JSON.stringify(keyFile).slice(1, -1));

      // Requests with good and bad keys, then a look at everything the daemon printed.
      expectOk(await daemon.request('GET', '/api/v1/queue'));
      expectError(await daemon.request('GET', '/api/v1/queue', undefined, { authorization: `Bearer ${daemon.key}x` }), 401, 'unauthorized');
      expect(daemon.output()).not.to.contain(daemon.key);
      expect(daemon.output()).not.to.contain(daemon.key.slice(4));
    });

    it('does not log keys made by `tav keys create` either', async function () {
      const { key } = printedKey(await runTav(['keys', 'create', '--name', 'quiet'], daemon.dataDir));
      expectOk(await daemon.request('GET', '/api/v1/events', undefined, { authorization: `Bearer ${key}` }));
      expect(daemon.output()).not.to.contain(key);
    });
  });
});
