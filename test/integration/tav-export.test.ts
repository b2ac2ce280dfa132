// A workflow exported from TAV, imported as it is and run end to end (semantics §1), and the offline
// node catalogue as GET /api/v1/nodes lists it (§10, §11).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, expectOk, removeIfAllPassed } from '../helpers/api-assertions.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const exportFile = path.join(repoRoot, 'test', 'fixtures', 'tav-export-ticket-triage.json');

/** A ticket as the mail hook delivers it: prose around a ```json fence. */
function rawTicket(ticket: Record<string, string>): string {
  return `Forwarded by the mail hook.\n\n\`\`\`json\n${JSON.stringify(ticket, null, 2)}\n\`\`\`\nEnd of message.`;
}

/** The offline node types of §11: ports, required ports and config defaults. */
const catalogue: Record<string, { inputs: string[]; outputs: string[]; required?: string[]; defaults?: Record<string, unknown> }> = {
  text_input: { inputs: ['input'], outputs: ['text'], defaults: { text: '' } },
  text_display: { inputs: ['text'], outputs: ['text', 'preview_data'], required: ['text'], defaults: { max_preview_length: 1000 } },
  json_parser: { inputs: ['text'], outputs: ['data', 'metadata'], required: ['text'], defaults: { strict_mode: false, extract_from_markdown: true } },
  csv_reader: { inputs: ['file'], outputs: ['data', 'headers', 'metadata'], required: ['file'], defaults: { delimiter: ',', has_header: true, skip_rows: 0, encoding: 'utf-8' } },
  csv_writer: { inputs: ['data'], outputs: ['result', 'file'], required: ['data'], defaults: { include_headers: true, delimiter: ',', filename: 'export_{timestamp}.csv' } },
  http_request: {
    inputs: ['data'],
    outputs: ['response', 'status_code', 'headers', 'success'],
    defaults: { method: 'GET', auth_type: 'none', headers: {}, query_params: {}, body_type: 'json', timeout: 30, follow_redirects: true },
  },
  delay: { inputs: ['input'], outputs: ['output'], defaults: { seconds: 1 } },
  decision: { inputs: ['input'], outputs: ['true', 'false', 'decision_result', 'active_path', 'blocked_outputs', 'details'], defaults: { evaluation_mode: 'simple', include_reasoning: true } },
  while_loop: { inputs: ['trigger', 'iteration_data'], outputs: ['iteration_number', 'max_iterations', 'iteration_label', 'continue_loop', 'exit_loop'], defaults: { max_iterations: 10, iteration_label_template: 'iteration_{n}' } },
  or: { inputs: ['input1', 'input2', 'input3', 'input4'], outputs: ['output', 'metadata'], defaults: { merge_strategy: 'priority' } },
  virtual_time: {
    inputs: ['iteration_number'],
    outputs: ['virtual_datetime', 'virtual_timestamp', 'virtual_day', 'time_step_hours'],
    required: ['iteration_number'],
    defaults: { start_datetime: '2025-01-01 00:00:00', time_step_value: 1, time_step_unit: 'hours' },
  },
  state_get: { inputs: ['trigger'], outputs: ['state_value', 'state_version', 'last_updated_at', 'found', 'not_found'], defaults: { default_value: {} } },
  state_set: { inputs: ['trigger', 'state_value'], outputs: ['success', 'state_version'], required: ['state_value'] },
  state_update: { inputs: ['trigger', 'state_key', 'updates', 'namespace'], outputs: ['success', 'new_value', 'state_version'], required: ['state_key', 'updates'], defaults: { operation: 'merge', create_if_missing: false } },
  state_delete: { inputs: ['trigger'], outputs: ['deleted', 'not_found'] },
  metric_tracker: { inputs: ['trigger', 'metrics'], outputs: ['success', 'current_metrics'], required: ['metrics'], defaults: { track_history: false } },
  anomaly_detector: { inputs: ['trigger', 'metrics'], outputs: ['normal', 'anomaly_detected', 'anomalies', 'severity'], required: ['metrics'] },
  event_logger: { inputs: ['trigger', 'event_data'], outputs: ['success'], defaults: { level: 'info' } },
  large_language_model: { inputs: [], outputs: ['response'] },
};

