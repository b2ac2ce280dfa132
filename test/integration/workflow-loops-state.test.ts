// Loops and state (semantics §6, §7) on a real daemon: a while_loop whose body increments a counter
// kept in workflow_state, one execution_iterations row per pass, the counter carried across
// executions, a value that expires, concurrent increments that never lose an update, and state_get's
// found/not_found outputs.
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, expectOk, removeIfAllPassed, waitForEventEnd } from '../helpers/api-assertions.js';
import { readDatabase } from '../helpers/queue-runs.js';
import { executionLogs, nodeEvents, runToEnd } from '../helpers/workflow-runs.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

const increment = { state_key: 'counter', operation: 'increment', create_if_missing: true, updates: 1 };

/** loop (5 passes) → count (+1 on `counter`) → back to loop.trigger; loop.exit_loop → report (reads `counter`). */
const countingLoop = () =>
  workflowBody(
    'counting loop',
    [node('loop', 'while_loop', { max_iterations: 5 }), node('count', 'state_update', increment), node('report', 'state_get', { state_key: 'counter' })],
    [link('loop', 'iteration_number', 'count', 'trigger'), link('count', 'success', 'loop', 'trigger'), link('loop', 'exit_loop', 'report', 'trigger')],
  );

describe('loops and state', function () {
  let daemon: TestDaemon;

  before(async function () {
    daemon = await startDaemon({ settings: { execution: { retry_delay: 0.05, max_retries: 1 } } });
  });

  after(async function () {
    if (!daemon) return;
    await daemon.stop('SIGTERM');
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  describe('a while_loop of 5 passes counting in state', function () {
    let workflowId: string;
    let first: any;

    before(async function () {
      workflowId = await createWorkflow(daemon, countingLoop());
      first = (await runToEnd(daemon, workflowId)).execution;
    });

    it('runs the body once per pass and the exit branch once, with the counter at 5', async function () {
      expect(first.status).to.equal('completed');
      const logs = await executionLogs(daemon, first.id);
      expect(nodeEvents(logs, 'count').filter((event) => event === 'node_completed')).to.have.length(5);
      expect(nodeEvents(logs, 'report')).to.deep.equal(['node_started', 'node_completed']);
      expect(first.node_results.loop.outputs).to.deep.equal({ exit_loop: { iterations: 5 } });
      // The body feeds only the back edge, so the exit branch is the one sink.
      expect(Object.keys(first.final_outputs)).to.deep.equal(['report']);
      expect(first.final_outputs.report).to.include({ state_value: 5, state_version: 5, found: true, not_found: false });
    });

    it('writes one completed execution_iterations row per pass, numbered 1 to 5', async function () {
      const { items } = expectOk(await daemon.request('GET', `/api/v1/executions/${first.id}/iterations`));
      expect(items.map((row: any) => row.iteration_number)).to.deep.equal([1, 2, 3, 4, 5]);
      for (const row of items) {
        expect(row).to.include({ loop_node_id: 'loop', status: 'completed', error_message: null });
        expect(row.iteration_value).to.deep.equal({ label: `iteration_${row.iteration_number}` });
        expect(Date.parse(row.completed_at)).to.be.at.least(Date.parse(row.started_at));
        // The pass's outputs: what the body's node produced in that pass.
        expect(row.outputs.count).to.include({ success: true, new_value: row.iteration_number });
      }
    });

    it('continues the counter in later executions of the same workflow, to 20 after three more', async function () {
      for (const expected of [10, 15, 20]) {
        const { execution } = await runToEnd(daemon, workflowId);
        expect(execution.status).to.equal('completed');
        expect(execution.final_outputs.report.state_value, 'counter after this execution').to.equal(expected);
        const { items } = expectOk(await daemon.request('GET', `/api/v1/executions/${execution.id}/iterations`));
        expect(items.map((row: any) => row.iteration_number), 'each execution counts its own passes').to.deep.equal([1, 2, 3, 4, 5]);
      }
    });
  });

  it('stops the loop after max_iterations passes even when the body keeps delivering', async function () {
    const workflowId = await createWorkflow(
      daemon,
      workflowBody(
        'bounded loop',
        [node('loop', 'while_loop', { max_iterations: 3, iteration_label_template: 'pass {n}' }), node('body', 'test_echo'), node('after', 'test_echo')],
        [link('loop', 'iteration_label', 'body', 'input'), link('body', 'output', 'loop', 'trigger'), link('loop', 'exit_loop', 'after', 'input')],
      ),
    );
    const { execution } = await runToEnd(daemon, workflowId);

    expect(execution.status).to.equal('completed');
    expect(execution.final_outputs).to.deep.equal({ after: { output: { iterations: 3 } } });
    const { items } = expectOk(await daemon.request('GET', `/api/v1/executions/${execution.id}/iterations`));
    expect(items.map((row: any) => row.iteration_value.label)).to.deep.equal(['pass 1', 'pass 2', 'pass 3']);
    expect(items.map((row: any) => row.outputs.body.output)).to.deep.equal(['pass 1', 'pass 2', 'pass 3']);
  });

  it('runs only the exit branch of a loop with max_iterations 0, its body skipped', async function () {
    const workflowId = await createWorkflow(
      daemon,
      workflowBody(
        'empty loop',
        [node('loop', 'while_loop', { max_iterations: 0 }), node('body', 'test_echo'), node('after', 'test_echo')],
        [link('loop', 'iteration_number', 'body', 'input'), link('body', 'output', 'loop', 'trigger'), link('loop', 'exit_loop', 'after', 'input')],
      ),
    );
    const { execution } = await runToEnd(daemon, workflowId);

    expect(execution.status).to.equal('completed');
    expect(execution.node_results.body.status).to.equal('skipped');
    expect(execution.final_outputs).to.deep.equal({ after: { output: { iterations: 0 } } });
    expect(expectOk(await daemon.request('GET', `/api/v1/executions/${execution.id}/iterations`)).items).to.deep.equal([]);
  });

  it('ends the loop after a pass whose back edge a decision left dead, and runs that branch and the exit once', async function () {
    const workflowId = await createWorkflow(
      daemon,
      workflowBody(
        'loop until a decision says stop',
        [
          node('loop', 'while_loop', { max_iterations: 10 }),
          node('more', 'decision', { condition: '< 3' }),
          node('work', 'test_echo'),
          node('stop', 'test_echo'),
          node('after', 'test_echo'),
        ],
        [
          link('loop', 'iteration_number', 'more', 'input'),
          link('more', 'true', 'work', 'input'),
          link('work', 'output', 'loop', 'trigger'),
          link('more', 'false', 'stop', 'input'),
          link('loop', 'exit_loop', 'after', 'input'),
        ],
      ),
    );
    const { execution } = await runToEnd(daemon, workflowId);

    expect(execution.status).to.equal('completed');
    const { items } = expectOk(await daemon.request('GET', `/api/v1/executions/${execution.id}/iterations`));
    expect(items.map((row: any) => `${row.iteration_number}:${row.status}`)).to.deep.equal(['1:completed', '2:completed', '3:completed']);
    const logs = await executionLogs(daemon, execution.id);
    expect(nodeEvents(logs, 'work').filter((event) => event === 'node_started')).to.have.length(2);
    expect(nodeEvents(logs, 'stop')).to.deep.equal(['node_started', 'node_completed']);
    expect(nodeEvents(logs, 'after')).to.deep.equal(['node_started', 'node_completed']);
    expect(execution.final_outputs).to.deep.equal({ stop: { output: 3 }, after: { output: { iterations: 3 } } });
  });

  it('runs a node fed by exit_loop and by the body once, after the loop, with the last pass\'s value', async function () {
    const workflowId = await createWorkflow(
      daemon,
      workflowBody(
        'summary after loop',
        [node('loop', 'while_loop', { max_iterations: 4 }), node('body', 'test_echo'), node('summary', 'or', { merge_strategy: 'combine' })],
        [
          link('loop', 'iteration_number', 'body', 'input'),
          link('body', 'output', 'loop', 'trigger'),
          link('body', 'output', 'summary', 'input1'),
          link('loop', 'exit_loop', 'summary', 'input2'),
        ],
      ),
    );
    const { execution } = await runToEnd(daemon, workflowId);

    expect(execution.status).to.equal('completed');
    expect(nodeEvents(await executionLogs(daemon, execution.id), 'summary')).to.deep.equal(['node_started', 'node_completed']);
    expect(execution.final_outputs.summary.output).to.deep.equal([4, { iterations: 4 }]);
  });

  it('reads a value set with expires_in_seconds as not found once it has expired', async function () {
    // One workflow, two uses: a trigger containing "set" stores the value, any other reads it.
    const workflowId = await createWorkflow(
      daemon,
      workflowBody(
        'expiring value',
        [
          node('route', 'decision', { condition: 'contains set' }),
          node('store', 'state_set', { state_key: 'token', state_value: '{{trigger.value}}', expires_in_seconds: 1 }),
          node('read', 'state_get', { state_key: 'token', default_value: 'none' }),
        ],
        [link('route', 'true', 'store', 'trigger'), link('route', 'false', 'read', 'trigger')],
      ),
    );
    const stored = await runToEnd(daemon, workflowId, { action: 'set', value: 'abc' });
    expect(stored.execution.final_outputs.store).to.deep.equal({ success: true, state_version: 1 });
    const storedAt = Date.now();

    const fresh = await runToEnd(daemon, workflowId, { action: 'get' });
    // Guard against a slow machine: the read must have happened inside the TTL to prove anything.
    if (Date.now() - storedAt < 900) expect(fresh.execution.final_outputs.read).to.include({ found: true, not_found: false, state_value: 'abc' });

    const expired = await waitFor(async () => {
      const { execution } = await runToEnd(daemon, workflowId, { action: 'get' });
      return execution.final_outputs.read.not_found === true ? execution : null;
    }, 'the value to expire', 5_000, 100);
    expect(Date.now() - storedAt).to.be.at.least(1000);
    expect(expired.final_outputs.read).to.deep.equal({ state_value: 'none', state_version: 0, last_updated_at: null, found: false, not_found: true });
  });

  it('loses no update when 20 executions increment one counter at once', async function () {
    const workflowId = await createWorkflow(daemon, workflowBody('concurrent increments', [node('count', 'state_update', { ...increment, state_key: 'hits' })]));
    const events = await Promise.all(Array.from({ length: 20 }, () => enqueue(daemon, workflowId)));
    const finished = await Promise.all(events.map((event) => waitForEventEnd(daemon, event.id, 20_000)));
    expect(finished.map((event) => event.status)).to.deep.equal(Array(20).fill('completed'));

    const newValues = await Promise.all(
      finished.map(async (event) => expectOk(await daemon.request('GET', `/api/v1/executions/${event.execution_id}`)).final_outputs.count.new_value as number),
    );
    // Every increment saw the one before it: the values are exactly 1..20, each once.
    expect([...newValues].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
    const row = readDatabase(daemon.dbPath, (db) => db.prepare(`SELECT state_value, version FROM workflow_state WHERE workflow_id = ? AND state_key = 'hits'`).get(workflowId)) as {
      state_value: string;
      version: number;
    };
    expect(JSON.parse(row.state_value)).to.equal(20);
    expect(row.version).to.equal(20);
  });

  describe('state_get outputs', function () {
    // Trigger {value} stores it first; trigger {} only reads.
    const getAfterSet = () =>
      workflowBody(
        'get after set',
        [
          node('route', 'decision', { condition: 'contains value' }),
          node('store', 'state_set', { state_key: 'k', namespace: 'tests', state_value: '{{trigger.value}}' }),
          node('read', 'state_get', { state_key: 'k', namespace: 'tests' }),
        ],
        [link('route', 'true', 'store', 'trigger'), link('route', 'false', 'read', 'trigger'), link('store', 'success', 'read', 'trigger')],
      );

    it('answers not_found with the default value for a key never set', async function () {
      const workflowId = await createWorkflow(daemon, getAfterSet());
      const { execution } = await runToEnd(daemon, workflowId, {});

      expect(execution.node_results.store.status).to.equal('skipped');
      expect(execution.final_outputs.read).to.deep.equal({ state_value: {}, state_version: 0, last_updated_at: null, found: false, not_found: true });
    });

    it('answers found with the value, its version and when it was written for a key that is set', async function () {
      const workflowId = await createWorkflow(daemon, getAfterSet());
      await runToEnd(daemon, workflowId, { value: { colour: 'blue' } });
      const { execution } = await runToEnd(daemon, workflowId, { value: { colour: 'green' } });

      const read = execution.final_outputs.read;
      expect(read).to.include({ state_version: 2, found: true, not_found: false });
      expect(read.state_value).to.deep.equal({ colour: 'green' });
      expect(Date.parse(read.last_updated_at)).to.be.a('number').and.not.NaN;
    });
  });
});
