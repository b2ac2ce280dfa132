// How failures end, on a real daemon: event-level retry with backoff, a node that kills its thread, a
// node that blocks its thread until its timeout, and a node that returns garbage. The daemon itself
// must stay up and keep running other work through all of them.
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, getEvent, readDatabase, removeIfPassed, waitForStatus } from '../helpers/queue-runs.js';
import { node, oneNode, workflowBody } from '../helpers/workflows.js';

interface LogRow {
  event: string;
  attempt: number;
  created_at: string;
  data: string | null;
}

describe('failures', function () {
  let daemon: TestDaemon | undefined;

  afterEach(async function () {
    if (!daemon) return;
    await daemon.stop('SIGKILL');
    removeIfPassed(this.currentTest, daemon.dataDir);
    daemon = undefined;
  });

  function nodeLogs(d: TestDaemon, executionId: string): LogRow[] {
    return readDatabase(d.dbPath, (db) =>
      db.prepare(`SELECT event, attempt, created_at, data FROM execution_logs WHERE execution_id = ? ORDER BY id`).all(executionId),
    ) as LogRow[];
  }

  async function expectHealthy(d: TestDaemon): Promise<void> {
    expect((await d.request('GET', '/health')).status).to.equal(200);
    const ready = await d.request('GET', '/health/ready');
    expect(ready.status, JSON.stringify(ready.body)).to.equal(200);
  }

  async function nodeError(d: TestDaemon, executionId: string, nodeId: string): Promise<{ code: string; message: string; retryable: boolean }> {
    const execution = (await d.request('GET', `/api/v1/executions/${executionId}`)).body;
    expect(execution.node_results[nodeId].status, `node ${nodeId}`).to.equal('failed');
    return execution.node_results[nodeId].error;
  }

  describe('retry', function () {
    beforeEach(async function () {
      // 100 ms, then 150 ms (backoff_multiplier 1.5).
      // Node-level retries off: this block is about retries of the event as a whole.
      daemon = await startDaemon({ settings: { execution: { retry_delay: 0.1, backoff_multiplier: 1.5, event_max_attempts: 3, max_retries: 0 } } });
    });

    it('retries a retryable failure with backoff, then fails the event after its last attempt', async function () {
      const d = daemon!;
      const flaky = await createWorkflow(d, workflowBody('flaky', [node('call', 'test_fail', { code: 'upstream_down', message: 'upstream is down', retryable: true })]));
      const { id } = await enqueue(d, flaky);
      const failed = await waitForStatus(d, id, 'failed');

      expect(failed.attempts).to.equal(3);
      expect(failed.error_message).to.include('upstream is down');
      const execution = (await d.request('GET', `/api/v1/executions/${failed.execution_id}`)).body;
      expect(execution.status).to.equal('failed');
      expect(execution.error_message).to.include('upstream is down');
      expect(execution.completed_at).to.be.a('string');

      // One execution carries all three attempts; each retry waited for its backoff.
      const logs = nodeLogs(d, failed.execution_id!);
      expect(logs.map((log) => `${log.event}#${log.attempt}`)).to.deep.equal([
        'node_started#1', 'node_failed#1', 'node_started#2', 'node_failed#2', 'node_started#3', 'node_failed#3',
      ]);
      const at = logs.map((log) => Date.parse(log.created_at));
      expect(at[2]! - at[1]!, 'wait before attempt 2').to.be.at.least(100);
      expect(at[4]! - at[3]!, 'wait before attempt 3').to.be.at.least(150);
      expect(JSON.parse(logs[5]!.data!)).to.deep.equal({ code: 'upstream_down', retryable: true });
      const executions = readDatabase(d.dbPath, (db) => db.prepare(`SELECT COUNT(*) AS n FROM executions WHERE event_id = ?`).get(id)) as { n: number };
      expect(executions.n).to.equal(1);
    });

    it('honours the max_attempts an event was enqueued with', async function () {
      const d = daemon!;
      const flaky = await createWorkflow(d, workflowBody('flaky', [node('call', 'test_fail', { retryable: true })]));
      const { id } = await enqueue(d, flaky, { max_attempts: 2 });
      expect((await waitForStatus(d, id, 'failed')).attempts).to.equal(2);
    });

    it('fails a non-retryable failure after one attempt', async function () {
      const d = daemon!;
      const broken = await createWorkflow(d, workflowBody('broken', [node('call', 'test_fail', { code: 'bad_request', message: 'the input is wrong', retryable: false })]));
      const { id } = await enqueue(d, broken);
      const failed = await waitForStatus(d, id, 'failed');
      expect(failed.attempts).to.equal(1);
      expect(failed.error_message).to.include('the input is wrong');
      expect(await nodeError(d, failed.execution_id!, 'call')).to.deep.equal({ code: 'bad_request', message: 'the input is wrong', retryable: false });
    });
  });

  describe('misbehaving nodes', function () {
    let quick: string;

    beforeEach(async function () {
      daemon = await startDaemon({ settings: { execution: { retry_delay: 0.1, max_retries: 0 } } });
      quick = await createWorkflow(daemon, oneNode());
    });

    for (const mode of ['exit', 'uncaught']) {
      it(`fails a node that kills its thread (${mode}) as worker_crashed and keeps the daemon serving`, async function () {
        const d = daemon!;
        const crashing = await createWorkflow(d, workflowBody('crash', [node('crash', 'test_crash', { mode })]));
        const { id } = await enqueue(d, crashing, { max_attempts: 1 });
        const failed = await waitForStatus(d, id, 'failed');
        expect(failed.attempts).to.equal(1);
        expect((await nodeError(d, failed.execution_id!, 'crash')).code).to.equal('worker_crashed');
        expect((await d.request('GET', `/api/v1/executions/${failed.execution_id}`)).body.status).to.equal('failed');

        await expectHealthy(d);
        // The pool replaced the thread, and later events run as usual.
        const later = await Promise.all(Array.from({ length: 5 }, () => enqueue(d, quick)));
        for (const event of later) await waitForStatus(d, event.id, 'completed');
        await waitFor(async () => (await d.request('GET', '/api/v1/queue')).body.pool.threads === 2, 'the pool back at two threads', 5_000);
        expect(d.process.exitCode).to.equal(null);
      });
    }

    it('releases a node that blocks its thread when its own timeout passes, while other executions keep completing', async function () {
      const d = daemon!;
      const hanging = await createWorkflow(d, workflowBody('hang', [node('hang', 'test_hang', { mode: 'block' }, { timeout: 1 })]));
      const hung = await enqueue(d, hanging, { max_attempts: 1 });
      await waitForStatus(d, hung.id, 'processing');

      // While one thread is blocked, events keep flowing through the other.
      const others = await Promise.all(Array.from({ length: 10 }, () => enqueue(d, quick)));
      const completed = [];
      for (const event of others) completed.push(await waitForStatus(d, event.id, 'completed', 10_000));

      const failed = await waitForStatus(d, hung.id, 'failed', 15_000);
      expect(failed.attempts).to.equal(1);
      const lastOther = Math.max(...completed.map((event) => Date.parse(event.finished_at!)));
      expect(lastOther, 'the others finished while the node was still blocked').to.be.below(Date.parse(failed.finished_at!));
      const error = await nodeError(d, failed.execution_id!, 'hang');
      expect(error.code).to.equal('timeout');
      const heldMs = Date.parse(failed.finished_at!) - Date.parse(failed.processed_at!);
      expect(heldMs, 'released by the 1 s node timeout, not the 300 s default').to.be.within(1_000, 5_000);

      await expectHealthy(d);
      const after = await enqueue(d, quick);
      await waitForStatus(d, after.id, 'completed');
    });

    it('retries a timed-out node as retryable', async function () {
      const d = daemon!;
      const hanging = await createWorkflow(d, workflowBody('hang', [node('hang', 'test_hang', { mode: 'pending' }, { timeout: 0.2 })]));
      const { id } = await enqueue(d, hanging, { max_attempts: 2 });
      const failed = await waitForStatus(d, id, 'failed', 15_000);
      expect(failed.attempts).to.equal(2);
      expect(await nodeError(d, failed.execution_id!, 'hang')).to.include({ code: 'timeout', retryable: true });
    });

    it('fails a node that returns outputs that are not data as invalid_outputs, without retry', async function () {
      const d = daemon!;
      const garbage = await createWorkflow(d, workflowBody('garbage', [node('junk', 'test_garbage', { kind: 'function' })]));
      const { id } = await enqueue(d, garbage);
      const failed = await waitForStatus(d, id, 'failed');
      expect(failed.attempts).to.equal(1);
      expect(await nodeError(d, failed.execution_id!, 'junk')).to.include({ code: 'invalid_outputs', retryable: false });
      expect((await getEvent(d, id)).status).to.equal('failed');
      await expectHealthy(d);
    });
  });
});