describe('TAV export and node catalogue', function () {
  let daemon: TestDaemon;

  before(async function () {
    daemon = await startDaemon({ settings: { execution: { max_retries: 0 } } });
  });

  after(async function () {
    if (!daemon) return;
    await daemon.stop('SIGTERM');
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  describe('a TAV export', function () {
    const exported = JSON.parse(fs.readFileSync(exportFile, 'utf8'));
    let workflowId: string;

    before(async function () {
      workflowId = await createWorkflow(daemon, exported);
    });

    async function execute(ticket: Record<string, string>): Promise<any> {
      const answer = await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, { event_data: { raw: rawTicket(ticket) } }, { 'x-await-completion': 'true' });
      const body = expectOk(answer);
      expect(body.timed_out).to.equal(false);
      return body;
    }

    it('is accepted as it is: name, description, layout, canvas objects and unknown keys kept, aliases resolved', async function () {
      const workflow = expectOk(await daemon.request('GET', `/api/v1/workflows/${workflowId}`));
      expect(workflow).to.include({ name: exported.name, description: exported.description });
      const data = workflow.workflow_data;
      expect(data.canvas_objects).to.deep.equal(exported.canvas_objects);
      expect(data.metadata).to.deep.equal(exported.metadata);
      expect(data.exported_at).to.equal(exported.exported_at);
      expect(data.nodes.map((n: any) => n.node_type)).to.deep.equal(['text_input', 'json_parser', 'decision', 'text_input', 'text_input', 'or', 'text_display']);
      expect(data.nodes.map((n: any) => n.position)).to.deep.equal(exported.nodes.map((n: any) => n.position));
      expect(data.connections).to.deep.equal(exported.connections);
    });

    it('runs end to end with X-Await-Completion down the urgent branch', async function () {
      const { event, execution } = await execute({ subject: 'URGENT: checkout is down', customer: 'ACME', body: 'Nobody can pay since 09:00' });

      expect(event.status).to.equal('completed');
      expect(execution.status).to.equal('completed');
      expect(execution.execution_source).to.equal('manual');
      expect(Object.keys(execution.final_outputs), 'the display is the one sink').to.deep.equal(['node_7']);
      const outcome = execution.final_outputs.node_7;
      expect(outcome.text).to.match(/^Page on-call: URGENT: checkout is down for ACME \(\d{4}-\d{2}-\d{2}\)$/);
      expect(outcome.preview_data).to.include({ type: 'text', is_truncated: true, char_count: outcome.text.length });
      expect(outcome.preview_data.text).to.equal(outcome.text.slice(0, 40));
      expect(execution.node_results.node_5.status, 'the backlog branch is blocked').to.equal('skipped');
      expect(execution.node_results.node_6.outputs.metadata).to.deep.equal({ merge_strategy: 'priority', selected_input: 'input1', available_inputs: ['input1'] });
      expect(execution.node_results.node_2.outputs.metadata).to.include({ success: true, extracted: true });
    });

    it('runs end to end down the other branch for a ticket that is not urgent', async function () {
      const { execution } = await execute({ subject: 'Invoice address change', customer: 'Globex', body: 'Please use our new address' });

      expect(execution.status).to.equal('completed');
      expect(execution.final_outputs.node_7.text).to.equal('Backlog: Invoice address change for Globex');
      expect(execution.node_results.node_4.status).to.equal('skipped');
      expect(execution.node_results.node_6.outputs.metadata.selected_input).to.equal('input2');
    });
  });

  describe('GET /api/v1/nodes', function () {
    let items: any[];

    before(async function () {
      items = expectOk(await daemon.request('GET', '/api/v1/nodes')).items;
    });

    it('describes every node type with its ports, config keys and defaults', function () {
      expect(items.length).to.be.greaterThan(Object.keys(catalogue).length - 1);
      for (const item of items) {
        expect(item.type, 'type').to.be.a('string').and.not.equal('');
        expect(item.category, `${item.type} category`).to.be.a('string');
        expect(item.description, `${item.type} description`).to.be.a('string').and.not.equal('');
        for (const list of ['inputs', 'outputs', 'config']) expect(item[list], `${item.type} ${list}`).to.be.an('array');
        for (const port of [...item.inputs, ...item.outputs]) expect(port.name, `${item.type} port`).to.be.a('string');
        for (const key of item.config) expect(['string', 'number', 'boolean', 'object', 'array', 'any'], `${item.type}.${key.name} type`).to.include(key.type);
      }
      const types = items.map((item) => item.type);
      expect(types, 'listed in order').to.deep.equal([...types].sort((a, b) => a.localeCompare(b)));
    });

    it('lists the offline nodes, the main-thread ones included, with the ports and defaults of the catalogue', function () {
      const byType = new Map(items.map((item) => [item.type, item]));
      for (const [type, expected] of Object.entries(catalogue)) {
        const item = byType.get(type);
        expect(item, `node type ${type}`).to.be.an('object');
        const names = (ports: Array<{ name: string }>) => ports.map((port) => port.name);
        expect(names(item.inputs), `${type} inputs`).to.include.members(expected.inputs);
        expect(names(item.outputs), `${type} outputs`).to.include.members(expected.outputs);
        const required = item.inputs.filter((port: { required?: boolean }) => port.required).map((port: { name: string }) => port.name);
        expect(required, `${type} required inputs`).to.have.members(expected.required ?? []);
        const defaults = Object.fromEntries(item.config.filter((key: { default?: unknown }) => key.default !== undefined).map((key: { name: string; default: unknown }) => [key.name, key.default]));
        expect(defaults, `${type} config defaults`).to.deep.include(expected.defaults ?? {});
      }
    });

    it('marks required config keys', function () {
      const requiredKeys = (type: string) => items.find((item) => item.type === type).config.filter((key: { required?: boolean }) => key.required).map((key: { name: string }) => key.name);
      expect(requiredKeys('http_request')).to.deep.equal(['url']);
      expect(requiredKeys('decision')).to.deep.equal(['condition']);
      expect(requiredKeys('event_logger')).to.have.members(['event_type', 'message']);
      for (const type of ['state_get', 'state_set', 'state_delete']) expect(requiredKeys(type), type).to.deep.equal(['state_key']);
    });
  });
});
