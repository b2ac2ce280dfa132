// Workflow CRUD, validation and manual execution, through a real daemon over loopback HTTP.
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, expectError, expectOk, waitForEventEnd, removeIfAllPassed } from '../helpers/api-assertions.js';
import { link, node, oneNode, workflowBody } from '../helpers/workflows.js';

const hourMs = 3_600_000;

/** text_input → test_echo: the echo is the sink, so final_outputs holds what it echoed. */
const twoNodes = (text = 'hello') => workflowBody('two nodes', [node('input', 'text_input', { text }), node('echo', 'test_echo')], [link('input', 'text', 'echo', 'input')]);

/** A TAV export file as it is: definition at top level, TAV's extra keys included. */
const tavExport = () => ({
  id: 'exported-workflow-1',
  name: 'Exported greeting',
  description: 'made in TAV',
  format_version: '2.0.0',
  nodes: [
    {
      node_id: 'node_1',
      node_type: 'text_input',
      name: 'Input',
      category: 'input',
      config: { text: 'Hello {{trigger.name}}' },
      input_ports: null,
      output_ports: null,
      share_output_to_variables: false,
      variable_name: null,
      position: { x: 100, y: 100 },
    },
    { node_id: 'node_2', node_type: 'text_display', name: 'Show', category: 'output', config: {}, input_ports: null, output_ports: null, position: { x: 300, y: 100 } },
  ],
  connections: [{ connection_id: 'c1', source_node_id: 'node_1', source_port: 'text', target_node_id: 'node_2', target_port: 'text', metadata: {} }],
  canvas_objects: [{ type: 'note', text: 'kept as is' }],
});

