// Where the credential key comes from and how it changes, on a real daemon: a key file with loose
// permissions stops the start; TAV_ENCRYPTION_KEY seals instead of a file; a rotation cut short after
// its transaction committed leaves every credential readable, and running it again finishes it.
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { makeDataDir, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, expectOk, removeIfAllPassed } from '../helpers/api-assertions.js';
import { credentialCall, sealedRows } from '../helpers/credentials.js';
import { startHeaderServer, type HeaderServer } from '../helpers/header-server.js';
import { runTav } from '../helpers/tav-command.js';
import { runToEnd } from '../helpers/workflow-runs.js';

/** Creates a bearer credential and a workflow using it against `/<label>`; returns the workflow id. */
async function credentialInUse(daemon: TestDaemon, server: HeaderServer, label: string, token: string): Promise<string> {
  const created = expectOk(await daemon.request('POST', '/api/v1/credentials', { name: label, credential_type: 'bearer', data: { token } }), 201);
  return createWorkflow(daemon, credentialCall(label, `${server.url}/${label}`, created.id));
}

/** Runs the workflow and asserts the node sent `Bearer <token>` to `/<label>`. */
async function expectBearer(daemon: TestDaemon, server: HeaderServer, workflowId: string, label: string, token: string): Promise<void> {
  const { event, execution } = await runToEnd(daemon, workflowId);
  expect(event.status, JSON.stringify(execution.node_results)).to.equal('completed');
  expect(server.authorization(`/${label}`)).to.equal(`Bearer ${token}`);
}

