// How a graph runs (semantics §2, §3, §5), on a real daemon and pool: decisions route and branches
// rejoin, several links into one port collect a list, data-only ports wait for nothing, sequential
// mode runs one node at a time, `or` first vs combine, required ports, trigger data and templates,
// and continue_on_error.
import { expect } from 'chai';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, removeIfAllPassed } from '../helpers/api-assertions.js';
import { maxOverlap } from '../helpers/queue-runs.js';
import { executionLogs, nodeEvents, runToEnd } from '../helpers/workflow-runs.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

/** A node record's [start, end] in epoch ms. */
function spanOf(execution: any, nodeId: string): { start: number; end: number } {
  const record = execution.node_results[nodeId];
  expect(record, `node ${nodeId} has a record`).to.be.an('object');
  return { start: Date.parse(record.started_at), end: Date.parse(record.completed_at) };
}

function statuses(execution: any): Record<string, string> {
  return Object.fromEntries(Object.entries(execution.node_results as Record<string, { status: string }>).map(([id, record]) => [id, record.status]));
}

describe('workflow routing and data flow', function () {
  let daemon: TestDaemon;

  before(async function () {
    // Node retries on (quickly), so a test can show that a failure was not retried.
    daemon = await startDaemon({ settings: { execution: { retry_delay: 0.05, backoff_multiplier: 1, max_retries: 2 } } });
  });

  after(async function () {
    if (!daemon) return;
    await daemon.stop('SIGTERM');
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  describe('decisions', function () {
    // decide → yes / no → join: the if/else rejoins at `join`.
    const ifElse = (condition: string) =>
      workflowBody(
        'if else rejoin',
        [node('decide', 'decision', { condition }), node('yes', 'test_echo'), node('no', 'test_echo'), node('join', 'test_echo')],
        [link('decide', 'true', 'yes', 'input'), link('decide', 'false', 'no', 'input'), link('yes', 'output', 'join', 'input'), link('no', 'output', 'join', 'input')],
      );

    it('runs the join of an if/else with the live branch only when the condition holds', async function () {
      const workflowId = await createWorkflow(daemon, ifElse('contains yes'));
      const { event, execution } = await runToEnd(daemon, workflowId, 'yes please');

      expect(event.status).to.equal('completed');
      expect(statuses(execution)).to.deep.equal({ decide: 'completed', yes: 'completed', no: 'skipped', join: 'completed' });
      expect(execution.node_results.decide.outputs).to.include({ active_path: 'true' });
      expect(execution.node_results.yes.outputs.output).to.equal('yes please');
      // Two links feed join.input: it collects a list, and the dead branch adds nothing to it.
      expect(execution.final_outputs).to.deep.equal({ join: { output: ['yes please'] } });
      const logs = await executionLogs(daemon, execution.id);
      expect(nodeEvents(logs, 'no'), 'the blocked branch never starts').to.deep.equal([]);
    });

    it('runs the join with the other branch when a boolean input field says false', async function () {
      const workflowId = await createWorkflow(daemon, ifElse('contains yes'));
      const { execution } = await runToEnd(daemon, workflowId, { result: false, note: 'yes in the text, but result wins' });

      expect(statuses(execution)).to.deep.equal({ decide: 'completed', yes: 'skipped', no: 'completed', join: 'completed' });
      expect(execution.node_results.decide.outputs.details).to.include({ rule: 'input_field', field: 'result' });
      expect(execution.final_outputs.join.output).to.deep.equal([{ result: false, note: 'yes in the text, but result wins' }]);
    });

    it('puts a link on the branch its metadata.branch names, whatever its source port', async function () {
      const workflowId = await createWorkflow(
        daemon,
        workflowBody(
          'branch from metadata',
          [node('decide', 'decision', { condition: 'true' }), node('on_false', 'test_echo'), node('on_true', 'test_echo')],
          [{ ...link('decide', 'details', 'on_false', 'input'), metadata: { branch: 'false' } }, link('decide', 'details', 'on_true', 'input')],
        ),
      );
      const { execution } = await runToEnd(daemon, workflowId);

      expect(statuses(execution)).to.deep.equal({ decide: 'completed', on_false: 'skipped', on_true: 'completed' });
      expect(execution.node_results.on_true.outputs.output).to.include({ rule: 'condition_literal' });
    });
  });

  it('collects three branches into one port as a list in connection order, not finishing order', async function () {
    // The first branch is the slowest: finishing order is gamma, beta, alpha.
    const branches = [
      ['alpha', 400],
      ['beta', 200],
      ['gamma', 0],
    ] as const;
    const workflowId = await createWorkflow(
      daemon,
      workflowBody(
        'fan out fan in',
        [node('start', 'text_input', { text: 'go' }), ...branches.flatMap(([name, ms]) => [node(`text_${name}`, 'text_input', { text: name }), node(`wait_${name}`, 'test_slow', { ms })]), node('join', 'test_echo')],
        [
          ...branches.flatMap(([name]) => [link('start', 'text', `text_${name}`, 'input'), link(`text_${name}`, 'text', `wait_${name}`, 'input')]),
          ...branches.map(([name]) => link(`wait_${name}`, 'output', 'join', 'input')),
        ],
      ),
    );
    const { execution } = await runToEnd(daemon, workflowId);

    expect(execution.status).to.equal('completed');
    expect(spanOf(execution, 'wait_gamma').end).to.be.below(spanOf(execution, 'wait_alpha').end);
    expect(execution.final_outputs).to.deep.equal({ join: { output: ['alpha', 'beta', 'gamma'] } });
    expect(spanOf(execution, 'join').start).to.be.at.least(spanOf(execution, 'wait_alpha').end);
  });

  it('does not wait for links into tools, memory or ui ports', async function () {
    const workflowId = await createWorkflow(
      daemon,
      workflowBody(
        'data-only ports',
        [node('slow', 'test_slow', { ms: 1500 }), node('with_tools', 'test_echo', { value: 't' }), node('with_memory', 'test_echo', { value: 'm' }), node('with_ui', 'test_echo', { value: 'u' })],
        [link('slow', 'output', 'with_tools', 'tools'), link('slow', 'output', 'with_memory', 'memory'), link('slow', 'output', 'with_ui', 'ui')],
      ),
    );
    const { execution } = await runToEnd(daemon, workflowId);

    expect(execution.status).to.equal('completed');
    const slowEnd = spanOf(execution, 'slow').end;
    for (const id of ['with_tools', 'with_memory', 'with_ui']) {
      expect(execution.node_results[id].status).to.equal('completed');
      expect(spanOf(execution, id).end, `${id} finished before the slow node`).to.be.below(slowEnd);
    }
  });

  it('runs one node at a time in stable topological order in sequential mode', async function () {
    // Links are listed in reverse: the order comes from the graph (file order breaks ties), not from them.
    const workflowId = await createWorkflow(
      daemon,
      workflowBody(
        'sequential',
        [node('start', 'text_input', { text: 's' }), node('a', 'test_slow', { ms: 150 }), node('b', 'test_slow', { ms: 150 }), node('c', 'test_slow', { ms: 150 }), node('join', 'test_echo')],
        [link('c', 'output', 'join', 'input'), link('b', 'output', 'join', 'input'), link('a', 'output', 'join', 'input'), link('start', 'text', 'c', 'input'), link('start', 'text', 'b', 'input'), link('start', 'text', 'a', 'input')],
        { execution_config: { execution_mode: 'sequential' } },
      ),
    );
    const { execution } = await runToEnd(daemon, workflowId);

    expect(execution.status).to.equal('completed');
    expect(execution.execution_mode).to.equal('sequential');
    const started = (await executionLogs(daemon, execution.id)).filter((row) => row.event === 'node_started').map((row) => row.node_id);
    expect(started).to.deep.equal(['start', 'a', 'b', 'c', 'join']);
    const spans = ['start', 'a', 'b', 'c', 'join'].map((id) => spanOf(execution, id));
    expect(maxOverlap(spans), 'nodes running at once').to.equal(1);
  });

  describe('or', function () {
    // A slow input on input1 and a fast one on input2.
    const orWorkflow = (mergeStrategy: string) =>
      workflowBody(
        `or ${mergeStrategy}`,
        [node('slow_text', 'text_input', { text: 'slow' }), node('slow', 'test_slow', { ms: 1200 }), node('fast', 'text_input', { text: 'fast' }), node('merge', 'or', { merge_strategy: mergeStrategy })],
        [link('slow_text', 'text', 'slow', 'input'), link('slow', 'output', 'merge', 'input1'), link('fast', 'text', 'merge', 'input2')],
      );

    it('runs an or with merge_strategy first on the first delivered input, without waiting for the others', async function () {
      const workflowId = await createWorkflow(daemon, orWorkflow('first'));
      const { execution } = await runToEnd(daemon, workflowId);

      expect(execution.status).to.equal('completed');
      expect(execution.node_results.merge.outputs).to.deep.equal({ output: 'fast', metadata: { merge_strategy: 'first', selected_input: 'input2', available_inputs: ['input2'] } });
      expect(spanOf(execution, 'merge').end).to.be.below(spanOf(execution, 'slow').end);
      const logs = await executionLogs(daemon, execution.id);
      expect(nodeEvents(logs, 'merge'), 'the later arrival is ignored').to.deep.equal(['node_started', 'node_completed']);
    });

    it('runs an or with merge_strategy combine once every input has settled, with all values', async function () {
      const workflowId = await createWorkflow(daemon, orWorkflow('combine'));
      const { execution } = await runToEnd(daemon, workflowId);

      expect(execution.status).to.equal('completed');
      expect(execution.node_results.merge.outputs.output).to.deep.equal(['slow', 'fast']);
      expect(execution.node_results.merge.outputs.metadata.selected_input).to.deep.equal(['input1', 'input2']);
      expect(spanOf(execution, 'merge').start).to.be.at.least(spanOf(execution, 'slow').end);
    });
  });

  it('fails a node whose required input port has no value with a validation error, without retrying it', async function () {
    const workflowId = await createWorkflow(daemon, workflowBody('missing input', [node('show', 'text_display')]));
    const { event, execution } = await runToEnd(daemon, workflowId);

    expect(event.status).to.equal('failed');
    expect(event.attempts).to.equal(1);
    expect(execution.status).to.equal('failed');
    expect(execution.node_results.show).to.include({ status: 'failed', attempts: 1 });
    expect(execution.node_results.show.error).to.deep.equal({ code: 'missing_input', message: 'input "text" is required', retryable: false });
    expect(nodeEvents(await executionLogs(daemon, execution.id), 'show')).to.deep.equal(['node_started', 'node_failed']);
  });

  describe('trigger data and templates', function () {
    it('gives the event payload to empty input ports and to {{trigger.…}} in config', async function () {
      const workflowId = await createWorkflow(daemon, workflowBody('trigger', [node('greet', 'text_input', { text: 'Hello {{trigger.name}}, item {{trigger.items.1}}' }), node('echo', 'test_echo')]));
      const { execution } = await runToEnd(daemon, workflowId, { name: 'Ada', items: ['a', 'b'] });

      expect(execution.final_outputs).to.deep.equal({ greet: { text: 'Hello Ada, item b' }, echo: { output: { name: 'Ada', items: ['a', 'b'] } } });
    });

    it('lets a later node reference a sharing node by its derived key, as {{my_node.text}}', async function () {
      const workflowId = await createWorkflow(
        daemon,
        workflowBody(
          'shared variables',
          [
            node('first', 'text_input', { text: 'shared {{trigger.n}}' }, { name: 'My Node!', share_output_to_variables: true }),
            node('second', 'text_input', { text: 'got "{{my_node.text}}"' }),
          ],
          [link('first', 'text', 'second', 'input')],
        ),
      );
      const { execution } = await runToEnd(daemon, workflowId, { n: 7 });

      expect(execution.final_outputs.second).to.deep.equal({ text: 'got "shared 7"' });
    });

    it('leaves unresolved references verbatim', async function () {
      const text = 'keep {{nope.x}}, {{trigger.missing}} and {{not_shared.text}}';
      const workflowId = await createWorkflow(
        daemon,
        workflowBody('unresolved', [node('not_shared', 'text_input', { text: 'private' }), node('show', 'text_input', { text })], [link('not_shared', 'text', 'show', 'input')]),
      );
      const { execution } = await runToEnd(daemon, workflowId, { present: true });

      expect(execution.final_outputs.show).to.deep.equal({ text });
    });
  });

  it('lets the other branches finish under continue_on_error and completes with the failure listed', async function () {
    const workflowId = await createWorkflow(
      daemon,
      workflowBody(
        'continue on error',
        [
          node('start', 'text_input', { text: 'go' }),
          node('bad', 'test_fail', { code: 'broken', message: 'bad branch broke', retryable: false }),
          node('after_bad', 'test_echo'),
          node('good', 'test_slow', { ms: 300 }),
          node('after_good', 'test_echo'),
        ],
        [link('start', 'text', 'bad', 'input'), link('bad', 'output', 'after_bad', 'input'), link('start', 'text', 'good', 'input'), link('good', 'output', 'after_good', 'input')],
        { execution_config: { error_handling: 'continue_on_error' } },
      ),
    );
    const { event, execution } = await runToEnd(daemon, workflowId);

    expect(event.status).to.equal('completed');
    expect(execution.status).to.equal('completed');
    expect(statuses(execution)).to.deep.equal({ start: 'completed', bad: 'failed', after_bad: 'skipped', good: 'completed', after_good: 'completed' });
    expect(execution.node_results.bad.error).to.include({ code: 'broken', message: 'bad branch broke' });
    expect(execution.error_message).to.be.a('string').and.include('bad');
    expect(execution.final_outputs).to.deep.equal({ after_good: { output: 'go' } });
  });
});
