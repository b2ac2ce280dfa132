// Credentials on a real daemon: CRUD over the API that never answers with a secret, nodes that use
// them by credential_id, and the secret never in plain text in a response, a log line, the database
// file or its WAL. Then tampering (refused at use, GET still fine) and `tav credentials rotate-key`.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import { startDaemon, type TestDaemon, type TestResponse } from '../helpers/daemon.js';
import { createWorkflow, expectError, expectOk, removeIfAllPassed } from '../helpers/api-assertions.js';
import { credentialCall, sealedRows } from '../helpers/credentials.js';
import { startHeaderServer, type HeaderServer } from '../helpers/header-server.js';
import { runTav } from '../helpers/tav-command.js';
import { runToEnd } from '../helpers/workflow-runs.js';

/** The raw bytes of the database and, when present, its WAL. */
function databaseBytes(dbPath: string): Buffer {
  return Buffer.concat([dbPath, `${dbPath}-wal`].filter((file) => fs.existsSync(file)).map((file) => fs.readFileSync(file)));
}

/** Asserts that none of `secrets` occurs in `text` (or in the bytes). */
function expectNoSecret(haystack: string | Buffer, secrets: string[], where: string): void {
  for (const secret of secrets) {
    const found = typeof haystack === 'string' ? haystack.includes(secret) : haystack.includes(Buffer.from(secret, 'utf8'));
    expect(found, `${where} holds a secret in plain text`).to.equal(false);
  }
}

