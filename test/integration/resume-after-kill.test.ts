// Resumable runs (semantics §9): a daemon killed with SIGKILL in the middle of an execution, started
// again on the same data folder, finishes the execution without running the nodes that had finished.
// A loopback HTTP server counts the calls, so a repeated node would show.
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, removeIfAllPassed, waitForEventEnd } from '../helpers/api-assertions.js';
import { startLoopbackServer, type LoopbackServer } from '../helpers/loopback-server.js';
import { executionLogs, getExecution, nodeEvents, waitForNodeStarted } from '../helpers/workflow-runs.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

describe('resume after SIGKILL', function () {
  const daemons: TestDaemon[] = [];
  let server: LoopbackServer;

  before(async function () {
    server = await startLoopbackServer();
  });

  after(async function () {
    for (const daemon of daemons) await daemon.stop('SIGKILL');
    await server?.close();
    if (daemons[0]) removeIfAllPassed(this.test!.parent!, daemons[0].dataDir);
  });

  it('finishes the execution on restart without calling the node that had finished again', async function () {
    const first = await startDaemon();
    daemons.push(first);
    const workflowId = await createWorkflow(
      first,
      workflowBody(
        'call, wait, call',
        [node('a', 'http_request', { url: `${server.url}/resume-a` }), node('slow', 'test_slow', { ms: 3000 }), node('b', 'http_request', { url: `${server.url}/resume-b`, method: 'POST' })],
        [link('a', 'response', 'slow', 'input'), link('slow', 'output', 'b', 'data')],
      ),
    );
    const { id: eventId } = await enqueue(first, workflowId, { event_data: { order: 17 } });
    const executionId = await waitForNodeStarted(first, eventId, 'slow');
    expect(server.calls('/resume-a')).to.equal(1);

    expect(await first.stop('SIGKILL')).to.equal(null);
    expect(server.calls('/resume-b'), 'killed before the last node').to.equal(0);

    const second = await startDaemon({ dataDir: first.dataDir });
    daemons.push(second);
    const event = await waitForEventEnd(second, eventId, 15_000);

    expect(event.status).to.equal('completed');
    expect(event.execution_id, 'the same execution is resumed').to.equal(executionId);
    expect(event.attempts, 'the crash cost the event no attempt').to.equal(1);
    await waitFor(() => server.calls('/resume-b') > 0, 'the last node to call', 1_000);
    expect(server.calls('/resume-a'), 'the finished node is not called again').to.equal(1);
    expect(server.calls('/resume-b')).to.equal(1);

    const execution = await getExecution(second, executionId);
    expect(execution.status).to.equal('completed');
    // The resumed run fed the recorded response of `a` on to the nodes after it.
    expect(execution.node_results.slow.outputs.output).to.deep.equal({ ok: true, n: 1 });
    expect(execution.final_outputs.b).to.include({ status_code: 200, success: true });
    const logs = await executionLogs(second, executionId);
    expect(nodeEvents(logs, 'a')).to.deep.equal(['node_started', 'node_completed']);
    expect(nodeEvents(logs, 'slow'), 'the unfinished node runs again').to.deep.equal(['node_started', 'node_started', 'node_completed']);
    expect(nodeEvents(logs, 'b')).to.deep.equal(['node_started', 'node_completed']);
  });

  it('fails an event that was running each time its daemon died, instead of crash-looping on it', async function () {
    let daemon = await startDaemon();
    daemons.push(daemon);
    const workflowId = await createWorkflow(daemon, workflowBody('slow', [node('slow', 'test_slow', { ms: 60_000 })]));
    const { id: eventId } = await enqueue(daemon, workflowId, { max_attempts: 2 });
    const startsOfSlow = async (d: TestDaemon, executionId: string) => nodeEvents(await executionLogs(d, executionId), 'slow').filter((e) => e === 'node_started').length;
    const executionId = await waitForNodeStarted(daemon, eventId, 'slow');
    for (let death = 1; death <= 2; death++) {
      expect(await daemon.stop('SIGKILL')).to.equal(null);
      daemon = await startDaemon({ dataDir: daemon.dataDir });
      daemons.push(daemon);
      const current = daemon;
      if (death === 1) await waitFor(async () => (await startsOfSlow(current, executionId)) === 2, 'the rescued event to run again');
    }
    // The second death was its max_attempts-th: the start fails it rather than run it a third time.
    const event = await waitForEventEnd(daemon, eventId, 5_000);
    expect(event.status).to.equal('failed');
    expect(event.error_message).to.match(/daemon stopped during every attempt/);
    expect((await getExecution(daemon, executionId)).status).to.equal('failed');
    expect(await startsOfSlow(daemon, executionId)).to.equal(2);
  });
});