describe('workflows API', function () {
  let daemon: TestDaemon;

  before(async function () {
    daemon = await startDaemon();
  });

  after(async function () {
    if (!daemon) return;
    expect(await daemon.stop('SIGTERM')).to.equal(0);
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  describe('CRUD', function () {
    it('creates a workflow with 201 and a Location that reads it back', async function () {
      const response = await daemon.request('POST', '/api/v1/workflows', { ...twoNodes(), description: 'two nodes in a row', tags: ['demo'] });
      const created = expectOk(response, 201);
      expect(created.id).to.be.a('string');
      expect(created).to.include({ name: 'two nodes', description: 'two nodes in a row', version: '1.0.0', is_active: true });
      expect(created.tags).to.deep.equal(['demo']);
      expect(created.workflow_data.nodes.map((n: { node_id: string }) => n.node_id)).to.deep.equal(['input', 'echo']);
      expect(created.workflow_data.connections).to.have.length(1);
      expect(response.headers.get('location')).to.equal(`/api/v1/workflows/${created.id}`);

      const read = expectOk(await daemon.request('GET', response.headers.get('location')!));
      expect(read).to.deep.equal(created);
    });

    it('answers an unknown workflow id with 404', async function () {
      expectError(await daemon.request('GET', '/api/v1/workflows/no-such-workflow'), 404, 'not_found');
    });

    it('lists workflows in pages with a total', async function () {
      const ids: string[] = [];
      for (let i = 0; i < 5; i += 1) ids.push(await createWorkflow(daemon, { ...oneNode(), name: `paged ${i}` }));
      const total = expectOk(await daemon.request('GET', '/api/v1/workflows?limit=1')).total as number;
      expect(total).to.be.at.least(5);

      const seen: string[] = [];
      for (let offset = 0; offset < total; offset += 2) {
        const page = expectOk(await daemon.request('GET', `/api/v1/workflows?limit=2&offset=${offset}`));
        expect(page).to.include({ limit: 2, offset, total });
        expect(page.items.length).to.be.at.most(2);
        seen.push(...page.items.map((workflow: { id: string }) => workflow.id));
      }
      expect(seen).to.have.length(total);
      expect(new Set(seen).size).to.equal(total);
      expect(seen).to.include.members(ids);
    });

    it('refuses list limits out of bounds and a negative offset with 400', async function () {
      for (const query of ['limit=0', 'limit=501', 'offset=-1', 'limit=many']) {
        expectError(await daemon.request('GET', `/api/v1/workflows?${query}`), 400, 'validation_failed');
      }
    });

    it('replaces a workflow with PUT', async function () {
      const id = await createWorkflow(daemon, oneNode());
      const updated = expectOk(await daemon.request('PUT', `/api/v1/workflows/${id}`, { ...twoNodes('changed'), name: 'renamed', version: '1.1.0' }));
      expect(updated).to.include({ id, name: 'renamed', version: '1.1.0' });
      const read = expectOk(await daemon.request('GET', `/api/v1/workflows/${id}`));
      expect(read.name).to.equal('renamed');
      expect(read.workflow_data.nodes).to.have.length(2);
      expect(read.workflow_data.nodes[0].config).to.deep.equal({ text: 'changed' });
    });

    it('runs the new definition after a PUT', async function () {
      const id = await createWorkflow(daemon, twoNodes('before'));
      expectOk(await daemon.request('PUT', `/api/v1/workflows/${id}`, twoNodes('after')));
      const result = expectOk(await daemon.request('POST', `/api/v1/workflows/${id}/execute`, {}, { 'x-await-completion': 'true' }));
      expect(result.execution.final_outputs).to.deep.equal({ echo: { output: 'after' } });
    });

    it('answers PUT of an unknown workflow with 404 and an invalid one with 400', async function () {
      expectError(await daemon.request('PUT', '/api/v1/workflows/no-such-workflow', oneNode()), 404, 'not_found');
      const id = await createWorkflow(daemon, oneNode());
      expectError(await daemon.request('PUT', `/api/v1/workflows/${id}`, workflowBody('bad', [node('x', 'no_such_type')])), 400, 'invalid_workflow');
      expect(expectOk(await daemon.request('GET', `/api/v1/workflows/${id}`)).name).to.equal('one node');
    });

    it('deletes a workflow with 204, after which it is 404', async function () {
      const id = await createWorkflow(daemon, oneNode());
      const response = await daemon.request('DELETE', `/api/v1/workflows/${id}`);
      expect(response.status).to.equal(204);
      expect(response.body).to.equal(null);
      expectError(await daemon.request('GET', `/api/v1/workflows/${id}`), 404, 'not_found');
      expectError(await daemon.request('DELETE', `/api/v1/workflows/${id}`), 404, 'not_found');
    });

    it('deletes a workflow that has run, with its history', async function () {
      const id = await createWorkflow(daemon, oneNode());
      const { id: eventId } = await enqueue(daemon, id);
      await waitForEventEnd(daemon, eventId);
      expect((await daemon.request('DELETE', `/api/v1/workflows/${id}`)).status).to.equal(204);
    });

    it('refuses to delete a workflow with a pending event (409), and deletes it once the event is cancelled', async function () {
      const id = await createWorkflow(daemon, oneNode());
      const { id: eventId } = await enqueue(daemon, id, { delay_ms: hourMs });
      expectError(await daemon.request('DELETE', `/api/v1/workflows/${id}`), 409, 'workflow_busy');
      expectOk(await daemon.request('GET', `/api/v1/workflows/${id}`));

      expectOk(await daemon.request('POST', `/api/v1/events/${eventId}/cancel`));
      expect((await daemon.request('DELETE', `/api/v1/workflows/${id}`)).status).to.equal(204);
    });

    it('refuses to delete a workflow while one of its runs is in flight (409)', async function () {
      const id = await createWorkflow(daemon, workflowBody('slow', [node('slow', 'test_slow', { ms: 400 })]));
      const { id: eventId } = await enqueue(daemon, id);
      await waitFor(async () => expectOk(await daemon.request('GET', `/api/v1/events/${eventId}`)).status === 'processing', 'the run to start');
      expectError(await daemon.request('DELETE', `/api/v1/workflows/${id}`), 409, 'workflow_busy');
      await waitForEventEnd(daemon, eventId);
      expect((await daemon.request('DELETE', `/api/v1/workflows/${id}`)).status).to.equal(204);
    });

    it('answers a wrong key with 401 on every workflow route', async function () {
      const id = await createWorkflow(daemon, oneNode());
      const wrong = { authorization: 'Bearer tav_wrong' };
      expectError(await daemon.request('POST', '/api/v1/workflows', oneNode(), wrong), 401, 'unauthorized');
      expectError(await daemon.request('GET', '/api/v1/workflows', undefined, wrong), 401, 'unauthorized');
      expectError(await daemon.request('GET', `/api/v1/workflows/${id}`, undefined, wrong), 401, 'unauthorized');
      expectError(await daemon.request('PUT', `/api/v1/workflows/${id}`, oneNode(), wrong), 401, 'unauthorized');
      expectError(await daemon.request('DELETE', `/api/v1/workflows/${id}`, undefined, wrong), 401, 'unauthorized');
      expectError(await daemon.request('POST', `/api/v1/workflows/${id}/execute`, {}, wrong), 401, 'unauthorized');
      expectError(await daemon.request('GET', `/api/v1/workflows/${id}`, undefined, { authorization: '' }), 401, 'unauthorized');
      expectOk(await daemon.request('GET', `/api/v1/workflows/${id}`));
    });
  });

  describe('TAV exports', function () {
    it('accepts a TAV export as it is, keeping its extra keys', async function () {
      const created = expectOk(await daemon.request('POST', '/api/v1/workflows', tavExport()), 201);
      expect(created).to.include({ name: 'Exported greeting', description: 'made in TAV' });
      const data = created.workflow_data;
      expect(data.workflow_id).to.equal('exported-workflow-1');
      expect(data.nodes.map((n: { node_type: string }) => n.node_type)).to.deep.equal(['text_input', 'text_display']);
      expect(data.nodes[0].position).to.deep.equal({ x: 100, y: 100 });
      expect(data.connections[0]).to.include({ connection_id: 'c1', source_port: 'text', target_port: 'text' });
      expect(data.canvas_objects).to.deep.equal([{ type: 'note', text: 'kept as is' }]);
    });

    it('runs an imported export to completion', async function () {
      const id = await createWorkflow(daemon, tavExport());
      const result = expectOk(await daemon.request('POST', `/api/v1/workflows/${id}/execute`, { data: { name: 'Ada' } }, { 'x-await-completion': 'true' }));
      expect(result.execution.status).to.equal('completed');
      expect(Object.keys(result.execution.final_outputs)).to.deep.equal(['node_2']);
    });

    it('maps the doc aliases ornode and loop_orchestrator, and lists them as unknown while those types do not exist', async function () {
      const exported = tavExport();
      exported.nodes.push(
        { node_id: 'node_3', node_type: 'ornode', name: 'Or', category: 'logic', config: {}, input_ports: null, output_ports: null, position: { x: 0, y: 0 } },
        { node_id: 'node_4', node_type: 'loop_orchestrator', name: 'Loop', category: 'logic', config: {}, input_ports: null, output_ports: null, position: { x: 0, y: 0 } },
      );
      const response = await daemon.request('POST', '/api/v1/workflows', exported);
      if (response.status === 201) {
        // The catalogue has these node types now: they are stored under their canonical ids.
        expect(response.body.workflow_data.nodes.slice(2).map((n: { node_type: string }) => n.node_type)).to.deep.equal(['or', 'while_loop']);
        return;
      }
      expectError(response, 400, 'invalid_workflow');
      expect(response.body.error.details).to.deep.include({ path: 'nodes[2].node_type', message: "unknown node type 'or'" });
      expect(response.body.error.details).to.deep.include({ path: 'nodes[3].node_type', message: "unknown node type 'while_loop'" });
    });
  });

  describe('validation', function () {
    it('lists every problem of a workflow at once', async function () {
      const broken = workflowBody(
        'broken',
        [
          node('input', 'text_input', { text: 5 }),
          node('mystery', 'no_such_type'),
          node('shown', 'text_display'),
          node('shown', 'text_display'),
        ],
        [link('input', 'text', 'ghost', 'text'), link('input', 'no_such_port', 'shown', 'text'), link('input', 'text', 'shown', 'no_such_input')],
      );
      const response = await daemon.request('POST', '/api/v1/workflows', broken);
      expectError(response, 400, 'invalid_workflow');
      const details: Array<{ path: string; message: string }> = response.body.error.details;
      const paths = details.map((detail) => detail.path);
      expect(paths).to.include.members([
        'nodes[0].config.text',
        'nodes[1].node_type',
        'nodes[3].node_id',
        'connections[0].target_node_id',
        'connections[1].source_port',
        'connections[2].target_port',
      ]);
      expect(details.find((detail) => detail.path === 'nodes[1].node_type')!.message).to.contain('no_such_type');
      expect(details.find((detail) => detail.path === 'nodes[3].node_id')!.message).to.contain('duplicate');
      expect(details.find((detail) => detail.path === 'nodes[0].config.text')!.message).to.contain('string');
      expect(response.body.error.message).to.contain(String(details.length));
    });

    it('refuses a cycle that does not close through a loop node', async function () {
      const cyclic = workflowBody('cyclic', [node('a', 'text_display'), node('b', 'text_display')], [link('a', 'text', 'b', 'text'), link('b', 'text', 'a', 'text')]);
      const response = await daemon.request('POST', '/api/v1/workflows', cyclic);
      expectError(response, 400, 'invalid_workflow');
      expect(response.body.error.details).to.have.length(1);
      expect(response.body.error.details[0].path).to.equal('connections');
      expect(response.body.error.details[0].message).to.match(/cycle/).and.to.contain('a').and.to.contain('b');
    });

    it('refuses a workflow without nodes', async function () {
      const response = await daemon.request('POST', '/api/v1/workflows', workflowBody('empty', []));
      expectError(response, 400, 'invalid_workflow');
      expect(response.body.error.details[0].path).to.equal('nodes');
    });

    it('refuses a body without a name or with wrongly typed fields, naming each field', async function () {
      const response = await daemon.request('POST', '/api/v1/workflows', { workflow_data: { nodes: [], connections: [] }, tags: 'demo', is_active: 'yes' });
      expectError(response, 400, 'validation_failed');
      const paths = response.body.error.details.map((detail: { path: string }) => detail.path);
      expect(paths).to.include.members(['name', 'tags', 'is_active']);
    });

    it('answers malformed JSON with 400, text/plain with 415', async function () {
      expectError(await daemon.request('POST', '/api/v1/workflows', '{"name": "x",'), 400, 'malformed_json');
      expectError(await daemon.request('POST', '/api/v1/workflows', JSON.stringify(oneNode()), { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    });
  });

  describe('POST /api/v1/workflows/:id/execute', function () {
    let workflowId: string;

    before(async function () {
      workflowId = await createWorkflow(daemon, twoNodes());
    });

    it('enqueues a manual event with 202 and a Location', async function () {
      const response = await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, { data: { who: 'tester' }, priority: 2 });
      const body = expectOk(response, 202);
      expect(body.execution).to.equal(null);
      expect(body.event).to.include({ workflow_id: workflowId, event_type: 'manual', source: 'manual', priority: 2 });
      expect(body.event.event_data).to.deep.equal({ who: 'tester' });
      expect(response.headers.get('location')).to.equal(`/api/v1/events/${body.event.id}`);
      expect((await waitForEventEnd(daemon, body.event.id)).status).to.equal('completed');
    });

    it('executes an empty body too', async function () {
      const response = await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`);
      expect(expectOk(response, 202).event.event_data).to.deep.equal({});
    });

    it('waits for the run with X-Await-Completion: true and answers 200 with the completed execution', async function () {
      const response = await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, {}, { 'x-await-completion': 'true' });
      const body = expectOk(response, 200);
      expect(body.timed_out).to.equal(false);
      expect(body.event.status).to.equal('completed');
      expect(body.execution).to.include({ status: 'completed', workflow_id: workflowId, event_id: body.event.id, id: body.event.execution_id });
      expect(body.execution.final_outputs).to.deep.equal({ echo: { output: 'hello' } });
      expect(Object.keys(body.execution.node_results).sort()).to.deep.equal(['echo', 'input']);
    });

    it('answers an awaited run that fails with 200 and the failed execution', async function () {
      const failing = await createWorkflow(daemon, workflowBody('fails', [node('boom', 'test_fail', { message: 'no luck' })]));
      const body = expectOk(await daemon.request('POST', `/api/v1/workflows/${failing}/execute`, {}, { 'x-await-completion': 'true' }), 200);
      expect(body.event.status).to.equal('failed');
      expect(body.execution.status).to.equal('failed');
      expect(body.execution.error_message).to.contain('no luck');
    });

    it('answers an unknown workflow with 404', async function () {
      expectError(await daemon.request('POST', '/api/v1/workflows/no-such-workflow/execute', {}), 404, 'not_found');
      expectError(await daemon.request('POST', '/api/v1/workflows/no-such-workflow/execute', {}, { 'x-await-completion': 'true' }), 404, 'not_found');
    });

    it('refuses a bad execute body with 400', async function () {
      expectError(await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, { priority: 6 }), 400, 'validation_failed');
      expectError(await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, { run: 'now' }), 400, 'validation_failed');
      expectError(await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, '[1,'), 400, 'malformed_json');
    });
  });
});
