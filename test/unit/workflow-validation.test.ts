// Save-time validation and the acceptance of TAV exports, without the daemon.
import { expect } from 'chai';
import { nodeDefinitions } from '../../workers/nodes/index.js';
import { normalizeWorkflowData } from '../../src/domain/workflow.js';
import { NodeCatalog } from '../../src/engine/node-catalog.js';
import { validateWorkflow } from '../../src/engine/workflow-validation.js';
import { link, node } from '../helpers/workflows.js';

const catalog = new NodeCatalog(nodeDefinitions(true));
const validate = (data: unknown) => validateWorkflow(normalizeWorkflowData(data), (type) => catalog.get(type));

describe('workflow validation', () => {
  it('accepts a TAV export as it is, keeping unknown keys', () => {
    const exported = { id: 'abc', name: 'x', description: 'd', nodes: [node('a', 'text_input', { text: 'hi' })], connections: [], canvas_objects: [], ui_hint: 1 };
    const data = normalizeWorkflowData(exported);
    expect(data.workflow_id).to.equal('abc');
    expect(data.ui_hint).to.equal(1);
    expect(validate(exported)).to.deep.equal([]);
  });

  it('lists every problem at once', () => {
    const problems = validate({
      nodes: [node('a', 'text_input', { text: 5 }), node('a', 'text_display'), node('b', 'no_such_type')],
      connections: [link('a', 'text', 'ghost', 'text'), link('a', 'nope', 'a', 'text')],
    });
    const messages = problems.map((problem) => problem.message).join('\n');
    expect(messages).to.match(/must be of type string/);
    expect(messages).to.match(/duplicate node_id a/);
    expect(messages).to.match(/unknown node type 'no_such_type'/);
    expect(messages).to.match(/target node 'ghost' does not exist/);
    expect(messages).to.match(/has no output port 'nope'/);
  });

  it('refuses a workflow without nodes', () => {
    expect(validate({ nodes: [], connections: [] })[0]!.message).to.match(/at least one node/);
  });

  it('refuses a cycle that does not pass through a loop node', () => {
    const problems = validate({ nodes: [node('a', 'test_echo'), node('b', 'test_echo')], connections: [link('a', 'output', 'b', 'input'), link('b', 'output', 'a', 'input')] });
    expect(problems[0]!.message).to.match(/cycle not closed through a loop node/);
  });

  it('maps the doc aliases of node types to their ids', () => {
    expect(normalizeWorkflowData({ nodes: [{ node_id: 'x', node_type: 'llm_chat' }], connections: [] }).nodes[0]!.node_type).to.equal('large_language_model');
  });
});
