// Retries, timeouts and steering a run (semantics §4, §9) on a real daemon: per-node retries with
// backoff against a flaky loopback HTTP server, retries turned off, non-retryable failures, a hung
// node released by its timeout while other work flows, the workflow timeout, cancel (sticky) and
// retry of an execution that reuses what its finished nodes recorded.
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, expectError, expectOk, removeIfAllPassed, waitForEventEnd } from '../helpers/api-assertions.js';
import { startLoopbackServer, type LoopbackServer } from '../helpers/loopback-server.js';
import { executionLogs, getExecution, nodeEvents, runToEnd, waitForNodeStarted } from '../helpers/workflow-runs.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

/** An http_request node calling `path` on the loopback server. */
const call = (server: LoopbackServer, nodeId: string, path: string) => node(nodeId, 'http_request', { url: `${server.url}${path}`, timeout: 5 });

/** Waits until the daemon runs no execution: an ended attempt has written its outcome. */
async function waitForIdle(daemon: TestDaemon, timeoutMs = 5_000): Promise<void> {
  await waitFor(async () => expectOk(await daemon.request('GET', '/api/v1/queue')).in_flight === 0, 'no execution in flight', timeoutMs);
}

describe('retries, timeouts, cancel and retry', function () {
  let server: LoopbackServer;

  before(async function () {
    server = await startLoopbackServer();
  });

  after(async function () {
    await server?.close();
  });

  describe('node retries and cancellation', function () {
    let daemon: TestDaemon;

    before(async function () {
      // Waits of 100 ms, then 150 ms: min(retry_delay × 1.5^attempt, max_retry_delay).
      // Four threads: a cancelled shared node keeps its thread busy until its body ends (the pool
      // settles it at once but cannot abort it inside the worker), and batched nodes wait for an idle one.
      daemon = await startDaemon({
        settings: { execution: { retry_delay: 0.1, backoff_multiplier: 1.5, max_retry_delay: 60, max_retries: 3 } },
        env: { TAV_WORKERS: '4' },
      });
    });

    after(async function () {
      if (!daemon) return;
      await daemon.stop('SIGTERM');
      removeIfAllPassed(this.test!.parent!, daemon.dataDir);
    });

    it('retries an HTTP node that fails twice with 503 and succeeds on the third attempt, logging each attempt', async function () {
      server.script('/flaky', (n) => (n <= 2 ? { status: 503, body: { error: 'busy' } } : { status: 200, body: { answer: 42 } }));
      const workflowId = await createWorkflow(daemon, workflowBody('flaky call', [call(server, 'fetch', '/flaky')]));
      const { event, execution } = await runToEnd(daemon, workflowId);

      expect(event.status).to.equal('completed');
      expect(server.calls('/flaky')).to.equal(3);
      expect(execution.node_results.fetch).to.include({ status: 'completed', attempts: 3 });
      expect(execution.final_outputs.fetch).to.include({ status_code: 200, success: true });
      expect(execution.final_outputs.fetch.response).to.deep.equal({ answer: 42 });

      const logs = (await executionLogs(daemon, execution.id)).filter((row) => row.node_id === 'fetch');
      expect(logs.map((row) => `${row.event}#${row.attempt}`)).to.deep.equal([
        'node_started#1', 'node_failed#1', 'node_retry#2',
        'node_started#2', 'node_failed#2', 'node_retry#3',
        'node_started#3', 'node_completed#3',
      ]);
      expect(logs.filter((row) => row.event === 'node_failed').map((row) => row.data)).to.deep.equal([
        { code: 'http_503', retryable: true },
        { code: 'http_503', retryable: true },
      ]);
      expect(logs.filter((row) => row.event === 'node_retry').map((row) => row.data)).to.deep.equal([{ wait_ms: 100 }, { wait_ms: 150 }]);
      const started = logs.filter((row) => row.event === 'node_started').map((row) => Date.parse(row.created_at));
      expect(started[1]! - started[0]!, 'wait before attempt 2').to.be.at.least(100);
      expect(started[2]! - started[1]!, 'wait before attempt 3').to.be.at.least(150);
    });

    it('tries a node once when the workflow says retry_enabled: false', async function () {
      server.script('/down', () => ({ status: 503 }));
      const workflowId = await createWorkflow(daemon, workflowBody('no retries', [call(server, 'fetch', '/down')], [], { execution_config: { retry_enabled: false } }));
      const { event, execution } = await runToEnd(daemon, workflowId);

      expect(event.status).to.equal('failed');
      expect(event.attempts, 'the event is not retried either').to.equal(1);
      expect(server.calls('/down')).to.equal(1);
      expect(execution.node_results.fetch.error).to.include({ code: 'http_503', retryable: true });
      expect(nodeEvents(await executionLogs(daemon, execution.id), 'fetch')).to.deep.equal(['node_started', 'node_failed']);
    });

    it('does not retry a 404', async function () {
      server.script('/missing', () => ({ status: 404, body: { error: 'no such thing' } }));
      const workflowId = await createWorkflow(daemon, workflowBody('not found', [call(server, 'fetch', '/missing')]));
      const { event, execution } = await runToEnd(daemon, workflowId);

      expect(event.status).to.equal('failed');
      expect(event.attempts).to.equal(1);
      expect(server.calls('/missing')).to.equal(1);
      expect(execution.node_results.fetch.error).to.include({ code: 'http_404', retryable: false });
      expect(nodeEvents(await executionLogs(daemon, execution.id), 'fetch')).to.deep.equal(['node_started', 'node_failed']);
    });

    describe('cancel', function () {
      it('cancels a running execution within a second, ends its attempt at once, and keeps it cancelled', async function () {
        const workflowId = await createWorkflow(daemon, workflowBody('long', [node('slow', 'test_slow', { ms: 10_000 }), node('later', 'test_echo')], [link('slow', 'output', 'later', 'input')]));
        const { id: eventId } = await enqueue(daemon, workflowId);
        const executionId = await waitForNodeStarted(daemon, eventId, 'slow');

        const before = Date.now();
        const answer = await daemon.request('POST', `/api/v1/executions/${executionId}/cancel`);
        expect(Date.now() - before, 'cancel answers within a second').to.be.below(1000);
        expect(expectOk(answer)).to.include({ id: executionId, status: 'cancelled' });
        expect(answer.body.cancelled_at).to.be.a('string');

        // The attempt stops at once rather than after the node's 10 s.
        await waitForIdle(daemon, 3_000);
        expect(Date.now() - before).to.be.below(3_000);
        // The attempt has ended and written its outcome; the execution and its event stay cancelled.
        expect((await getExecution(daemon, executionId)).status).to.equal('cancelled');
        expect(expectOk(await daemon.request('GET', `/api/v1/events/${eventId}`)).status).to.equal('cancelled');
        const logs = await executionLogs(daemon, executionId);
        expect(nodeEvents(logs, 'slow')).to.deep.equal(['node_started']);
        expect(nodeEvents(logs, 'later')).to.deep.equal([]);
      });

      it('refuses to cancel an execution that has completed', async function () {
        const workflowId = await createWorkflow(daemon, workflowBody('quick', [node('echo', 'test_echo', { value: 1 })]));
        const { execution } = await runToEnd(daemon, workflowId);

        expectError(await daemon.request('POST', `/api/v1/executions/${execution.id}/cancel`), 409, 'not_cancellable');
        expect((await getExecution(daemon, execution.id)).status).to.equal('completed');
      });

      it('answers 404 for an execution that does not exist', async function () {
        expectError(await daemon.request('POST', '/api/v1/executions/no-such-execution/cancel'), 404, 'not_found');
      });
    });

    describe('retry', function () {
      it('re-runs a cancelled execution without repeating the nodes that had finished', async function () {
        const workflowId = await createWorkflow(
          daemon,
          workflowBody('call then wait', [call(server, 'first', '/once-a'), node('slow', 'test_slow', { ms: 1500 }), call(server, 'last', '/once-b')], [link('first', 'response', 'slow', 'input'), link('slow', 'output', 'last', 'data')]),
        );
        const { id: eventId } = await enqueue(daemon, workflowId);
        const executionId = await waitForNodeStarted(daemon, eventId, 'slow');
        expectOk(await daemon.request('POST', `/api/v1/executions/${executionId}/cancel`));
        await waitForIdle(daemon);

        const retried = await daemon.request('POST', `/api/v1/executions/${executionId}/retry`, {});
        expect(expectOk(retried, 202)).to.include({ id: executionId, status: 'pending' });
        const event = await waitForEventEnd(daemon, eventId);

        expect(event.status).to.equal('completed');
        const execution = await getExecution(daemon, executionId);
        expect(execution.status).to.equal('completed');
        expect(server.calls('/once-a'), 'the finished call is not repeated').to.equal(1);
        expect(server.calls('/once-b')).to.equal(1);
        expect(execution.node_results.slow.outputs.output, 'the recorded response of the first attempt').to.deep.equal({ ok: true, n: 1 });
        const logs = await executionLogs(daemon, executionId);
        expect(nodeEvents(logs, 'first')).to.deep.equal(['node_started', 'node_completed']);
        expect(nodeEvents(logs, 'slow')).to.deep.equal(['node_started', 'node_started', 'node_completed']);
      });

      it('re-runs a failed execution from the failed node, reusing the outputs of the finished ones', async function () {
        server.script('/gate-1', (n) => (n === 1 ? { status: 404 } : { status: 200, body: { open: true } }));
        const workflowId = await createWorkflow(daemon, workflowBody('call then gate', [call(server, 'first', '/once-c'), call(server, 'gate', '/gate-1')], [link('first', 'response', 'gate', 'data')]));
        const { event: failed, execution: before } = await runToEnd(daemon, workflowId);
        expect(failed.status).to.equal('failed');
        expect(before.node_results.gate.error.code).to.equal('http_404');

        expectOk(await daemon.request('POST', `/api/v1/executions/${before.id}/retry`, {}), 202);
        const event = await waitForEventEnd(daemon, failed.id);

        expect(event.status).to.equal('completed');
        const execution = await getExecution(daemon, before.id);
        expect(execution.status).to.equal('completed');
        expect(execution.final_outputs.gate.response).to.deep.equal({ open: true });
        expect(server.calls('/once-c'), 'the finished call is not repeated').to.equal(1);
        expect(server.calls('/gate-1')).to.equal(2);
      });

      it('refuses to retry a completed execution', async function () {
        const workflowId = await createWorkflow(daemon, workflowBody('quick', [node('echo', 'test_echo', { value: 1 })]));
        const { execution } = await runToEnd(daemon, workflowId);
        expectError(await daemon.request('POST', `/api/v1/executions/${execution.id}/retry`, {}), 409, 'not_retryable');
      });

      for (const ending of ['failed', 'cancelled'] as const) {
        it(`refuses to retry a ${ending} execution after the workflow's structure changed, unless forced`, async function () {
          const path = `/gate-${ending}`;
          server.script(path, () => ({ status: 404 }));
          const nodes = [call(server, 'first', `/once-${ending}`), ending === 'failed' ? call(server, 'gate', path) : node('gate', 'test_slow', { ms: 3_000 })];
          const links = [link('first', 'response', 'gate', ending === 'failed' ? 'data' : 'input')];
          const workflowId = await createWorkflow(daemon, workflowBody('to be changed', nodes, links));
          const { id: eventId } = await enqueue(daemon, workflowId);
          const executionId = await waitForNodeStarted(daemon, eventId, 'gate');
          if (ending === 'cancelled') expectOk(await daemon.request('POST', `/api/v1/executions/${executionId}/cancel`));
          expect((await waitForEventEnd(daemon, eventId)).status).to.equal(ending);
          await waitForIdle(daemon);

          // One more node: the recorded outputs no longer describe the workflow as it is.
          const changedNodes = [...nodes.slice(0, 1), node('gate', 'test_echo'), node('extra', 'text_input', { text: 'new' })];
          expectOk(await daemon.request('PUT', `/api/v1/workflows/${workflowId}`, workflowBody('changed', changedNodes, [link('first', 'response', 'gate', 'input')])));
          expectError(await daemon.request('POST', `/api/v1/executions/${executionId}/retry`, {}), 409, 'workflow_changed');
          expect((await getExecution(daemon, executionId)).status, 'a refused retry changes nothing').to.equal(ending);

          expectOk(await daemon.request('POST', `/api/v1/executions/${executionId}/retry`, { force: true }), 202);
          expect((await waitForEventEnd(daemon, eventId)).status).to.equal('completed');
          const execution = await getExecution(daemon, executionId);
          expect(execution.final_outputs.extra).to.deep.equal({ text: 'new' });
          expect(server.calls(`/once-${ending}`), 'the finished call is not repeated').to.equal(1);
        });
      }

      it('refuses with 409 to retry an execution whose dedup_key another live event now holds, changing nothing', async function () {
        const workflowId = await createWorkflow(daemon, workflowBody('fails once', [node('bad', 'test_fail')]));
        const { event: failed, execution } = await runToEnd(daemon, workflowId, {}, { dedup_key: 'order-7', max_attempts: 1 });
        expect(failed.status).to.equal('failed');
        const holder = await enqueue(daemon, workflowId, { dedup_key: 'order-7', delay_ms: 3_600_000 });
        expectError(await daemon.request('POST', `/api/v1/executions/${execution.id}/retry`, {}), 409, 'dedup_key_taken');
        expect((await getExecution(daemon, execution.id)).status, 'the refused retry changed nothing').to.equal('failed');
        expectOk(await daemon.request('POST', `/api/v1/events/${holder.id}/cancel`));
        expectOk(await daemon.request('POST', `/api/v1/executions/${execution.id}/retry`, {}), 202);
      });

      it('rejects a retry body with unknown fields', async function () {
        const workflowId = await createWorkflow(daemon, workflowBody('quick', [node('bad', 'test_fail')]));
        const { execution } = await runToEnd(daemon, workflowId);
        expectError(await daemon.request('POST', `/api/v1/executions/${execution.id}/retry`, { forced: true }), 400, 'validation_failed');
      });
    });
  });

  describe('a hung node', function () {
    let daemon: TestDaemon;

    before(async function () {
      daemon = await startDaemon({ settings: { execution: { max_retries: 0 } } });
    });

    after(async function () {
      if (!daemon) return;
      await daemon.stop('SIGTERM');
      removeIfAllPassed(this.test!.parent!, daemon.dataDir);
    });

    it('is released by its timeout, its thread replaced, while executions of another workflow keep completing', async function () {
      const hungId = await createWorkflow(daemon, workflowBody('hangs', [node('hang', 'test_hang', { mode: 'block' }, { timeout: 1 })]));
      const quickId = await createWorkflow(daemon, workflowBody('quick', [node('text', 'text_input', { text: 'still flowing' })]));
      const { id: hungEventId } = await enqueue(daemon, hungId, { max_attempts: 1 });
      const hungExecutionId = await waitForNodeStarted(daemon, hungEventId, 'hang');

      const quick = [];
      for (let i = 0; i < 10; i++) quick.push(await runToEnd(daemon, quickId, { i }));
      const hung = await waitForEventEnd(daemon, hungEventId, 10_000);

      expect(quick.map(({ event }) => event.status)).to.deep.equal(Array(10).fill('completed'));
      const hungEnd = Date.parse(hung.finished_at);
      for (const { event } of quick) expect(Date.parse(event.finished_at), 'a quick run finished while the node hung').to.be.below(hungEnd);
      expect(hung.status).to.equal('failed');
      const execution = await getExecution(daemon, hungExecutionId);
      expect(execution.node_results.hang.error.code).to.equal('timeout');
      expect(execution.node_results.hang.duration_ms).to.be.at.least(1000).and.below(5000);
      await waitFor(async () => expectOk(await daemon.request('GET', '/api/v1/queue')).pool.threads === 2, 'the pool back at two threads', 5_000);
      expect((await runToEnd(daemon, quickId)).event.status).to.equal('completed');
    });
  });

  describe('the workflow timeout', function () {
    let daemon: TestDaemon;

    before(async function () {
      // 1 s, far below what the settings API accepts (60 s), written straight into the test database.
      daemon = await startDaemon({ settings: { execution: { workflow_timeout: 1, max_retries: 0 } } });
    });

    after(async function () {
      if (!daemon) return;
      await daemon.stop('SIGTERM');
      removeIfAllPassed(this.test!.parent!, daemon.dataDir);
    });

    it('fails an execution that runs past workflow_timeout and cancels its running nodes', async function () {
      const workflowId = await createWorkflow(daemon, workflowBody('too long', [node('slow', 'test_slow', { ms: 10_000 }), node('later', 'test_echo')], [link('slow', 'output', 'later', 'input')]));
      const started = Date.now();
      const { event, execution } = await runToEnd(daemon, workflowId, {}, { max_attempts: 3 });

      expect(Date.now() - started).to.be.below(4_000);
      expect(event.status).to.equal('failed');
      expect(event.attempts, 'a workflow timeout is not retried').to.equal(1);
      expect(execution.status).to.equal('failed');
      expect(execution.error_message).to.match(/did not finish within 1000 ms/);
      expect(execution.node_results.slow.status).to.equal('cancelled');
      const logs = await executionLogs(daemon, execution.id);
      expect(nodeEvents(logs, 'slow')).to.deep.equal(['node_started']);
      expect(nodeEvents(logs, 'later')).to.deep.equal([]);
    });
  });
});
