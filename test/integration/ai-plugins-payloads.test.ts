// Nodes that reach outside the graph: an OpenAI-compatible provider from the `ai` settings, plug-in
// node modules from the plug-in folder, and results too large to keep inline.
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { makeDataDir, startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, expectOk } from '../helpers/api-assertions.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

/** A fake chat-completions server that answers with the prompt it got, upper-cased. */
async function fakeProvider(): Promise<{ url: string; prompts: string[]; authorizations: string[]; close(): void }> {
  const prompts: string[] = [];
  const authorizations: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const request = JSON.parse(body) as { model: string; messages: Array<{ role: string; content: string }> };
      const prompt = request.messages.at(-1)!.content;
      prompts.push(prompt);
      authorizations.push(req.headers.authorization ?? '');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ model: request.model, choices: [{ message: { role: 'assistant', content: prompt.toUpperCase() }, finish_reason: 'stop' }], usage: { total_tokens: 3 } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, prompts, authorizations, close: () => server.close() };
}

const goodPlugin = `export const node = {
  definition: { type: 'shout', category: 'plugins', description: 'upper-cases its input', inputs: [{ name: 'input' }], outputs: [{ name: 'output' }], config: [], isolation: 'shared' },
  run(task) { return { output: String(task.inputs.input ?? '').toUpperCase() }; },
};
`;

async function runAndWait(daemon: TestDaemon, workflowId: string, data: unknown): Promise<any> {
  const response = await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, { event_data: data }, { 'x-await-completion': 'true' });
  return expectOk(response).execution;
}

describe('AI provider, plug-ins and large results', function () {
  let daemon: TestDaemon;
  let provider: Awaited<ReturnType<typeof fakeProvider>>;

  before(async () => {
    provider = await fakeProvider();
    const dataDir = makeDataDir('reach');
    fs.mkdirSync(path.join(dataDir, 'plugins'));
    fs.writeFileSync(path.join(dataDir, 'plugins', 'shout.mjs'), goodPlugin);
    fs.writeFileSync(path.join(dataDir, 'plugins', 'broken.mjs'), 'throw new Error("plug-in exploded on import");\n');
    daemon = await startDaemon({
      dataDir,
      settings: {
        ai: { providers: { openai: { provider_type: 'openai', base_url: provider.url, default_model: 'fake-model', enabled: true } } },
        execution: { payload_inline_max_bytes: 16_384 },
      },
    });
  });

  after(async () => {
    provider.close();
    expect(await daemon.stop()).to.equal(0);
  });

  it('runs large_language_model against the provider configured in the ai settings', async () => {
    const id = await createWorkflow(daemon, workflowBody('llm', [node('ask', 'large_language_model', { prompt: 'hello {{trigger.name}}' })]));
    const execution = await runAndWait(daemon, id, { name: 'ada' });
    expect(execution.status).to.equal('completed');
    expect(execution.final_outputs.ask.response).to.equal('HELLO ADA');
    expect(provider.prompts).to.include('hello ada');
  });

  it("sends the provider's key from the credential its settings name, never from settings text", async () => {
    const created = expectOk(await daemon.request('POST', '/api/v1/credentials', { name: 'provider key', credential_type: 'api_key', data: { api_key: 'sk-provider-secret' } }), 201);
    const providers = { openai: { provider_type: 'openai', base_url: provider.url, default_model: 'fake-model', enabled: true, credential_id: String(created.id) } };
    expectOk(await daemon.request('PUT', '/api/v1/settings/ai', { providers }));
    const id = await createWorkflow(daemon, workflowBody('llm keyed', [node('ask', 'large_language_model', { prompt: 'keyed' })]));
    const execution = await runAndWait(daemon, id, {});
    expect(execution.status).to.equal('completed');
    expect(provider.authorizations.at(-1)).to.equal('Bearer sk-provider-secret');
    const settings = expectOk(await daemon.request('GET', '/api/v1/settings/ai'));
    expect(JSON.stringify(settings)).not.to.include('sk-provider-secret');
  });

  it('loads a plug-in node in the workers, lists it, and reports a broken one without failing', async () => {
    const nodes = expectOk(await daemon.request('GET', '/api/v1/nodes'));
    expect(nodes.items.map((item: { type: string }) => item.type)).to.include('shout');
    expect(JSON.stringify(nodes.plugin_problems)).to.include('exploded');
    const id = await createWorkflow(daemon, workflowBody('plug-in', [node('s', 'shout')]));
    const execution = await runAndWait(daemon, id, 'quiet');
    expect(execution.final_outputs.s.output).to.equal('QUIET');
  });

  it('keeps a metric_tracker history in workflow state when track_history is on', async () => {
    const id = await createWorkflow(
      daemon,
      workflowBody(
        'metrics',
        [node('m', 'metric_tracker', { metrics: { cpu: '{{trigger.cpu}}' }, track_history: true }), node('g', 'state_get', { state_key: 'history:m', namespace: 'metrics' })],
        [link('m', 'success', 'g', 'trigger')],
      ),
    );
    await runAndWait(daemon, id, { cpu: 5 });
    const second = await runAndWait(daemon, id, { cpu: 7 });
    const history = second.final_outputs.g.state_value as Array<{ metrics: { cpu: number } }>;
    expect(history.map((sample) => sample.metrics.cpu)).to.deep.equal([5, 7]);
  });

  it('keeps a result above payload_inline_max_bytes in a file, with a preview in the row', async () => {
    const big = 'x'.repeat(40_000);
    const id = await createWorkflow(daemon, workflowBody('big', [node('big', 'text_input', { text: big })]));
    const execution = await runAndWait(daemon, id, {});
    const results = expectOk(await daemon.request('GET', `/api/v1/executions/${execution.id}/results`)).items;
    const row = results.find((result: { port_name: string }) => result.port_name === 'text');
    expect(row.content).to.equal(null);
    expect(row.byte_size).to.equal(40_000);
    expect(row.content_projection).to.have.length(4000);
    expect(fs.readFileSync(path.join(daemon.dataDir, row.file_path), 'utf8')).to.equal(big);
  });
});
