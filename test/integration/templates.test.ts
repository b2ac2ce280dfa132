// Workflow templates on a real daemon: the seeded examples are listed and filtered by category, each
// one instantiates into an ordinary workflow that runs end to end with no outside service, and the
// seed is idempotent across restarts without overwriting an operator's edit.
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { readTemplateFiles, type TemplateFile } from '../../seeds/workflow-templates.js';
import { normalizeWorkflowData } from '../../src/domain/workflow.js';
import { builtinCatalog } from '../../src/engine/node-catalog.js';
import { validateWorkflow } from '../../src/engine/workflow-validation.js';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, expectError, expectOk, removeIfAllPassed } from '../helpers/api-assertions.js';
import { startLoopbackServer, type LoopbackServer } from '../helpers/loopback-server.js';
import { oneNode } from '../helpers/workflows.js';
import { waitForExecution } from '../helpers/workflow-runs.js';

const shipped = readTemplateFiles();

/** The shipped template named `name`. */
function template(name: string): TemplateFile {
  const found = shipped.find((t) => t.name === name);
  if (!found) throw new Error(`no shipped template named ${name}`);
  return found;
}

const relay = template('Webhook to HTTP relay');
const csvReport = template('Daily CSV report');
const approval = template('Approval review');
const counter = template('Counter loop with state');

