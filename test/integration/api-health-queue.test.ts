// Health, readiness, the queue status an admin checks first, and the error shape of requests that
// match no route — through a real daemon over loopback HTTP.
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, expectError, expectOk, waitForEventEnd, removeIfAllPassed } from '../helpers/api-assertions.js';
import { node, oneNode, workflowBody } from '../helpers/workflows.js';

const hourMs = 3_600_000;
const maxRuns = 3;

describe('health, queue status and routing errors', function () {
  let daemon: TestDaemon;

  before(async function () {
    daemon = await startDaemon({ settings: { execution: { max_concurrent_runs_global: maxRuns } } });
  });

  after(async function () {
    if (!daemon) return;
    expect(await daemon.stop('SIGTERM')).to.equal(0);
    expect(daemon.output()).to.contain('"message":"stopped"');
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  describe('health', function () {
    it('answers /health with 200 without a key', async function () {
      const response = await daemon.request('GET', '/health', undefined, { authorization: '' });
      expect(expectOk(response)).to.deep.equal({ status: 'ok' });
    });

    it('answers /health with 200 whatever key is sent', async function () {
      expectOk(await daemon.request('GET', '/health', undefined, { authorization: 'Bearer tav_wrong' }));
    });

    it('answers /health/ready with 200 and every check true', async function () {
      const body = expectOk(await daemon.request('GET', '/health/ready', undefined, { authorization: '' }));
      expect(body.status).to.equal('ready');
      expect(body.reasons).to.deep.equal([]);
      expect(body.checks).to.deep.equal({ writer_open: true, migrations_current: true, pool_up: true, dispatcher_ticking: true, not_draining: true });
    });

    it('sets security headers', async function () {
      const response = await daemon.request('GET', '/health');
      expect(response.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(response.headers.get('cache-control')).to.equal('no-store');
    });
  });

  describe('GET /api/v1/queue', function () {
    let workflowId: string;

    before(async function () {
      workflowId = await createWorkflow(daemon, oneNode());
    });

    it('starts empty, with the capacity from settings and the pool size', async function () {
      const queue = expectOk(await daemon.request('GET', '/api/v1/queue'));
      expect(queue.depth).to.deep.equal({ pending: 0, processing: 0, paused: 0, completed: 0, failed: 0, cancelled: 0 });
      expect(queue.pending_by_priority).to.deep.equal({ 1: 0, 2: 0, 3: 0, 4: 0, 5: 0 });
      expect(queue.oldest_pending_age_ms).to.equal(null);
      expect(queue.in_flight).to.equal(0);
      expect(queue.capacity).to.deep.equal({ max_concurrent_runs_global: maxRuns, free: maxRuns });
      expect(queue.pool.threads).to.equal(2);
    });

    it('counts delayed events by priority and reports the age of the oldest', async function () {
      const enqueuedFrom = Date.now();
      const urgent = [await enqueue(daemon, workflowId, { priority: 1, delay_ms: hourMs }), await enqueue(daemon, workflowId, { priority: 1, delay_ms: hourMs })];
      for (let i = 0; i < 3; i += 1) await enqueue(daemon, workflowId, { priority: 5, delay_ms: hourMs });

      const queue = await waitFor(async () => {
        const body = expectOk(await daemon.request('GET', '/api/v1/queue'));
        return body.oldest_pending_age_ms >= 100 ? body : null;
      }, 'the oldest pending event to age');
      expect(queue.oldest_pending_age_ms).to.be.at.most(Date.now() - enqueuedFrom + 50);
      expect(queue.depth).to.include({ pending: 5, processing: 0 });
      expect(queue.pending_by_priority).to.deep.equal({ 1: 2, 2: 0, 3: 0, 4: 0, 5: 3 });
      expect(queue.due_pending).to.equal(0);

      expectOk(await daemon.request('POST', `/api/v1/events/${urgent[0].id}/cancel`));
      const afterCancel = expectOk(await daemon.request('GET', '/api/v1/queue'));
      expect(afterCancel.depth).to.include({ pending: 4, cancelled: 1 });
      expect(afterCancel.pending_by_priority).to.deep.equal({ 1: 1, 2: 0, 3: 0, 4: 0, 5: 3 });
    });

    it('counts completed and failed events', async function () {
      const failing = await createWorkflow(daemon, workflowBody('fails', [node('boom', 'test_fail')]));
      await waitForEventEnd(daemon, (await enqueue(daemon, workflowId)).id);
      await waitForEventEnd(daemon, (await enqueue(daemon, failing)).id);
      const queue = expectOk(await daemon.request('GET', '/api/v1/queue'));
      expect(queue.depth).to.include({ completed: 1, failed: 1, pending: 4, cancelled: 1 });
    });

    it('reports executions in flight against the capacity', async function () {
      const slow = await createWorkflow(daemon, workflowBody('slow', [node('slow', 'test_slow', { ms: 600 })]));
      const events = [await enqueue(daemon, slow), await enqueue(daemon, slow)];
      const busy = await waitFor(async () => {
        const body = expectOk(await daemon.request('GET', '/api/v1/queue'));
        return body.in_flight === 2 && body.depth.processing === 2 ? body : null;
      }, 'two runs in flight');
      expect(busy.capacity).to.deep.equal({ max_concurrent_runs_global: maxRuns, free: maxRuns - 2 });

      for (const event of events) await waitForEventEnd(daemon, event.id);
      const idle = await waitFor(async () => {
        const body = expectOk(await daemon.request('GET', '/api/v1/queue'));
        return body.in_flight === 0 ? body : null;
      }, 'the runs to end');
      expect(idle.capacity.free).to.equal(maxRuns);
      expect(idle.depth.processing).to.equal(0);
    });

    it('answers a wrong or missing key with 401', async function () {
      expectError(await daemon.request('GET', '/api/v1/queue', undefined, { authorization: 'Bearer tav_wrong' }), 401, 'unauthorized');
      expectError(await daemon.request('GET', '/api/v1/queue', undefined, { authorization: '' }), 401, 'unauthorized');
    });
  });

  describe('routing errors', function () {
    it('answers an unknown route with 404 in the JSON error shape', async function () {
      expectError(await daemon.request('GET', '/api/v1/no-such-thing'), 404, 'route_not_found');
      expectError(await daemon.request('GET', '/no-such-thing'), 404, 'route_not_found');
      expectError(await daemon.request('POST', '/api/v2/events', {}), 404, 'route_not_found');
    });

    it('answers a wrong method with 405 in the JSON error shape, listing the allowed ones', async function () {
      const response = await daemon.request('DELETE', '/api/v1/queue');
      expectError(response, 405, 'method_not_allowed');
      expect(response.headers.get('allow')).to.contain('GET');
      expectError(await daemon.request('PATCH', '/api/v1/events'), 405, 'method_not_allowed');
      expectError(await daemon.request('PUT', '/api/v1/events/1', {}), 405, 'method_not_allowed');
      expectError(await daemon.request('POST', '/health'), 405, 'method_not_allowed');
    });

    it('never puts a stack trace or a file path in an error answer', async function () {
      const nested = '['.repeat(50_000) + ']'.repeat(50_000);
      const requests: Array<[string, string, unknown?, Record<string, string>?]> = [
        ['POST', '/api/v1/events', '{"workflow_id":'],
        ['POST', '/api/v1/events', `{"workflow_id":"x","event_data":${nested}}`],
        ['POST', '/api/v1/workflows', `{"name":"deep","workflow_data":{"nodes":${nested}}}`],
        ['POST', '/api/v1/events', { workflow_id: 1, priority: 'high', extra: true }],
        ['POST', '/api/v1/workflows', { name: 'x', workflow_data: { nodes: [{ node_id: 'a', node_type: 'nope' }], connections: [{}] } }],
        ['GET', '/api/v1/events/%E0%A4%A'],
        ['GET', '/api/v1/executions/%E0%A4%A/logs?limit=-5'],
        ['GET', '/api/v1/events?limit=1&limit=2'],
        ['GET', '/api/v1/events/99999999999999999999'],
        ['POST', '/api/v1/workflows/x/execute', '"just a string"'],
        ['GET', '/api/v1/queue', undefined, { authorization: 'Bearer' }],
      ];
      for (const [method, path, body, headers] of requests) {
        const response = await daemon.request(method, path, body, headers);
        const text = JSON.stringify(response.body);
        expect(response.status, `${method} ${path}: ${text}`).to.be.within(400, 499);
        expect(response.body.error.code, `${method} ${path}`).to.be.a('string');
        expect(text, `${method} ${path}`).not.to.match(/\bat .+\(?.+:\d+:\d+\)?|node_modules|\/work\/|dist\/src/);
      }
      expectOk(await daemon.request('GET', '/health/ready'));
    });
  });
});