describe('credentials', function () {
  let server: HeaderServer;

  before(async function () {
    server = await startHeaderServer();
  });

  after(async function () {
    await server?.close();
  });

  describe('API and use by nodes', function () {
    let daemon: TestDaemon;
    // Every secret this suite sends, checked against every answer, the log and the database at the end.
    const secrets = ['tok-9d41f7aa03c2e6b5', 'hunter2-pw-58c1e0', 'replaced-key-2b7e91d4', 'never-stored-c0ffee77'];
    const responses: TestResponse[] = [];
    const call = async (method: string, urlPath: string, body?: unknown, headers?: Record<string, string>) => {
      const response = await daemon.request(method, urlPath, body, headers);
      responses.push(response);
      return response;
    };

    before(async function () {
      // Debug level logs the most, so a secret that leaked into any log line would show.
      daemon = await startDaemon({ env: { TAV_LOG_LEVEL: 'debug' } });
    });

    after(async function () {
      if (!daemon) return;
      await daemon.stop('SIGTERM');
      removeIfAllPassed(this.test!.parent!, daemon.dataDir);
    });

    it('creates the key file on first start, readable by its owner only', function () {
      const mode = fs.statSync(path.join(daemon.dataDir, 'encryption.key')).mode & 0o777;
      expect(mode.toString(8)).to.equal('600');
    });

    it('creates a credential and answers with the names of its fields, never their values', async function () {
      const created = expectOk(await call('POST', '/api/v1/credentials', { name: 'service token', credential_type: 'bearer', data: { token: secrets[0] }, description: 'for the echo service' }), 201);
      expect(created).to.include({ name: 'service token', credential_type: 'bearer', description: 'for the echo service', last_used_at: null });
      expect(created.field_names).to.deep.equal(['token']);
      expect(created.key_id).to.match(/^[0-9a-f]{16}$/);
      expect(created).not.to.have.property('data');
      expect(created).not.to.have.property('encrypted_data');
      expect(responses.at(-1)!.headers.get('location')).to.equal(`/api/v1/credentials/${created.id}`);

      const read = expectOk(await call('GET', `/api/v1/credentials/${created.id}`));
      expect(read).to.deep.equal(created);
      const list = expectOk(await call('GET', '/api/v1/credentials'));
      expect(list.items.map((item: { id: number }) => item.id)).to.include(created.id);
      expect(list.total).to.be.at.least(1);
    });

    it('sends the Authorization header of the credential an http_request node names', async function () {
      const bearer = expectOk(await call('POST', '/api/v1/credentials', { name: 'bearer for node', credential_type: 'bearer', data: { token: secrets[0] } }), 201);
      const basic = expectOk(await call('POST', '/api/v1/credentials', { name: 'basic for node', credential_type: 'basic', data: { username: 'svc', password: secrets[1] } }), 201);
      const bearerFlow = await createWorkflow(daemon, credentialCall('bearer call', `${server.url}/bearer`, bearer.id));
      // A templated or string id works as well as a number.
      const basicFlow = await createWorkflow(daemon, credentialCall('basic call', `${server.url}/basic`, String(basic.id)));

      const first = await runToEnd(daemon, bearerFlow);
      expect(first.event.status).to.equal('completed');
      expect(server.authorization('/bearer')).to.equal(`Bearer ${secrets[0]}`);
      const second = await runToEnd(daemon, basicFlow);
      expect(second.event.status).to.equal('completed');
      expect(server.authorization('/basic')).to.equal(`Basic ${Buffer.from(`svc:${secrets[1]}`).toString('base64')}`);

      for (const { event, execution } of [first, second]) {
        expectNoSecret(JSON.stringify(execution), secrets, 'the execution');
        responses.push({ status: 200, headers: new Headers(), body: { event, execution } });
      }
      const used = expectOk(await call('GET', `/api/v1/credentials/${bearer.id}`));
      expect(used.last_used_at).to.be.a('string');
    });

    it('changes metadata with PUT and keeps the data unless PUT gives new data, which then replaces it whole', async function () {
      const created = expectOk(await call('POST', '/api/v1/credentials', { name: 'to change', credential_type: 'bearer', data: { token: secrets[0], extra: 'x' } }), 201);
      const renamed = expectOk(await call('PUT', `/api/v1/credentials/${created.id}`, { name: 'changed', description: 'now described' }));
      expect(renamed).to.include({ name: 'changed', description: 'now described', credential_type: 'bearer' });
      expect(renamed.field_names).to.deep.equal(['token', 'extra']);
      expect(renamed.updated_at).to.be.a('string');

      const replaced = expectOk(await call('PUT', `/api/v1/credentials/${created.id}`, { credential_type: 'api_key', data: { api_key: secrets[2], api_key_name: 'X-Service-Key' } }));
      expect(replaced.field_names).to.deep.equal(['api_key', 'api_key_name']);
      expect(replaced).to.include({ name: 'changed', credential_type: 'api_key' });

      // The node now authenticates with the new data: the old token is gone.
      const workflowId = await createWorkflow(daemon, credentialCall('replaced', `${server.url}/replaced`, created.id));
      const { event } = await runToEnd(daemon, workflowId);
      expect(event.status).to.equal('completed');
      expect(server.headers('/replaced')).to.include({ 'x-service-key': secrets[2] });
      expect(server.authorization('/replaced')).to.equal(undefined);
    });

    it('deletes a credential; it is gone from reads, and a node naming it fails with credential_not_found, not retried', async function () {
      const created = expectOk(await call('POST', '/api/v1/credentials', { name: 'short lived', credential_type: 'bearer', data: { token: secrets[0] } }), 201);
      const workflowId = await createWorkflow(daemon, credentialCall('deleted credential', `${server.url}/deleted`, created.id));
      expect((await call('DELETE', `/api/v1/credentials/${created.id}`)).status).to.equal(204);
      expectError(await call('GET', `/api/v1/credentials/${created.id}`), 404, 'not_found');
      expectError(await call('DELETE', `/api/v1/credentials/${created.id}`), 404, 'not_found');

      const { event, execution } = await runToEnd(daemon, workflowId);
      expect(event.status).to.equal('failed');
      expect(event.attempts).to.equal(1);
      expect(execution.node_results.call.status).to.equal('failed');
      expect(execution.node_results.call.error).to.include({ code: 'credential_not_found', retryable: false });
      expect(server.authorization('/deleted')).to.equal(undefined);
    });

    it('fails a node whose credential_id is not an id with invalid_config', async function () {
      const workflowId = await createWorkflow(daemon, credentialCall('bad id', `${server.url}/bad-id`, 'not-an-id'));
      const { execution } = await runToEnd(daemon, workflowId);
      expect(execution.node_results.call.error).to.include({ code: 'invalid_config', retryable: false });
    });

    it('answers bad input with 400, 404, 409 or 415 in the JSON error shape, never quoting the secret', async function () {
      const data = { token: secrets[3] };
      expectError(await call('POST', '/api/v1/credentials', { credential_type: 'bearer', data }), 400, 'validation_failed');
      expectError(await call('POST', '/api/v1/credentials', { name: '  ', credential_type: 'bearer', data }), 400, 'validation_failed');
      expectError(await call('POST', '/api/v1/credentials', { name: 'n', data }), 400, 'validation_failed');
      expectError(await call('POST', '/api/v1/credentials', { name: 'n', credential_type: 'bearer' }), 400, 'validation_failed');
      expectError(await call('POST', '/api/v1/credentials', { name: 'n', credential_type: 'bearer', data: {} }), 400, 'validation_failed');
      expectError(await call('POST', '/api/v1/credentials', { name: 'n', credential_type: 'bearer', data: secrets[3] }), 400, 'validation_failed');
      expectError(await call('POST', '/api/v1/credentials', { name: 'n', credential_type: 'bearer', data: [secrets[3]] }), 400, 'validation_failed');
      expectError(await call('POST', '/api/v1/credentials', { name: 'n', credential_type: 'bearer', data, secret: secrets[3] }), 400, 'validation_failed');
      expectError(await call('POST', '/api/v1/credentials', { name: 7, credential_type: 'bearer', data }), 400, 'validation_failed');
      expectError(await call('POST', '/api/v1/credentials', `{"name": "n", "data": {"token": "${secrets[3]}"`), 400, 'malformed_json');
      expectError(await call('POST', '/api/v1/credentials', JSON.stringify({ name: 'n', credential_type: 'bearer', data }), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');

      const taken = expectOk(await call('POST', '/api/v1/credentials', { name: 'unique name', credential_type: 'bearer', data: { token: secrets[0] } }), 201);
      expectError(await call('POST', '/api/v1/credentials', { name: 'unique name', credential_type: 'bearer', data }), 409, 'credential_name_taken');
      const other = expectOk(await call('POST', '/api/v1/credentials', { name: 'other name', credential_type: 'bearer', data: { token: secrets[0] } }), 201);
      expectError(await call('PUT', `/api/v1/credentials/${other.id}`, { name: 'unique name', data }), 409, 'credential_name_taken');
      expect(expectOk(await call('PUT', `/api/v1/credentials/${taken.id}`, { name: 'unique name' })).name).to.equal('unique name');

      expectError(await call('PUT', `/api/v1/credentials/${taken.id}`, {}), 400, 'validation_failed');
      expectError(await call('PUT', `/api/v1/credentials/${taken.id}`, { data: {} }), 400, 'validation_failed');
      expectError(await call('PUT', `/api/v1/credentials/${taken.id}`, { name: '', data }), 400, 'validation_failed');
      expectError(await call('PUT', '/api/v1/credentials/999999', { data }), 404, 'not_found');
      for (const method of ['GET', 'PUT', 'DELETE']) {
        expectError(await call(method, '/api/v1/credentials/abc', method === 'PUT' ? { data } : undefined), 400, 'validation_failed');
        expectError(await call(method, '/api/v1/credentials/0', method === 'PUT' ? { data } : undefined), 400, 'validation_failed');
        if (method !== 'PUT') expectError(await call(method, '/api/v1/credentials/999999'), 404, 'not_found');
      }
      expectError(await call('GET', '/api/v1/credentials?limit=0'), 400, 'validation_failed');
      expectError(await call('GET', '/api/v1/credentials?limit=501'), 400, 'validation_failed');
      expectError(await call('GET', '/api/v1/credentials', undefined, { authorization: '' }), 401, 'unauthorized');
      expectError(await call('POST', '/api/v1/credentials', { name: 'n', credential_type: 'bearer', data }, { authorization: 'Bearer tav_wrong' }), 401, 'unauthorized');
      // A rejected secret left no row behind.
      const names = expectOk(await call('GET', '/api/v1/credentials?limit=500')).items.map((item: { name: string }) => item.name);
      expect(names).not.to.include('n');
    });

    it('never has a secret in plain text in any answer, log line, the database file or its WAL', async function () {
      expect(responses.length).to.be.greaterThan(40);
      for (const response of responses) expectNoSecret(JSON.stringify(response.body ?? null), secrets, `an answer (${response.status})`);
      expectNoSecret(daemon.output(), secrets, "the daemon's output");
      const bytes = databaseBytes(daemon.dbPath);
      // The search can see plain text in these bytes: the (non-secret) credential names are there.
      expect(bytes.includes(Buffer.from('bearer for node'))).to.equal(true);
      expectNoSecret(bytes, secrets, 'the database or its WAL');
      // After a clean stop the WAL is checkpointed into the file: still nothing.
      expect(await daemon.stop('SIGTERM')).to.equal(0);
      expect(fs.existsSync(`${daemon.dbPath}-wal`) ? fs.statSync(`${daemon.dbPath}-wal`).size : 0).to.equal(0);
      expect(databaseBytes(daemon.dbPath).includes(Buffer.from('bearer for node'))).to.equal(true);
      expectNoSecret(databaseBytes(daemon.dbPath), secrets, 'the checkpointed database');
      expectNoSecret(daemon.output(), secrets, "the daemon's output");
    });
  });

  describe('tampering and key rotation', function () {
    let daemon: TestDaemon;
    let dataDir: string;
    const tokens = { a: 'rot-token-a-41c9e2', b: 'rot-token-b-7d05f3', c: 'rot-token-c-e8a61b' };
    const ids: Record<string, number> = {};
    const workflows: Record<string, string> = {};

    /** Runs the workflow of credential `name` and returns the event and execution. */
    const use = (name: string) => runToEnd(daemon, workflows[name]!);

    before(async function () {
      daemon = await startDaemon();
      dataDir = daemon.dataDir;
      for (const [name, token] of Object.entries(tokens)) {
        ids[name] = expectOk(await daemon.request('POST', '/api/v1/credentials', { name: `rotate ${name}`, credential_type: 'bearer', data: { token } }), 201).id;
        workflows[name] = await createWorkflow(daemon, credentialCall(`use ${name}`, `${server.url}/rot-${name}`, ids[name]));
      }
    });

    after(async function () {
      if (daemon) await daemon.stop('SIGTERM');
      if (dataDir) removeIfAllPassed(this.test!.parent!, dataDir);
    });

    it('refuses a tampered credential at use, clearly, while reading it still works', async function () {
      expect(await daemon.stop('SIGTERM')).to.equal(0);
      const db = new Database(daemon.dbPath);
      const sealed = (db.prepare('SELECT encrypted_data FROM credentials WHERE id = ?').get(ids.b) as { encrypted_data: string }).encrypted_data;
      const parts = sealed.split(':');
      const ciphertext = Buffer.from(parts[4]!, 'base64');
      ciphertext[0]! ^= 0x01;
      parts[4] = ciphertext.toString('base64');
      db.prepare('UPDATE credentials SET encrypted_data = ? WHERE id = ?').run(parts.join(':'), ids.b);
      db.close();

      daemon = await startDaemon({ dataDir });
      const read = expectOk(await daemon.request('GET', `/api/v1/credentials/${ids.b}`));
      expect(read.field_names).to.deep.equal(['token']);
      const { event, execution } = await use('b');
      expect(event.status).to.equal('failed');
      expect(execution.node_results.call.error).to.include({ code: 'credential_unreadable', retryable: false });
      expect(execution.node_results.call.error.message).to.match(/cannot be decrypted.*altered/);
      expect(server.authorization('/rot-b')).to.equal(undefined);
      expect(daemon.output()).to.match(/"message":"credential could not be opened"[^\n]*"reason":"tampered"|"reason":"tampered"[^\n]*"message":"credential could not be opened"/);
      // The untouched credentials still work.
      expect((await use('a')).event.status).to.equal('completed');
      expect(server.authorization('/rot-a')).to.equal(`Bearer ${tokens.a}`);
    });

    it('refuses to rotate while a daemon uses the database', async function () {
      const result = await runTav(['credentials', 'rotate-key'], dataDir);
      expect(result.code, result.stderr).to.equal(3);
      expect(result.stderr).to.include('stop it first');
    });

    it('refuses to rotate while a credential cannot be decrypted, and changes nothing', async function () {
      expect(await daemon.stop('SIGTERM')).to.equal(0);
      const keyBefore = fs.readFileSync(path.join(dataDir, 'encryption.key'), 'utf8');
      const rowsBefore = sealedRows(daemon.dbPath);
      const result = await runTav(['credentials', 'rotate-key'], dataDir);
      expect(result.code, result.stdout + result.stderr).to.equal(1);
      expect(result.stderr).to.include(`credential ${ids.b} cannot be decrypted`).and.include('nothing was changed');
      expect(fs.readFileSync(path.join(dataDir, 'encryption.key'), 'utf8')).to.equal(keyBefore);
      expect(fs.existsSync(path.join(dataDir, 'encryption.key.next'))).to.equal(false);
      expect(sealedRows(daemon.dbPath)).to.deep.equal(rowsBefore);
    });

    it('re-encrypts every credential under a new key; after a restart every one still works', async function () {
      const db = new Database(daemon.dbPath);
      db.prepare('DELETE FROM credentials WHERE id = ?').run(ids.b);
      db.close();
      const keyFile = path.join(dataDir, 'encryption.key');
      const keyBefore = fs.readFileSync(keyFile, 'utf8');
      const rowsBefore = sealedRows(daemon.dbPath);

      const result = await runTav(['credentials', 'rotate-key'], dataDir);
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      expect(result.stdout).to.match(/re-encrypted 2 credential\(s\) under key [0-9a-f]{16}/);
      expect(result.stdout + result.stderr).not.to.include(fs.readFileSync(keyFile, 'utf8').trim());

      // New key in place (0600), the old one kept as .previous, no pending key left behind.
      expect(fs.readFileSync(keyFile, 'utf8')).not.to.equal(keyBefore);
      expect(fs.readFileSync(`${keyFile}.previous`, 'utf8')).to.equal(keyBefore);
      expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o600);
      expect(fs.statSync(`${keyFile}.previous`).mode & 0o777).to.equal(0o600);
      expect(fs.existsSync(`${keyFile}.next`)).to.equal(false);
      // Every row changed, and names the new key.
      const rowsAfter = sealedRows(daemon.dbPath);
      expect([...rowsAfter.keys()].sort()).to.deep.equal([...rowsBefore.keys()].sort());
      for (const [id, sealed] of rowsAfter) {
        expect(sealed).not.to.equal(rowsBefore.get(id));
        expect(sealed.split(':')[1]).not.to.equal(rowsBefore.get(id)!.split(':')[1]);
      }

      // Without the previous key, only the new key can open them: the daemon still reads every one.
      fs.rmSync(`${keyFile}.previous`);
      daemon = await startDaemon({ dataDir });
      for (const name of ['a', 'c']) {
        const { event } = await use(name);
        expect(event.status, name).to.equal('completed');
        expect(server.authorization(`/rot-${name}`)).to.equal(`Bearer ${tokens[name as 'a' | 'c']}`);
      }
      expect(expectOk(await daemon.request('GET', `/api/v1/credentials/${ids.a}`)).key_id).to.equal(rowsAfter.get(ids.a!)!.split(':')[1]);
      expect(daemon.output()).not.to.include('does not have');
    });
  });
});
