// The settings API (validated against the catalog, applied without a restart, every change recorded)
// and the audit trail of mutating requests, refused ones included. A real daemon over loopback HTTP.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { settingCategories } from '../../src/domain/settings-catalog.js';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, expectError, expectOk, removeIfAllPassed } from '../helpers/api-assertions.js';
import { oneNode } from '../helpers/workflows.js';

const maxContentLength = 1_048_576;
const hourMs = 3_600_000;

describe('settings and audit trail', function () {
  let daemon: TestDaemon;
  let workflowId: string;

  /** The audit row of the request with this id; rows are written without waiting, so poll for it. */
  const auditRow = async (requestId: string) =>
    waitFor(async () => expectOk(await daemon.request('GET', `/api/v1/audit-logs?request_id=${requestId}`)).items[0], `the audit row of ${requestId}`, 5_000);

  /** A request carrying a fresh X-Request-Id; returns the response and the id. */
  const tracked = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const requestId = `t-${randomUUID()}`;
    const response = await daemon.request(method, path, body, { 'x-request-id': requestId, ...headers });
    return { response, requestId };
  };

  before(async function () {
    daemon = await startDaemon({ settings: { security: { max_content_length: maxContentLength } } });
    workflowId = await createWorkflow(daemon, oneNode());
  });

  after(async function () {
    if (!daemon) return;
    expect(await daemon.stop('SIGTERM')).to.equal(0);
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  describe('GET /api/v1/settings', function () {
    it('serves every category with its values', async function () {
      const settings = expectOk(await daemon.request('GET', '/api/v1/settings'));
      expect(Object.keys(settings)).to.deep.equal([...settingCategories]);
      expect(settings.execution).to.include({ max_concurrent_runs_global: 8, error_handling: 'stop_on_error', retry_delay: 5 });
      expect(settings.security.max_content_length).to.equal(maxContentLength);
      expect(settings.network.cors_origins).to.deep.equal([]);
      expect(settings.integrations).to.deep.equal({});
    });

    it('serves one category, and 404 for an unknown one', async function () {
      const storage = expectOk(await daemon.request('GET', '/api/v1/settings/storage'));
      expect(storage.category).to.equal('storage');
      expect(storage.settings).to.include({ result_storage_days: 30, auto_cleanup: true, upload_dir: 'uploads' });
      expectError(await daemon.request('GET', '/api/v1/settings/nonsense'), 404, 'not_found');
    });
  });

  describe('PUT /api/v1/settings/:category', function () {
    it('applies an engine setting at once: a new max_concurrent_runs_global is the capacity GET /api/v1/queue reports', async function () {
      expect(expectOk(await daemon.request('GET', '/api/v1/queue')).capacity.max_concurrent_runs_global).to.equal(8);
      const { response, requestId } = await tracked('PUT', '/api/v1/settings/execution', { max_concurrent_runs_global: 3, retry_delay: 2.5 });
      const body = expectOk(response);
      expect(body.category).to.equal('execution');
      expect(body.settings).to.include({ max_concurrent_runs_global: 3, retry_delay: 2.5 });
      expect(body.changes).to.deep.equal([
        { key: 'max_concurrent_runs_global', old: 8, new: 3 },
        { key: 'retry_delay', old: 5, new: 2.5 },
      ]);
      expect(expectOk(await daemon.request('GET', '/api/v1/queue')).capacity).to.deep.equal({ max_concurrent_runs_global: 3, free: 3 });
      expect(expectOk(await daemon.request('GET', '/api/v1/settings/execution')).settings.max_concurrent_runs_global).to.equal(3);

      // The change record: who (user and key), old and new, written with the change itself.
      const change = expectOk(await daemon.request('GET', `/api/v1/audit-logs?action=settings.update&request_id=${requestId}`)).items;
      expect(change).to.have.length(1);
      expect(change[0]).to.include({ user_id: 1, api_key_id: 1, resource_type: 'settings', resource_id: 'execution' });
      expect(change[0].details).to.deep.equal({ category: 'execution', changes: body.changes });
      // And the request's own row.
      expect(await auditRow(requestId)).to.include({ action: 'PUT /api/v1/settings/:category', status_code: 200 });
    });

    it('keeps values of every kind it accepts, including the range ends', async function () {
      const values = {
        max_concurrent_nodes: 50,
        max_retries: 0,
        backoff_multiplier: 5,
        error_handling: 'continue_on_error',
      };
      expectOk(await daemon.request('PUT', '/api/v1/settings/execution', values));
      expect(expectOk(await daemon.request('GET', '/api/v1/settings/execution')).settings).to.include(values);
      expectOk(await daemon.request('PUT', '/api/v1/settings/network', { cors_origins: ['https://ops.example.org'] }));
      expectOk(await daemon.request('PUT', '/api/v1/settings/storage', { auto_cleanup: false, upload_dir: 'incoming' }));
      const providers = { local: { provider_type: 'openai', base_url: 'http://127.0.0.1:11434/v1', default_model: 'llama3', enabled: true } };
      expectOk(await daemon.request('PUT', '/api/v1/settings/ai', { providers, default_provider: 'local' }));
      const all = expectOk(await daemon.request('GET', '/api/v1/settings'));
      expect(all.network.cors_origins).to.deep.equal(['https://ops.example.org']);
      expect(all.storage).to.include({ auto_cleanup: false, upload_dir: 'incoming' });
      expect(all.ai.providers).to.deep.equal(providers);
      expectOk(await daemon.request('PUT', '/api/v1/settings/execution', { error_handling: 'stop_on_error', max_retries: 3 }));
    });

    it('refuses an out-of-range value with 400 naming the allowed range, and changes nothing', async function () {
      const before = expectOk(await daemon.request('GET', '/api/v1/settings/execution')).settings;
      const { response, requestId } = await tracked('PUT', '/api/v1/settings/execution', { max_concurrent_runs_global: 500, max_retries: 2 });
      expectError(response, 400, 'invalid_settings');
      expect(response.body.error.message).to.contain('max_concurrent_runs_global').and.to.contain('from 1 to 200');
      expect(response.body.error.details).to.deep.equal([
        { key: 'max_concurrent_runs_global', message: '500 is out of range: must be from 1 to 200', allowed: 'integer 1–200' },
      ]);
      // Refused as a whole: the valid max_retries was not applied either, nothing was clamped.
      expect(expectOk(await daemon.request('GET', '/api/v1/settings/execution')).settings).to.deep.equal(before);
      expect(expectOk(await daemon.request('GET', '/api/v1/queue')).capacity.max_concurrent_runs_global).to.equal(before.max_concurrent_runs_global);
      expect(await auditRow(requestId)).to.include({ status_code: 400, error_code: 'invalid_settings' });
    });

    const refused: Array<[string, string, Record<string, unknown>, string]> = [
      ['below the minimum', 'execution', { max_concurrent_nodes: 0 }, 'integer 1–50'],
      ['a fraction for an integer', 'execution', { max_retries: 2.5 }, 'integer 0–20'],
      ['text for a number', 'execution', { retry_delay: '5' }, 'number 0.1–300'],
      ['a number below a fractional minimum', 'execution', { retry_delay: 0.05 }, 'number 0.1–300'],
      ['a value outside an enum', 'execution', { error_handling: 'ignore' }, 'one of stop_on_error, continue_on_error'],
      ['text for a boolean', 'storage', { auto_cleanup: 'yes' }, 'true or false'],
      ['an empty text', 'storage', { upload_dir: '' }, 'text of 1–255 characters'],
      ['a list of numbers for a list of texts', 'network', { cors_origins: [1, 2] }, 'a list of up to 100 texts'],
      ['a provider holding an api_key', 'ai', { providers: { p: { base_url: 'https://x.example', api_key: 'sk-1' } } }, 'an object {name: {provider_type, base_url, default_model, credential_id, enabled}} with an http(s) base_url'],
      ['a provider without an http(s) base_url', 'ai', { providers: { p: { base_url: 'file:///etc/passwd' } } }, 'an object {name: {provider_type, base_url, default_model, credential_id, enabled}} with an http(s) base_url'],
      ['a byte limit above 2 GiB', 'security', { max_content_length: 2147483649 }, 'integer 1048576–2147483648'],
      ['an unknown key', 'execution', { max_everything: 1 }, 'a key of execution: max_concurrent_nodes'],
      ['any key of integrations, which has none', 'integrations', { slack: true }, 'a key of integrations: (none)'],
      ['null', 'ui', { grid_opacity: null }, 'number 0–1'],
    ];
    for (const [what, category, body, allowed] of refused) {
      it(`refuses ${what} with 400 and the allowed values`, async function () {
        const response = await daemon.request('PUT', `/api/v1/settings/${category}`, body);
        expectError(response, 400, 'invalid_settings');
        const [problem] = response.body.error.details;
        expect(problem.key).to.equal(Object.keys(body)[0]);
        expect(problem.allowed).to.satisfy((text: string) => text.startsWith(allowed));
      });
    }

    it('lists every refused key at once', async function () {
      const response = await daemon.request('PUT', '/api/v1/settings/execution', { max_concurrent_nodes: 99, error_handling: 'x', nope: 1 });
      expectError(response, 400, 'invalid_settings');
      expect(response.body.error.details.map((p: { key: string }) => p.key)).to.deep.equal(['max_concurrent_nodes', 'error_handling', 'nope']);
    });

    it('refuses an empty change, a body that is not an object, a non-JSON type, malformed JSON and an unknown category', async function () {
      expectError(await daemon.request('PUT', '/api/v1/settings/execution', {}), 400, 'validation_failed');
      expectError(await daemon.request('PUT', '/api/v1/settings/execution', [1]), 400, 'validation_failed');
      expectError(await daemon.request('PUT', '/api/v1/settings/execution', '7'), 400, 'validation_failed');
      expectError(await daemon.request('PUT', '/api/v1/settings/execution', 'max_retries=1', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
      expectError(await daemon.request('PUT', '/api/v1/settings/execution', '{"max_retries":'), 400, 'malformed_json');
      expectError(await daemon.request('PUT', '/api/v1/settings/nonsense', { max_retries: 1 }), 404, 'not_found');
    });

    it('records nothing as changed when a value is put again as it is', async function () {
      const current = expectOk(await daemon.request('GET', '/api/v1/settings/ui')).settings.default_grid_size;
      const { response, requestId } = await tracked('PUT', '/api/v1/settings/ui', { default_grid_size: current });
      expect(expectOk(response).changes).to.deep.equal([]);
      await auditRow(requestId);
      expect(expectOk(await daemon.request('GET', `/api/v1/audit-logs?action=settings.update&request_id=${requestId}`)).items).to.deep.equal([]);
    });
  });

  describe('audit of mutating requests', function () {
    it('records a successful create with who, what, the new resource, where from and the request id', async function () {
      const { response, requestId } = await tracked('POST', '/api/v1/workflows', oneNode(), { 'user-agent': 'audit-test/1.0' });
      const created = expectOk(response, 201);
      const row = await auditRow(requestId);
      expect(row).to.include({
        user_id: 1,
        api_key_id: 1,
        action: 'POST /api/v1/workflows',
        resource_type: 'workflows',
        resource_id: created.id,
        ip_address: '127.0.0.1',
        user_agent: 'audit-test/1.0',
        status_code: 201,
        error_code: null,
        error_message: null,
        request_id: requestId,
      });
      expect(Date.parse(row.created_at)).to.be.closeTo(Date.now(), 60_000);
    });

    it('names the route and the resource in its path for an enqueue through execute', async function () {
      const { response, requestId } = await tracked('POST', `/api/v1/workflows/${workflowId}/execute`, { delay_ms: hourMs });
      expectOk(response, 202);
      expect(await auditRow(requestId)).to.include({ action: 'POST /api/v1/workflows/:id/execute', resource_type: 'workflows', resource_id: workflowId, status_code: 202 });
      const enqueued = await tracked('POST', '/api/v1/events', { workflow_id: workflowId, delay_ms: hourMs });
      expect(await auditRow(enqueued.requestId)).to.include({ action: 'POST /api/v1/events', resource_type: 'events', resource_id: String(enqueued.response.body.id) });
    });

    it('records refused requests too: 400, 401, 403, 404, 409, 413 and 415, with the error', async function () {
      const readKey = expectOk(await daemon.request('POST', '/api/v1/api-keys', { name: 'reader', scopes: ['read'] }), 201);
      const pending = expectOk(await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, delay_ms: hourMs }), 202);
      expectOk(await daemon.request('POST', `/api/v1/events/${pending.id}/cancel`));
      const cases: Array<[number, string, Promise<{ response: { status: number }; requestId: string }>]> = [
        [400, 'validation_failed', tracked('POST', '/api/v1/events', { workflow_id: workflowId, priority: 9 })],
        [401, 'unauthorized', tracked('DELETE', `/api/v1/workflows/${workflowId}`, undefined, { authorization: '' })],
        [403, 'forbidden', tracked('POST', '/api/v1/workflows', oneNode(), { authorization: `Bearer ${readKey.key}` })],
        [404, 'not_found', tracked('PUT', '/api/v1/workflows/no-such-workflow', oneNode())],
        [409, 'not_pending', tracked('POST', `/api/v1/events/${pending.id}/cancel`)],
        [413, 'payload_too_large', tracked('POST', '/api/v1/events', { workflow_id: workflowId, event_data: { blob: 'x'.repeat(maxContentLength) } })],
        [415, 'unsupported_media_type', tracked('POST', '/api/v1/events', 'workflow_id=x', { 'content-type': 'text/plain' })],
        [404, 'route_not_found', tracked('POST', '/api/v1/no-such-route', {})],
      ];
      for (const [status, code, pendingRequest] of cases) {
        const { response, requestId } = await pendingRequest;
        expect(response.status, code).to.equal(status);
        const row = await auditRow(requestId);
        expect(row, code).to.include({ status_code: status, error_code: code, request_id: requestId });
        expect(row.error_message, code).to.be.a('string').and.not.equal('');
        if (status === 401) expect(row).to.include({ user_id: null, api_key_id: null, action: 'DELETE /api/v1/workflows/:id', resource_id: workflowId });
        if (status === 403) expect(row).to.include({ user_id: 1, api_key_id: readKey.id });
        if (code === 'route_not_found') expect(row).to.include({ action: 'POST /api/v1/no-such-route' });
      }
    });

    it('bounds the rows a flood of keyless refusals writes, and still records keyed requests', async function () {
      for (let i = 0; i < 80; i++) await daemon.request('DELETE', `/api/v1/workflows/${workflowId}`, undefined, { authorization: '', 'user-agent': 'flood' });
      const keyed = await tracked('POST', '/api/v1/events', { workflow_id: workflowId, priority: 9 }, { 'user-agent': 'flood' });
      await auditRow(keyed.requestId);
      const rows = expectOk(await daemon.request('GET', '/api/v1/audit-logs?status=401&limit=200')).items.filter((row: any) => row.user_agent === 'flood');
      // At most 30 keyless refusals per client per minute; earlier tests' refusals share the window.
      expect(rows.length).to.be.within(1, 30);
    });

    it('does not record reads, and cuts a long user agent to 512 characters', async function () {
      const read = await tracked('GET', '/api/v1/queue');
      const longAgent = await tracked('POST', '/api/v1/events', { workflow_id: workflowId, delay_ms: hourMs }, { 'user-agent': 'u'.repeat(2_000) });
      expect((await auditRow(longAgent.requestId)).user_agent).to.equal('u'.repeat(512));
      // Written in order through the one writer: once the later row is there, the earlier would be too.
      expect(expectOk(await daemon.request('GET', `/api/v1/audit-logs?request_id=${read.requestId}`)).items).to.deep.equal([]);
    });
  });

  describe('GET /api/v1/audit-logs', function () {
    before(async function () {
      // A known set of rows to filter: three workflow creates and two refused deletes.
      for (let i = 0; i < 3; i++) await createWorkflow(daemon, oneNode());
      for (let i = 0; i < 2; i++) await daemon.request('DELETE', '/api/v1/workflows/missing-one');
      await waitFor(async () => expectOk(await daemon.request('GET', '/api/v1/audit-logs?action=DELETE%20/api/v1/workflows/:id&status=404')).items.length >= 2, 'the delete rows');
    });

    it('lists rows newest first and filters by action, resource, status and its class, user and key', async function () {
      const all = expectOk(await daemon.request('GET', '/api/v1/audit-logs?limit=500')).items;
      const ids = all.map((row: { id: number }) => row.id);
      expect(ids).to.deep.equal([...ids].sort((a, b) => b - a));

      const creates = expectOk(await daemon.request('GET', '/api/v1/audit-logs?action=POST%20/api/v1/workflows&limit=500')).items;
      expect(creates.length).to.be.at.least(4);
      expect(creates.every((row: { action: string }) => row.action === 'POST /api/v1/workflows')).to.equal(true);

      const missing = expectOk(await daemon.request('GET', '/api/v1/audit-logs?resource_type=workflows&resource_id=missing-one')).items;
      expect(missing).to.have.length(2);
      expect(missing.every((row: { status_code: number }) => row.status_code === 404)).to.equal(true);

      const clientErrors = expectOk(await daemon.request('GET', '/api/v1/audit-logs?status=4xx&limit=500')).items;
      expect(clientErrors.length).to.be.at.least(2);
      expect(clientErrors.every((row: { status_code: number }) => row.status_code >= 400 && row.status_code <= 499)).to.equal(true);
      const created = expectOk(await daemon.request('GET', '/api/v1/audit-logs?status=201&limit=500')).items;
      expect(created.every((row: { status_code: number }) => row.status_code === 201)).to.equal(true);

      const byUser = expectOk(await daemon.request('GET', '/api/v1/audit-logs?user_id=1&api_key_id=1&limit=500')).items;
      expect(byUser.length).to.be.at.least(5);
      expect(byUser.every((row: { user_id: number; api_key_id: number }) => row.user_id === 1 && row.api_key_id === 1)).to.equal(true);
      expect(expectOk(await daemon.request('GET', '/api/v1/audit-logs?user_id=424242')).items).to.deep.equal([]);
    });

    it('filters by time: from is inclusive, to exclusive', async function () {
      const [newest] = expectOk(await daemon.request('GET', '/api/v1/audit-logs?limit=1')).items;
      const at = newest.created_at as string;
      const from = expectOk(await daemon.request('GET', `/api/v1/audit-logs?from=${at}&limit=500`)).items;
      expect(from.map((row: { id: number }) => row.id)).to.include(newest.id);
      expect(from.every((row: { created_at: string }) => row.created_at >= at)).to.equal(true);
      const to = expectOk(await daemon.request('GET', `/api/v1/audit-logs?to=${at}&limit=500`)).items;
      expect(to.map((row: { id: number }) => row.id)).not.to.include(newest.id);
      expect(to.every((row: { created_at: string }) => row.created_at < at)).to.equal(true);
      const future = new Date(Date.now() + hourMs).toISOString();
      expect(expectOk(await daemon.request('GET', `/api/v1/audit-logs?from=${future}`)).items).to.deep.equal([]);
    });

    it('pages with a cursor: pages of the limit, disjoint, newest first, covering every row, then no cursor', async function () {
      // No mutating request runs while paging (reads are not audited), so the pages must add up to the whole list.
      const all = expectOk(await daemon.request('GET', '/api/v1/audit-logs?limit=500')).items.map((row: { id: number }) => row.id);
      const seen: number[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages <= all.length; pages++) {
        const page: { items: Array<{ id: number }>; next_cursor: string | null } = expectOk(await daemon.request('GET', `/api/v1/audit-logs?limit=3${cursor ? `&cursor=${cursor}` : ''}`));
        if (page.next_cursor !== null) expect(page.items).to.have.length(3);
        seen.push(...page.items.map((row) => row.id));
        cursor = page.next_cursor;
        if (cursor === null) break;
      }
      expect(cursor).to.equal(null);
      expect(seen).to.deep.equal(all);
    });

    const badQueries = ['limit=0', 'limit=501', 'limit=ten', 'cursor=0', 'cursor=abc', 'status=42', 'status=6xx', 'status=4XX', 'from=yesterday', 'to=2024-13-01T00:00:00Z', 'user_id=-1', `action=${'a'.repeat(129)}`];
    for (const query of badQueries) {
      it(`refuses ${query.slice(0, 30)} with 400`, async function () {
        expectError(await daemon.request('GET', `/api/v1/audit-logs?${query}`), 400, 'validation_failed');
      });
    }
  });
});
