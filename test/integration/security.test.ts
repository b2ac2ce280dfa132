// API keys with scopes, expiry and revocation; users whose status disables their keys; request ids.
// A real daemon over loopback HTTP, and the `tav` command beside it.
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, expectError, expectOk, removeIfAllPassed } from '../helpers/api-assertions.js';
import { readDatabase } from '../helpers/queue-runs.js';
import { runTav, type CliResult } from '../helpers/tav-cli.js';
import { oneNode } from '../helpers/workflows.js';

const hourMs = 3_600_000;

/** Headers that authenticate with `key` instead of the admin key. */
const as = (key: string) => ({ authorization: `Bearer ${key}` });

/** The `id:` line `tav users create` prints. */
function createdUserId(result: CliResult): number {
  expect(result.code, result.stderr).to.equal(0);
  const id = /^id: (\d+)$/m.exec(result.stdout)?.[1];
  expect(id, result.stdout).to.be.a('string');
  return Number(id);
}

describe('API keys, scopes and users', function () {
  let daemon: TestDaemon;
  let workflowId: string;

  /** Creates a key through the API (admin) and returns the create answer, key included. */
  const createKey = async (scopes: string[], extra: Record<string, unknown> = {}) =>
    expectOk(await daemon.request('POST', '/api/v1/api-keys', { name: `key ${scopes.join('+')}`, scopes, ...extra }), 201);

  before(async function () {
    daemon = await startDaemon();
    workflowId = await createWorkflow(daemon, oneNode());
  });

  after(async function () {
    if (!daemon) return;
    expect(await daemon.stop('SIGTERM')).to.equal(0);
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  describe('POST /api/v1/api-keys', function () {
    it('creates a key shown once, with its scopes, user and expiry, that authenticates at once', async function () {
      const before = Date.now();
      const response = await daemon.request('POST', '/api/v1/api-keys', { name: 'reporting', scopes: ['read'], expires_in_seconds: 3600 });
      const created = expectOk(response, 201);
      expect(created.key).to.match(/^tav_[A-Za-z0-9_-]{43}$/);
      expect(created).to.include({ name: 'reporting', user_id: 1, state: 'active', revoked_at: null, last_used_at: null });
      expect(created.scopes).to.deep.equal(['read']);
      expect(created.key_prefix).to.equal(created.key.slice(0, 12));
      expect(Date.parse(created.expires_at) - before).to.be.within(3_590_000, 3_610_000);
      expect(created).not.to.have.property('key_hash');
      expect(response.headers.get('location')).to.equal(`/api/v1/api-keys/${created.id}`);

      expectOk(await daemon.request('GET', '/api/v1/queue', undefined, as(created.key)));
      const read = expectOk(await daemon.request('GET', `/api/v1/api-keys/${created.id}`));
      expect(read).not.to.have.property('key');
      expect(read).not.to.have.property('key_hash');
      expect(read.expires_at).to.equal(created.expires_at);
    });

    it('accepts an absolute expires_at and keys for another active user', async function () {
      const userId = createdUserId(await runTav(['users', 'create', '--name', 'key-owner'], daemon.dataDir));
      const expiresAt = new Date(Date.now() + hourMs).toISOString();
      const created = await createKey(['enqueue', 'read'], { expires_at: expiresAt, user_id: userId });
      expect(created.user_id).to.equal(userId);
      expect(created.expires_at).to.equal(expiresAt);
      expect(created.scopes).to.deep.equal(['enqueue', 'read']);
      expectOk(await daemon.request('GET', '/api/v1/events', undefined, as(created.key)));
    });

    const badBodies: Array<[string, unknown, string]> = [
      ['no name or scopes', {}, 'name'],
      ['an empty name', { name: '  ', scopes: ['read'] }, 'name'],
      ['a name of 256 characters', { name: 'n'.repeat(256), scopes: ['read'] }, 'name'],
      ['no scope', { name: 'x', scopes: [] }, 'scopes'],
      ['an unknown scope', { name: 'x', scopes: ['read', 'root'] }, 'scopes.1'],
      ['a repeated scope', { name: 'x', scopes: ['read', 'read'] }, 'scopes'],
      ['scopes as text', { name: 'x', scopes: 'read' }, 'scopes'],
      ['an expiry in the past', { name: 'x', scopes: ['read'], expires_at: '2001-01-01T00:00:00Z' }, 'expires_at'],
      ['an expiry that is not a time', { name: 'x', scopes: ['read'], expires_at: 'tomorrow' }, 'expires_at'],
      ['a zero lifetime', { name: 'x', scopes: ['read'], expires_in_seconds: 0 }, 'expires_in_seconds'],
      ['a fractional lifetime', { name: 'x', scopes: ['read'], expires_in_seconds: 1.5 }, 'expires_in_seconds'],
      ['an unknown user', { name: 'x', scopes: ['read'], user_id: 999_999 }, 'user_id'],
      ['a user id that is not a number', { name: 'x', scopes: ['read'], user_id: 'system' }, 'user_id'],
      ['an unknown field', { name: 'x', scopes: ['read'], key: 'tav_mine' }, '(root)'],
    ];
    for (const [what, body, path] of badBodies) {
      it(`refuses ${what} with 400 naming ${path}`, async function () {
        const response = await daemon.request('POST', '/api/v1/api-keys', body);
        expectError(response, 400, 'validation_failed');
        expect(response.body.error.details.map((d: { path: string }) => d.path)).to.include(path);
      });
    }

    it('refuses both expires_at and expires_in_seconds, a non-object body, a non-JSON type and malformed JSON', async function () {
      const both = await daemon.request('POST', '/api/v1/api-keys', { name: 'x', scopes: ['read'], expires_in_seconds: 60, expires_at: new Date(Date.now() + hourMs).toISOString() });
      expectError(both, 400, 'validation_failed');
      expectError(await daemon.request('POST', '/api/v1/api-keys', [1, 2]), 400, 'validation_failed');
      expectError(await daemon.request('POST', '/api/v1/api-keys', 'name=x', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
      expectError(await daemon.request('POST', '/api/v1/api-keys', '{"name":'), 400, 'malformed_json');
    });

    it('refuses with 409 a key for a user who is not active', async function () {
      const userId = createdUserId(await runTav(['users', 'create', '--name', 'gone-already'], daemon.dataDir));
      expect((await runTav(['users', 'disable', 'gone-already'], daemon.dataDir)).code).to.equal(0);
      expectError(await daemon.request('POST', '/api/v1/api-keys', { name: 'x', scopes: ['read'], user_id: userId }), 409, 'user_not_active');
    });
  });

  describe('GET /api/v1/api-keys', function () {
    it('lists every key with its state, never a key or a hash, and filters by user', async function () {
      const created = await createKey(['read']);
      const listed = expectOk(await daemon.request('GET', '/api/v1/api-keys'));
      const row = listed.items.find((item: { id: number }) => item.id === created.id);
      expect(row).to.include({ name: created.name, state: 'active', key_prefix: created.key_prefix });
      expect(listed.items.find((item: { id: number }) => item.id === 1)).to.include({ name: 'bootstrap admin', user_id: 1 });
      const text = JSON.stringify(listed);
      expect(text).not.to.contain(created.key);
      expect(text).not.to.contain(daemon.key);
      expect(text).not.to.match(/key_hash|"key":/);

      const mine = expectOk(await daemon.request('GET', '/api/v1/api-keys?user_id=1'));
      expect(mine.items.every((item: { user_id: number }) => item.user_id === 1)).to.equal(true);
      expect(expectOk(await daemon.request('GET', '/api/v1/api-keys?user_id=999999')).items).to.deep.equal([]);
      expectError(await daemon.request('GET', '/api/v1/api-keys?user_id=abc'), 400, 'validation_failed');
    });

    it('answers 404 for an unknown key and 400 for an id that is not a number', async function () {
      expectError(await daemon.request('GET', '/api/v1/api-keys/999999'), 404, 'not_found');
      expectError(await daemon.request('GET', '/api/v1/api-keys/abc'), 400, 'validation_failed');
    });
  });

  describe('DELETE /api/v1/api-keys/:id', function () {
    it('revokes a key, which is refused with 401 from the next request on', async function () {
      const created = await createKey(['read']);
      expectOk(await daemon.request('GET', '/api/v1/queue', undefined, as(created.key)));
      const revoked = expectOk(await daemon.request('DELETE', `/api/v1/api-keys/${created.id}`));
      expect(revoked.state).to.equal('revoked');
      expect(revoked.revoked_at).to.be.a('string');
      expect(revoked).not.to.have.property('key');

      const refused = await daemon.request('GET', '/api/v1/queue', undefined, as(created.key));
      expectError(refused, 401, 'unauthorized');
      expect(expectOk(await daemon.request('GET', `/api/v1/api-keys/${created.id}`)).state).to.equal('revoked');
    });

    it('answers 409 for a key already revoked, 404 for an unknown one and 400 for a bad id', async function () {
      const created = await createKey(['read']);
      expectOk(await daemon.request('DELETE', `/api/v1/api-keys/${created.id}`));
      expectError(await daemon.request('DELETE', `/api/v1/api-keys/${created.id}`), 409, 'already_revoked');
      expectError(await daemon.request('DELETE', '/api/v1/api-keys/999999'), 404, 'not_found');
      expectError(await daemon.request('DELETE', '/api/v1/api-keys/0'), 400, 'validation_failed');
    });
  });

  describe('expiry', function () {
    it('refuses a key with 401 once it has expired', async function () {
      const created = await createKey(['read'], { expires_in_seconds: 1 });
      expectOk(await daemon.request('GET', '/api/v1/queue', undefined, as(created.key)));
      const refused = (await waitFor(
        async () => {
          const response = await daemon.request('GET', '/api/v1/queue', undefined, as(created.key));
          return response.status === 401 ? response : null;
        },
        'the key to expire',
        5_000,
      ))!;
      expectError(refused, 401, 'unauthorized');
      expect(refused.body.error.message).to.contain('expired');
      expect(expectOk(await daemon.request('GET', `/api/v1/api-keys/${created.id}`)).state).to.equal('expired');
    });
  });

  describe('scopes', function () {
    let read: string;
    let enqueue: string;
    let both: string;

    before(async function () {
      [read, enqueue, both] = (await Promise.all([createKey(['read']), createKey(['enqueue']), createKey(['read', 'enqueue'])])).map((created) => created.key as string);
    });

    it('lets a read key GET workflows, events, executions, queue, nodes and metrics, and refuses it every write with 403', async function () {
      for (const path of ['/api/v1/workflows', `/api/v1/workflows/${workflowId}`, '/api/v1/events', '/api/v1/executions', '/api/v1/queue', '/api/v1/nodes', '/metrics']) {
        expect((await daemon.request('GET', path, undefined, as(read))).status, path).to.equal(200);
      }
      const refusals: Array<[string, string, unknown]> = [
        ['POST', '/api/v1/events', { workflow_id: workflowId }],
        ['POST', `/api/v1/workflows/${workflowId}/execute`, {}],
        ['POST', '/api/v1/workflows', oneNode()],
        ['PUT', `/api/v1/workflows/${workflowId}`, oneNode()],
        ['DELETE', `/api/v1/workflows/${workflowId}`, undefined],
        ['POST', '/api/v1/events/1/cancel', undefined],
      ];
      for (const [method, path, body] of refusals) {
        const response = await daemon.request(method, path, body, as(read));
        expectError(response, 403, 'forbidden');
      }
    });

    it('refuses a read key the admin-only routes, even their GETs', async function () {
      for (const path of ['/api/v1/settings', '/api/v1/settings/execution', '/api/v1/api-keys', '/api/v1/audit-logs']) {
        const response = await daemon.request('GET', path, undefined, as(read));
        expectError(response, 403, 'forbidden');
        expect(response.body.error.details).to.deep.equal({ required: ['admin'], granted: ['read'] });
      }
      expectError(await daemon.request('PUT', '/api/v1/settings/execution', { max_retries: 1 }, as(read)), 403, 'forbidden');
      expectError(await daemon.request('POST', '/api/v1/api-keys', { name: 'escalate', scopes: ['admin'] }, as(read)), 403, 'forbidden');
    });

    it('lets an enqueue key enqueue, execute and follow the Location it gets, and nothing else', async function () {
      const enqueued = await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, delay_ms: hourMs }, as(enqueue));
      expectOk(enqueued, 202);
      expectOk(await daemon.request('GET', enqueued.headers.get('location')!, undefined, as(enqueue)));
      expectOk(await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, { delay_ms: hourMs }, as(enqueue)), 202);

      for (const path of ['/api/v1/events', '/api/v1/workflows', '/api/v1/queue', '/api/v1/executions', '/metrics', '/api/v1/settings']) {
        expectError(await daemon.request('GET', path, undefined, as(enqueue)), 403, 'forbidden');
      }
      expectError(await daemon.request('POST', `/api/v1/events/${enqueued.body.id}/cancel`, undefined, as(enqueue)), 403, 'forbidden');
      expectError(await daemon.request('POST', '/api/v1/workflows', oneNode(), as(enqueue)), 403, 'forbidden');
      expectError(await daemon.request('POST', '/api/v1/api-keys', { name: 'x', scopes: ['enqueue'] }, as(enqueue)), 403, 'forbidden');
    });

    it('gives a key with read and enqueue the union of both, but no admin route', async function () {
      expectOk(await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, delay_ms: hourMs }, as(both)), 202);
      expectOk(await daemon.request('GET', '/api/v1/events', undefined, as(both)));
      expectError(await daemon.request('POST', '/api/v1/workflows', oneNode(), as(both)), 403, 'forbidden');
      expectError(await daemon.request('GET', '/api/v1/audit-logs', undefined, as(both)), 403, 'forbidden');
    });

    it('lets an admin key use the admin-only routes', async function () {
      const admin = (await createKey(['admin'])).key as string;
      for (const path of ['/api/v1/settings', '/api/v1/api-keys', '/api/v1/audit-logs', '/api/v1/workflows']) {
        expectOk(await daemon.request('GET', path, undefined, as(admin)));
      }
      expectOk(await daemon.request('PUT', '/api/v1/settings/ui', { grid_opacity: 0.5 }, as(admin)));
    });

    it('still answers an unknown key with 401 before any scope check', async function () {
      expectError(await daemon.request('GET', '/api/v1/settings', undefined, as('tav_not-a-key')), 401, 'unauthorized');
      expectError(await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId }, { authorization: '' }), 401, 'unauthorized');
    });
  });

  describe('users', function () {
    it('creates a user with a salted scrypt password hash read from stdin, never the password itself', async function () {
      const password = 'correct horse battery staple';
      const id = createdUserId(await runTav(['users', 'create', '--name', 'ada', '--email', 'ada@example.org', '--password-stdin'], daemon.dataDir, { stdin: `${password}\n` }));
      const again = createdUserId(await runTav(['users', 'create', '--name', 'grace', '--password-stdin'], daemon.dataDir, { stdin: `${password}\n` }));
      const rows = readDatabase(daemon.dbPath, (db) => db.prepare(`SELECT id, user_name, user_email, user_password, user_status FROM users WHERE id IN (?, ?) ORDER BY id`).all(id, again)) as Array<Record<string, string>>;
      expect(rows[0]).to.include({ user_name: 'ada', user_email: 'ada@example.org', user_status: 'active' });
      expect(rows[0]!.user_password).to.match(/^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
      expect(rows[0]!.user_password).not.to.contain(password);
      // A random salt per password: the same password hashes differently.
      expect(rows[1]!.user_password).not.to.equal(rows[0]!.user_password);

      const listed = await runTav(['users', 'list'], daemon.dataDir);
      expect(listed.stdout).to.match(new RegExp(`^${id}\\tada\\tada@example.org\\tactive\\tpassword set$`, 'm'));
      expect(listed.stdout).to.match(/^1\tsystem\t/m);
      expect(listed.stdout).not.to.contain('$scrypt$');
    });

    it('refuses a taken name or email, a short password, an all-digit name and a bad email, creating nothing', async function () {
      await runTav(['users', 'create', '--name', 'taken', '--email', 'taken@example.org'], daemon.dataDir);
      const before = (await runTav(['users', 'list'], daemon.dataDir)).stdout;
      const [name, email, short, digits, badEmail, missing] = await Promise.all([
        runTav(['users', 'create', '--name', 'taken'], daemon.dataDir),
        runTav(['users', 'create', '--name', 'other', '--email', 'taken@example.org'], daemon.dataDir),
        runTav(['users', 'create', '--name', 'shorty', '--password-stdin'], daemon.dataDir, { stdin: 'abc\n' }),
        runTav(['users', 'create', '--name', '12345'], daemon.dataDir),
        runTav(['users', 'create', '--name', 'mailer', '--email', 'not-an-email'], daemon.dataDir),
        runTav(['users', 'create'], daemon.dataDir),
      ]);
      expect(name.code).to.equal(1);
      expect(name.stderr).to.contain('a user named taken already exists');
      expect(email.code).to.equal(1);
      expect(email.stderr).to.contain('already exists');
      expect(short.code).to.not.equal(0);
      expect(short.stderr).to.contain('at least 8 characters');
      expect(digits.code).to.not.equal(0);
      expect(digits.stderr).to.contain('not all digits');
      expect(badEmail.code).to.not.equal(0);
      expect(badEmail.stderr).to.contain('must be an email address');
      expect(missing.code).to.not.equal(0);
      expect(missing.stderr).to.contain('--name');
      expect((await runTav(['users', 'list'], daemon.dataDir)).stdout).to.equal(before);
    });

    it("refuses every key of a disabled user with 401 from the next request, and takes them back when enabled", async function () {
      const userId = createdUserId(await runTav(['users', 'create', '--name', 'contractor'], daemon.dataDir));
      const [first, second] = await Promise.all([createKey(['read'], { user_id: userId }), createKey(['admin'], { user_id: userId })]);
      expectOk(await daemon.request('GET', '/api/v1/queue', undefined, as(first.key)));

      const disabled = await runTav(['users', 'disable', 'contractor'], daemon.dataDir);
      expect(disabled.code, disabled.stderr).to.equal(0);
      expect(disabled.stdout).to.contain(`user ${userId} (contractor) is inactive`);
      for (const key of [first.key, second.key]) {
        const refused = await daemon.request('GET', '/api/v1/queue', undefined, as(key));
        expectError(refused, 401, 'unauthorized');
        expect(refused.body.error.message).to.contain('not active');
      }
      // The keys themselves are untouched: enabling the user brings them back.
      expect(expectOk(await daemon.request('GET', `/api/v1/api-keys/${first.id}`)).state).to.equal('active');
      expect((await runTav(['users', 'enable', String(userId)], daemon.dataDir)).code).to.equal(0);
      expectOk(await daemon.request('GET', '/api/v1/queue', undefined, as(first.key)));
    });

    it('refuses the keys of a locked user too', async function () {
      const userId = createdUserId(await runTav(['users', 'create', '--name', 'suspicious'], daemon.dataDir));
      const { key } = await createKey(['read'], { user_id: userId });
      const locked = await runTav(['users', 'disable', String(userId), '--lock'], daemon.dataDir);
      expect(locked.code, locked.stderr).to.equal(0);
      expect(locked.stdout).to.contain('is locked');
      expectError(await daemon.request('GET', '/api/v1/queue', undefined, as(key)), 401, 'unauthorized');
    });

    it('never disables the system user, and says so for an unknown user', async function () {
      const system = await runTav(['users', 'disable', '1'], daemon.dataDir);
      expect(system.code).to.equal(1);
      expect(system.stderr).to.contain('system user');
      const byName = await runTav(['users', 'disable', 'system'], daemon.dataDir);
      expect(byName.code).to.equal(1);
      const unknown = await runTav(['users', 'disable', 'nobody-here'], daemon.dataDir);
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr).to.contain('no user nobody-here');
      expectOk(await daemon.request('GET', '/api/v1/queue'));
    });

    it('binds a key made by `tav keys create --user` to that user, and refuses an unknown or disabled one', async function () {
      const userId = createdUserId(await runTav(['users', 'create', '--name', 'cli-owner'], daemon.dataDir));
      const created = await runTav(['keys', 'create', '--name', 'owned', '--scopes', 'read', '--user', 'cli-owner'], daemon.dataDir);
      expect(created.code, created.stderr).to.equal(0);
      const id = Number(/^id: (\d+)$/m.exec(created.stdout)![1]);
      expect(expectOk(await daemon.request('GET', `/api/v1/api-keys/${id}`)).user_id).to.equal(userId);

      const unknown = await runTav(['keys', 'create', '--user', 'nobody-here'], daemon.dataDir);
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr).to.contain('no user nobody-here');
      await runTav(['users', 'disable', 'cli-owner'], daemon.dataDir);
      const disabled = await runTav(['keys', 'create', '--user', String(userId)], daemon.dataDir);
      expect(disabled.code).to.equal(1);
      expect(disabled.stderr).to.contain('is inactive');
    });
  });

  describe('request ids', function () {
    it('echoes a well-formed X-Request-Id in the response header and in an error body', async function () {
      const ok = await daemon.request('GET', '/api/v1/queue', undefined, { 'x-request-id': 'trace-42.a_b' });
      expect(ok.headers.get('x-request-id')).to.equal('trace-42.a_b');
      const failed = await daemon.request('GET', '/api/v1/events/999999', undefined, { 'x-request-id': 'trace-43' });
      expectError(failed, 404, 'not_found');
      expect(failed.headers.get('x-request-id')).to.equal('trace-43');
      expect(failed.body.error.request_id).to.equal('trace-43');
    });

    it('replaces an unsafe, empty or over-long X-Request-Id with a generated one', async function () {
      for (const unsafe of ['a b', '<script>', 'x'.repeat(65), 'naïve', '']) {
        const response = await daemon.request('GET', '/api/v1/nope', undefined, { 'x-request-id': unsafe });
        const id = response.headers.get('x-request-id');
        expect(id, unsafe).to.match(/^[0-9a-f-]{36}$/);
        expect(response.body.error.request_id).to.equal(id);
      }
    });

    it('gives every answer an id, generated when none was sent: health, refusals and successes alike', async function () {
      const answers = await Promise.all([
        daemon.request('GET', '/health'),
        daemon.request('GET', '/api/v1/queue', undefined, { authorization: '' }),
        daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, delay_ms: hourMs }),
      ]);
      const ids = answers.map((response) => response.headers.get('x-request-id'));
      for (const id of ids) expect(id).to.match(/^[0-9a-f-]{36}$/);
      expect(new Set(ids).size).to.equal(3);
      expect(answers[1]!.body.error.request_id).to.equal(ids[1]);
    });
  });
});