describe('workflow templates', function () {
  let daemon: TestDaemon;
  let loopback: LoopbackServer;

  before(async function () {
    loopback = await startLoopbackServer();
    daemon = await startDaemon();
  });

  after(async function () {
    await loopback?.close();
    if (!daemon) return;
    expect(await daemon.stop('SIGTERM')).to.equal(0);
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  /** Instantiates a template and returns the new workflow. */
  async function instantiate(templateId: string, body?: unknown): Promise<any> {
    return expectOk(await daemon.request('POST', `/api/v1/templates/${templateId}/instantiate`, body), 201);
  }

  /** Runs a workflow through POST /workflows/:id/execute, waiting for the end, and returns its execution. */
  async function execute(workflowId: string, eventData: unknown): Promise<any> {
    const answer = expectOk(await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, { event_data: eventData }, { 'x-await-completion': 'true' }));
    expect(answer.timed_out).to.equal(false);
    return answer.execution;
  }

  it('ships template files that validate against the built-in node catalogue', function () {
    expect(shipped.map((t) => t.id)).to.have.members([relay.id, csvReport.id, approval.id, counter.id]);
    const catalog = builtinCatalog(false);
    for (const file of shipped) {
      expect(validateWorkflow(normalizeWorkflowData(file.workflow_data), (type) => catalog.get(type)), file.name).to.deep.equal([]);
    }
  });

  describe('listing', function () {
    it('lists every seeded template with its category, and nothing else', async function () {
      await createWorkflow(daemon, { ...oneNode(), name: 'an ordinary workflow' });
      const page = expectOk(await daemon.request('GET', '/api/v1/templates'));

      expect(page.total).to.equal(shipped.length);
      expect(page.items.map((item: any) => item.id)).to.have.members(shipped.map((t) => t.id));
      for (const item of page.items) {
        const file = shipped.find((t) => t.id === item.id)!;
        expect(item).to.include({ name: file.name, description: file.description, is_template: true, template_category: file.template_category, is_active: false });
        expect(item.workflow_data.nodes.map((n: any) => n.node_id)).to.deep.equal((file.workflow_data.nodes as any[]).map((n) => n.node_id));
      }
    });

    it('filters templates by category', async function () {
      const reporting = expectOk(await daemon.request('GET', '/api/v1/templates?category=reporting'));
      expect(reporting.items.map((item: any) => item.id)).to.deep.equal([csvReport.id]);
      expect(reporting.total).to.equal(1);

      const none = expectOk(await daemon.request('GET', '/api/v1/templates?category=no-such-category'));
      expect(none).to.include({ total: 0 });
      expect(none.items).to.deep.equal([]);
    });

    it('pages templates with limit and offset', async function () {
      const first = expectOk(await daemon.request('GET', '/api/v1/templates?limit=2'));
      const second = expectOk(await daemon.request('GET', '/api/v1/templates?limit=2&offset=2'));
      expect(first.items).to.have.length(2);
      expect([...first.items, ...second.items].map((item: any) => item.id)).to.have.members(shipped.map((t) => t.id));
    });

    it('refuses bad list parameters with 400', async function () {
      expectError(await daemon.request('GET', '/api/v1/templates?category='), 400, 'validation_failed');
      expectError(await daemon.request('GET', `/api/v1/templates?category=${'x'.repeat(65)}`), 400, 'validation_failed');
      expectError(await daemon.request('GET', '/api/v1/templates?limit=0'), 400, 'validation_failed');
    });

    it('lists templates among workflows, or only one kind with ?is_template', async function () {
      const templateIds = shipped.map((t) => t.id);
      const all = expectOk(await daemon.request('GET', '/api/v1/workflows?limit=500')).items.map((item: any) => item.id);
      expect(all).to.include.members(templateIds);

      const onlyTemplates = expectOk(await daemon.request('GET', '/api/v1/workflows?is_template=true&limit=500'));
      expect(onlyTemplates.items.map((item: any) => item.id)).to.have.members(templateIds);
      expect(onlyTemplates.total).to.equal(templateIds.length);

      const ordinary = expectOk(await daemon.request('GET', '/api/v1/workflows?is_template=false&limit=500'));
      expect(ordinary.items.length).to.be.at.least(1);
      expect(ordinary.items.every((item: any) => item.is_template === false)).to.equal(true);
      expect(ordinary.total).to.equal(all.length - templateIds.length);

      expectError(await daemon.request('GET', '/api/v1/workflows?is_template=maybe'), 400, 'validation_failed');
    });
  });

  describe('instantiating', function () {
    it('creates an ordinary workflow with a new id, a copy of the definition and the template unchanged', async function () {
      const before = expectOk(await daemon.request('GET', `/api/v1/workflows/${counter.id}`));
      const response = await daemon.request('POST', `/api/v1/templates/${counter.id}/instantiate`, {});
      const created = expectOk(response, 201);

      expect(created.id).to.be.a('string').and.not.equal(counter.id);
      expect(response.headers.get('location')).to.equal(`/api/v1/workflows/${created.id}`);
      expect(created).to.include({ name: counter.name, description: counter.description, is_template: false, template_category: null, is_active: true });
      expect(created.workflow_data.nodes).to.deep.equal(before.workflow_data.nodes);
      expect(created.workflow_data.connections).to.deep.equal(before.workflow_data.connections);
      expect(created.workflow_data).to.include({ workflow_id: created.id });
      expect(created.workflow_data.metadata).to.include({ template_id: counter.id });
      expect(expectOk(await daemon.request('GET', `/api/v1/workflows/${created.id}`))).to.deep.equal(created);
      expect(expectOk(await daemon.request('GET', `/api/v1/workflows/${counter.id}`))).to.deep.equal(before);
    });

    it('takes name, description and execution_config from the body, over the template\'s', async function () {
      const created = await instantiate(relay.id, { name: 'my relay', description: null, execution_config: { retry_enabled: false } });
      expect(created).to.include({ name: 'my relay', description: null });
      expect(created.workflow_data.name).to.equal('my relay');
      expect(created.execution_config).to.deep.equal({ retry_enabled: false });
    });

    it('answers 404 for an unknown template and for a workflow that is not a template', async function () {
      expectError(await daemon.request('POST', '/api/v1/templates/no-such-template/instantiate', {}), 404, 'not_found');
      const ordinary = await createWorkflow(daemon, oneNode());
      expectError(await daemon.request('POST', `/api/v1/templates/${ordinary}/instantiate`, {}), 404, 'not_found');
    });

    it('refuses a bad body with 400 and creates nothing', async function () {
      const total = () => daemon.request('GET', '/api/v1/workflows?is_template=false').then((r) => expectOk(r).total as number);
      const before = await total();
      for (const body of [{ name: '' }, { name: 5 }, { name: 'x'.repeat(256) }, { execution_config: 'fast' }, { is_template: true }, [], '"text"']) {
        expectError(await daemon.request('POST', `/api/v1/templates/${relay.id}/instantiate`, body), 400, 'validation_failed');
      }
      expectError(await daemon.request('POST', `/api/v1/templates/${relay.id}/instantiate`, '{"name":'), 400, 'malformed_json');
      expect(await total()).to.equal(before);
    });
  });

  describe('running each template', function () {
    it('relays the trigger payload to the target URL (webhook-to-HTTP relay)', async function () {
      const workflow = await instantiate(relay.id);
      const payload = { order: 42, items: ['tea', 'cups'], note: 'ünïcode' };
      const targetUrl = `${loopback.url}/hook`;
      const execution = await execute(workflow.id, { target_url: targetUrl, payload });

      expect(execution.status, JSON.stringify(execution.node_results)).to.equal('completed');
      expect(loopback.bodies('/hook').map((text) => JSON.parse(text))).to.deep.equal([payload]);
      expect(execution.node_results.relay.outputs).to.include({ status_code: 200, success: true });
      expect(execution.final_outputs.log.logged).to.include({ event_type: 'relay_delivered', message: `relayed to ${targetUrl}: HTTP 200` });
    });

    it('writes the trigger rows to a CSV file in exports/ (daily CSV report)', async function () {
      const workflow = await instantiate(csvReport.id);
      const rows = [
        { region: 'north', sales: 10 },
        { region: 'south, east', sales: 7 },
      ];
      const execution = await execute(workflow.id, { rows });

      expect(execution.status, JSON.stringify(execution.node_results)).to.equal('completed');
      const result = execution.node_results.report.outputs.result;
      expect(result.path).to.match(/^exports\/daily_report_\d{4}-\d{2}-\d{2}\.csv$/);
      expect(result.rows).to.equal(2);
      expect(fs.readFileSync(path.join(daemon.dataDir, result.path), 'utf8')).to.equal('region,sales\r\nnorth,10\r\n"south, east",7\r\n');
      expect(execution.final_outputs.log.logged.message).to.equal(`wrote 2 rows to ${result.path}`);
    });

    it('pauses for a reviewer, then takes the approve or the reject branch on the answer, rejoining in the summary (approval review)', async function () {
      const workflow = await instantiate(approval.id);
      for (const [action, summary, taken, skipped] of [
        ['approve', 'approved: new laptop', 'approve', 'reject'],
        ['reject', 'rejected: new laptop', 'reject', 'approve'],
      ]) {
        const paused = await execute(workflow.id, { request: 'new laptop' });
        expect(paused.status, JSON.stringify(paused.node_results)).to.equal('paused');
        const pending = expectOk(await daemon.request('GET', `/api/v1/interactions?status=pending&execution_id=${paused.id}`)).items;
        expect(pending).to.have.length(1);
        expectOk(await daemon.request('POST', `/api/v1/interactions/${pending[0].id}`, { action }));
        const execution = await waitForExecution(daemon, paused.id, (e) => e.status === 'completed' || e.status === 'failed', 'the answered run to end');
        expect(execution.status, JSON.stringify(execution.node_results)).to.equal('completed');
        expect(execution.node_results[taken!].status, action).to.equal('completed');
        expect(execution.node_results[skipped!].status, action).to.equal('skipped');
        expect(execution.final_outputs.summary.text, action).to.equal(summary);
      }
    });

    it('counts to 5 in state over five loop passes, and on to 10 in the next run (counter loop)', async function () {
      const workflow = await instantiate(counter.id);
      const first = await execute(workflow.id, {});

      expect(first.status, JSON.stringify(first.node_results)).to.equal('completed');
      expect(first.final_outputs.report).to.include({ state_value: 5, found: true });
      const { items } = expectOk(await daemon.request('GET', `/api/v1/executions/${first.id}/iterations`));
      expect(items.map((row: any) => row.iteration_number)).to.deep.equal([1, 2, 3, 4, 5]);

      const second = await execute(workflow.id, {});
      expect(second.final_outputs.report).to.include({ state_value: 10, found: true });
    });
  });

  describe('seeding on every start', function () {
    it('keeps the same templates after a restart, without duplicates and without overwriting an edit', async function () {
      const edited = expectOk(await daemon.request('GET', `/api/v1/workflows/${approval.id}`));
      const put = await daemon.request('PUT', `/api/v1/workflows/${approval.id}`, {
        name: 'Our approval flow',
        description: 'edited by the operator',
        workflow_data: edited.workflow_data,
        is_template: true,
        template_category: 'approval',
      });
      expectOk(put);
      const instancesBefore = expectOk(await daemon.request('GET', '/api/v1/workflows?is_template=false&limit=500')).total;

      expect(await daemon.stop('SIGTERM')).to.equal(0);
      daemon = await startDaemon({ dataDir: daemon.dataDir });

      const page = expectOk(await daemon.request('GET', '/api/v1/templates?limit=500'));
      expect(page.total).to.equal(shipped.length);
      expect(page.items.map((item: any) => item.id)).to.have.members(shipped.map((t) => t.id));
      const kept = expectOk(await daemon.request('GET', `/api/v1/workflows/${approval.id}`));
      expect(kept).to.include({ name: 'Our approval flow', description: 'edited by the operator' });
      expect(expectOk(await daemon.request('GET', '/api/v1/workflows?is_template=false&limit=500')).total).to.equal(instancesBefore);
    });
  });
});
