// A drain longer than the grace period hands the unfinished execution back to the queue (resumable
// runs): SIGTERM exits soon after the grace period, the event is pending again with its attempt
// unspent, and the next start finishes the same execution without re-running the nodes that had
// finished. A loopback HTTP server counts the calls, so a repeated node would show.
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { startLoopbackServer, type LoopbackServer } from '../helpers/loopback-server.js';
import { createWorkflow, enqueue, readDatabase, removeIfPassed, waitForStatus } from '../helpers/queue-runs.js';
import { executionLogs, getExecution, nodeEvents, waitForNodeStarted } from '../helpers/workflow-runs.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

describe('drain past the grace period', function () {
  this.timeout(40_000);
  const daemons: TestDaemon[] = [];
  let server: LoopbackServer;

  beforeEach(async function () {
    server = await startLoopbackServer();
  });

  afterEach(async function () {
    for (const d of daemons) await d.stop('SIGKILL');
    await server.close();
    removeIfPassed(this.currentTest, daemons[0]?.dataDir);
    daemons.length = 0;
  });

  it('hands the running execution back on SIGTERM, and the next start finishes it without repeating finished nodes', async function () {
    const graceMs = 300;
    const first = await startDaemon({ env: { TAV_SHUTDOWN_GRACE_MS: String(graceMs) } });
    daemons.push(first);
    const workflowId = await createWorkflow(
      first,
      workflowBody(
        'call, long wait, call',
        [node('a', 'http_request', { url: `${server.url}/drain-a` }), node('slow', 'test_slow', { ms: 5_000 }), node('b', 'http_request', { url: `${server.url}/drain-b`, method: 'POST' })],
        [link('a', 'response', 'slow', 'input'), link('slow', 'output', 'b', 'data')],
      ),
    );
    const event = await enqueue(first, workflowId);
    const executionId = await waitForNodeStarted(first, event.id, 'slow');
    expect(server.calls('/drain-a')).to.equal(1);

    const sentAt = Date.now();
    expect(await first.stop('SIGTERM')).to.equal(0);
    // The grace period plus the time to hand back and close, far short of the 5 s node.
    expect(Date.now() - sentAt, 'exited after the grace period, not after the node').to.be.below(graceMs + 3_000);
    expect(first.output()).to.include('handing unfinished runs back to the queue');
    expect(server.calls('/drain-b'), 'stopped before the last node').to.equal(0);

    const handedBack = readDatabase(first.dbPath, (db) => ({
      event: db.prepare(`SELECT status, attempts, execution_id FROM event_queue WHERE id = ?`).get(event.id),
      execution: db.prepare(`SELECT status FROM executions WHERE id = ?`).get(executionId),
    }));
    expect(handedBack.event, 'back in the queue, the attempt not spent').to.deep.equal({ status: 'pending', attempts: 0, execution_id: executionId });
    expect(handedBack.execution, 'not failed').to.deep.equal({ status: 'pending' });

    const second = await startDaemon({ dataDir: first.dataDir });
    daemons.push(second);
    const done = await waitForStatus(second, event.id, 'completed', 20_000);
    expect(done.attempts, 'one attempt in all').to.equal(1);
    expect(done.execution_id, 'the same execution resumed').to.equal(executionId);
    await waitFor(() => server.calls('/drain-b') > 0, 'the last node to call', 2_000);
    expect(server.calls('/drain-a'), 'the finished node is not called again').to.equal(1);
    expect(server.calls('/drain-b')).to.equal(1);

    const execution = await getExecution(second, executionId);
    expect(execution.status).to.equal('completed');
    const logs = await executionLogs(second, executionId);
    expect(nodeEvents(logs, 'a')).to.deep.equal(['node_started', 'node_completed']);
    expect(nodeEvents(logs, 'slow'), 'the interrupted node runs again').to.deep.equal(['node_started', 'node_started', 'node_completed']);
    expect(nodeEvents(logs, 'b')).to.deep.equal(['node_started', 'node_completed']);
  });
});