describe('encryption keys', function () {
  let server: HeaderServer;
  const dirs: string[] = [];
  const dataDir = (label: string) => {
    const dir = makeDataDir(label);
    dirs.push(dir);
    return dir;
  };
  let daemon: TestDaemon | undefined;

  before(async function () {
    server = await startHeaderServer();
  });

  afterEach(async function () {
    await daemon?.stop('SIGTERM');
    daemon = undefined;
  });

  after(async function () {
    await server?.close();
    removeIfAllPassed(this.test!.parent!, ...dirs);
  });

  it('refuses to start when the key file may be read by group or others, and leaves the file as it was', async function () {
    const dir = dataDir('loose-key');
    const keyFile = path.join(dir, 'encryption.key');
    const key = randomBytes(32).toString('base64');
    fs.writeFileSync(keyFile, `${key}\n`, { mode: 0o644 });
    fs.chmodSync(keyFile, 0o644);
    let failure = '';
    await startDaemon({ dataDir: dir }).then(
      (started) => {
        daemon = started;
        expect.fail('the daemon started with a world-readable key file');
      },
      (error: Error) => (failure = error.message),
    );
    expect(failure).to.include('mode 0644').and.include(`chmod 600 ${keyFile}`);
    expect(failure).not.to.include(key);
    expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o644);
  });

  it('refuses to start with a key file that holds no key', async function () {
    const dir = dataDir('bad-key');
    fs.writeFileSync(path.join(dir, 'encryption.key'), 'not a key\n', { mode: 0o600 });
    const failure = await startDaemon({ dataDir: dir }).then(
      () => 'started',
      (error: Error) => error.message,
    );
    expect(failure).to.include('does not hold a key');
  });

  it('reports an invalid TAV_ENCRYPTION_KEY as a configuration error (exit 2) without quoting it', async function () {
    const dir = dataDir('bad-env-key');
    const result = await runTav(['start'], dir, { TAV_ENCRYPTION_KEY: 'short-secret-value', TAV_PORT: '0' });
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('TAV_ENCRYPTION_KEY');
    expect(result.stdout + result.stderr).not.to.include('short-secret-value');
  });

  it('seals under TAV_ENCRYPTION_KEY without a key file; rotation then needs --new-key and the new key in the environment', async function () {
    const dir = dataDir('env-key');
    const oldKey = randomBytes(32).toString('hex');
    const newKey = randomBytes(32).toString('base64');
    daemon = await startDaemon({ dataDir: dir, env: { TAV_ENCRYPTION_KEY: oldKey } });
    expect(fs.existsSync(path.join(dir, 'encryption.key'))).to.equal(false);
    const workflowId = await credentialInUse(daemon, server, 'env-a', 'env-token-a');
    await expectBearer(daemon, server, workflowId, 'env-a', 'env-token-a');
    await daemon.stop('SIGTERM');

    const refused = await runTav(['credentials', 'rotate-key'], dir, { TAV_ENCRYPTION_KEY: oldKey });
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.include('--new-key');
    const malformed = await runTav(['credentials', 'rotate-key', '--new-key', 'abc123'], dir, { TAV_ENCRYPTION_KEY: oldKey });
    expect(malformed.code).to.equal(2);
    expect(malformed.stderr).not.to.include('abc123');

    const rotated = await runTav(['credentials', 'rotate-key', '--new-key', newKey], dir, { TAV_ENCRYPTION_KEY: oldKey });
    expect(rotated.code, rotated.stderr).to.equal(0);
    expect(rotated.stdout).to.include('re-encrypted 1 credential(s)').and.include('TAV_ENCRYPTION_KEY still holds the old key');
    expect(rotated.stdout + rotated.stderr).not.to.include(newKey);
    expect(fs.readdirSync(dir).filter((name) => name.startsWith('encryption.key'))).to.deep.equal([]);

    // Still on the old key, the daemon says so at start and the node is refused…
    daemon = await startDaemon({ dataDir: dir, env: { TAV_ENCRYPTION_KEY: oldKey } });
    expect(daemon.output()).to.include('credentials are sealed under a key this daemon does not have');
    const { execution } = await runToEnd(daemon, workflowId);
    expect(execution.node_results.call.error).to.include({ code: 'credential_unreadable' });
    await daemon.stop('SIGTERM');
    // …and with the new key it works.
    daemon = await startDaemon({ dataDir: dir, env: { TAV_ENCRYPTION_KEY: newKey } });
    await expectBearer(daemon, server, workflowId, 'env-a', 'env-token-a');
  });

  it('keeps every credential readable when a rotation stopped after its commit, and finishes it when run again', async function () {
    const dir = dataDir('interrupted');
    const keyFile = path.join(dir, 'encryption.key');
    daemon = await startDaemon({ dataDir: dir });
    const first = await credentialInUse(daemon, server, 'int-a', 'int-token-a');
    const second = await credentialInUse(daemon, server, 'int-b', 'int-token-b');
    await daemon.stop('SIGTERM');
    const originalKey = fs.readFileSync(keyFile, 'utf8');

    const rotated = await runTav(['credentials', 'rotate-key'], dir);
    expect(rotated.code, rotated.stderr).to.equal(0);
    const rotatedKey = fs.readFileSync(keyFile, 'utf8');
    const resealed = sealedRows(path.join(dir, 'tav_engine.db'));
    // Put the files back as they were between the commit and the switch: the rows are sealed under the
    // new key, which exists only as encryption.key.next; encryption.key still holds the old one.
    fs.renameSync(keyFile, `${keyFile}.next`);
    fs.renameSync(`${keyFile}.previous`, keyFile);
    expect(fs.readFileSync(keyFile, 'utf8')).to.equal(originalKey);

    daemon = await startDaemon({ dataDir: dir });
    expect(daemon.output()).to.include('a key rotation did not finish');
    expect(daemon.output()).not.to.include('does not have');
    await expectBearer(daemon, server, first, 'int-a', 'int-token-a');
    await expectBearer(daemon, server, second, 'int-b', 'int-token-b');
    await daemon.stop('SIGTERM');

    // A different new key is refused while the pending one is not in place: rows may be sealed under it.
    const conflicting = await runTav(['credentials', 'rotate-key', '--new-key', randomBytes(32).toString('hex')], dir);
    expect(conflicting.code).to.equal(1);
    expect(conflicting.stderr).to.include('did not finish');
    expect(fs.existsSync(`${keyFile}.next`)).to.equal(true);

    const finished = await runTav(['credentials', 'rotate-key'], dir);
    expect(finished.code, finished.stderr).to.equal(0);
    expect(fs.readFileSync(keyFile, 'utf8')).to.equal(rotatedKey);
    expect(fs.readFileSync(`${keyFile}.previous`, 'utf8')).to.equal(originalKey);
    expect(fs.existsSync(`${keyFile}.next`)).to.equal(false);
    for (const [id, sealed] of sealedRows(path.join(dir, 'tav_engine.db'))) expect(sealed.split(':')[1], `credential ${id}`).to.equal(resealed.get(id)!.split(':')[1]);

    daemon = await startDaemon({ dataDir: dir });
    expect(daemon.output()).not.to.include('a key rotation did not finish');
    await expectBearer(daemon, server, first, 'int-a', 'int-token-a');
    await expectBearer(daemon, server, second, 'int-b', 'int-token-b');
  });
});
