import { once } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import type { Json, NodeModule, NodeResult, NodeTask } from '../../workers/node-contract.js';
import runNodeBatch, { createNodeRunner } from '../../workers/node-runner.js';
import { builtinNodes, nodeDefinitions, testFixtureNodes } from '../../workers/nodes/index.js';

function task(nodeType: string, config: Record<string, Json> = {}, inputs: Record<string, Json> = {}, timeoutMs = 5000): NodeTask {
  return { executionId: 'exec-1', nodeId: `${nodeType}-1`, nodeType, config, inputs, trigger: null, attempt: 1, timeoutMs };
}

async function runOne(t: NodeTask, runner = runNodeBatch): Promise<NodeResult> {
  const [result] = await runner({ tasks: [t] });
  if (result === undefined) throw new Error('runner returned no result');
  return result;
}

function outputsOf(result: NodeResult): Record<string, Json> {
  if (!result.ok) throw new Error(`expected success, got ${result.error.code}: ${result.error.message}`);
  return result.outputs;
}

function errorOf(result: NodeResult): { code: string; message: string; retryable: boolean } {
  if (result.ok) throw new Error(`expected failure, got ${JSON.stringify(result.outputs)}`);
  return result.error;
}

const softError: NodeModule = {
  definition: { type: 'soft_error', category: 'test', description: 'reports an error in its outputs', inputs: [], outputs: [], config: [{ name: 'outputs', type: 'object', default: {} }], isolation: 'batched' },
  run: (t) => t.config.outputs as Record<string, Json>,
};
const throwsShaped: NodeModule = {
  definition: { type: 'throws_shaped', category: 'test', description: 'throws a plain coded object', inputs: [], outputs: [], config: [], isolation: 'batched' },
  run: () => {
    throw { code: 'shaped_failure', message: 'plain object', retryable: true };
  },
};
const throwsPlain: NodeModule = {
  definition: { type: 'throws_plain', category: 'test', description: 'throws an ordinary Error synchronously', inputs: [], outputs: [], config: [], isolation: 'batched' },
  run: () => {
    throw new Error('plain boom');
  },
};

const withFixtures = createNodeRunner([...builtinNodes, ...testFixtureNodes, softError, throwsShaped, throwsPlain]);

describe('node runner', () => {
  it('answers unknown node types with a non-retryable failure', async () => {
    expect(errorOf(await runOne(task('no_such_node')))).to.include({ code: 'unknown_node_type', retryable: false });
  });

  it('leaves test fixtures out unless the worker enables them', async () => {
    expect(errorOf(await runOne(task('test_echo'))).code).to.equal('unknown_node_type');
    expect(outputsOf(await runOne(task('test_echo', { value: 1 }), withFixtures))).to.deep.equal({ output: 1 });
    const builtins = nodeDefinitions(false).map((d) => d.type);
    expect(builtins).to.include.members(['text_input', 'text_display', 'json_parser', 'http_request', 'delay', 'decision', 'or', 'csv_reader', 'large_language_model']);
    expect(builtins.some((type) => type.startsWith('test_'))).to.equal(false);
    expect(nodeDefinitions(true).filter((d) => d.type.startsWith('test_'))).to.have.length(6);
  });

  it('returns one result per task in order when good and failing tasks share a batch', async () => {
    const results = await withFixtures({
      tasks: [task('test_slow', { ms: 30 }, { input: 'slow' }), task('test_fail'), task('test_echo', {}, { input: 'fast' })],
    });
    expect(results.map((r) => r.ok)).to.deep.equal([true, false, true]);
    expect(outputsOf(results[0]!)).to.deep.equal({ output: 'slow' });
    expect(errorOf(results[1]!).code).to.equal('fixture_failure');
    expect(outputsOf(results[2]!)).to.deep.equal({ output: 'fast' });
    for (const r of results) expect(r.durationMs).to.be.a('number').and.at.least(0);
  });

  it('keeps the code and retryability of a NodeFailure', async () => {
    const result = await runOne(task('test_fail', { code: 'upstream_down', message: 'try later', retryable: true }), withFixtures);
    expect(errorOf(result)).to.deep.equal({ code: 'upstream_down', message: 'try later', retryable: true });
  });

  it('recognises a coded failure by shape, not class', async () => {
    expect(errorOf(await runOne(task('throws_shaped'), withFixtures))).to.deep.equal({ code: 'shaped_failure', message: 'plain object', retryable: true });
  });

  it('turns any other throw, even a synchronous one, into node_error', async () => {
    expect(errorOf(await runOne(task('throws_plain'), withFixtures))).to.deep.equal({ code: 'node_error', message: 'plain boom', retryable: false });
  });

  for (const kind of ['function', 'string', 'null', 'array', 'cyclic', 'nan', 'date']) {
    it(`rejects ${kind} outputs as invalid_outputs`, async () => {
      expect(errorOf(await runOne(task('test_garbage', { kind }), withFixtures))).to.include({ code: 'invalid_outputs', retryable: false });
    });
  }

  it('fails a node that reports an error in its outputs', async () => {
    const reported = await runOne(task('soft_error', { outputs: { error: 'quota exceeded' } }), withFixtures);
    expect(errorOf(reported)).to.deep.equal({ code: 'node_reported_error', message: 'quota exceeded', retryable: false });
    const structured = await runOne(task('soft_error', { outputs: { error: { reason: 'x' } } }), withFixtures);
    expect(errorOf(structured).message).to.equal('{"reason":"x"}');
    const unsuccessful = await runOne(task('soft_error', { outputs: { success: false } }), withFixtures);
    expect(errorOf(unsuccessful).code).to.equal('node_reported_error');
    expect((await runOne(task('soft_error', { outputs: { success: true, error: null } }), withFixtures)).ok).to.equal(true);
  });

  it('times out a body that ignores its abort signal but leaves the thread free', async () => {
    const result = await runOne(task('test_hang', { mode: 'pending' }, {}, 50), withFixtures);
    expect(errorOf(result)).to.include({ code: 'timeout', retryable: true });
    expect(result.durationMs).to.be.below(1000);
  });

  it('refuses to block or crash the main thread', async () => {
    expect(errorOf(await runOne(task('test_hang'), withFixtures)).code).to.equal('fixture_main_thread');
    expect(errorOf(await runOne(task('test_crash'), withFixtures)).code).to.equal('fixture_main_thread');
  });

  it('fails a missing required input and a mistyped config key without retry', async () => {
    expect(errorOf(await runOne(task('text_display')))).to.include({ code: 'missing_input', retryable: false });
    expect(errorOf(await runOne(task('delay', { seconds: 'soon' })))).to.include({ code: 'invalid_config', retryable: false });
    expect(errorOf(await runOne(task('http_request')))).to.include({ code: 'invalid_config', retryable: false });
  });
});

describe('text nodes', () => {
  it('text_input outputs its configured text, empty by default', async () => {
    expect(outputsOf(await runOne(task('text_input', { text: 'hello' })))).to.deep.equal({ text: 'hello' });
    expect(outputsOf(await runOne(task('text_input')))).to.deep.equal({ text: '' });
  });

  it('text_display counts characters, words and lines', async () => {
    const outputs = outputsOf(await runOne(task('text_display', {}, { text: 'one two\nthree 🎉' })));
    expect(outputs).to.deep.equal({
      text: 'one two\nthree 🎉',
      preview_data: { type: 'text', text: 'one two\nthree 🎉', char_count: 15, word_count: 4, line_count: 2, is_truncated: false },
    });
  });

  it('text_display cuts the preview at max_preview_length, given as a rendered string', async () => {
    const outputs = outputsOf(await runOne(task('text_display', { max_preview_length: '4' }, { text: 'ab🎉cdef' })));
    expect(outputs.preview_data).to.deep.include({ text: 'ab🎉c', char_count: 7, is_truncated: true });
  });

  it('text_display stringifies non-text and takes text from config when the port is empty', async () => {
    expect(outputsOf(await runOne(task('text_display', {}, { text: { a: [1] } }))).text).to.equal('{"a":[1]}');
    expect(outputsOf(await runOne(task('text_display', { text: 'from config' }))).text).to.equal('from config');
    expect(outputsOf(await runOne(task('text_display', { text: 'from config' }, { text: 'from port' }))).text).to.equal('from port');
  });
});

describe('json_parser', () => {
  it('parses JSON text and describes it', async () => {
    expect(outputsOf(await runOne(task('json_parser', {}, { text: '{"a":1,"b":[2]}' })))).to.deep.equal({
      data: { a: 1, b: [2] },
      metadata: { success: true, type: 'object', size: 2, extracted: false },
    });
  });

  it('unwraps a ```json fence', async () => {
    const outputs = outputsOf(await runOne(task('json_parser', {}, { text: 'Here:\n```json\n[1, 2, 3]\n```\nDone.' })));
    expect(outputs).to.deep.equal({ data: [1, 2, 3], metadata: { success: true, type: 'array', size: 3, extracted: true } });
  });

  it('finds JSON inside prose unless strict', async () => {
    const text = 'The answer is {"ok": true} as requested.';
    expect(outputsOf(await runOne(task('json_parser', {}, { text }))).data).to.deep.equal({ ok: true });
    expect(errorOf(await runOne(task('json_parser', { strict_mode: true }, { text })))).to.include({ code: 'invalid_json', retryable: false });
  });

  it('fails invalid JSON as invalid_json, not retryable', async () => {
    expect(errorOf(await runOne(task('json_parser', {}, { text: '{nope' })))).to.include({ code: 'invalid_json', retryable: false });
    expect(errorOf(await runOne(task('json_parser', { extract_from_markdown: false, strict_mode: true }, { text: '```json\n{}\n```' }))).code).to.equal('invalid_json');
  });
});

describe('delay', () => {
  it('passes its input through after the wait', async () => {
    expect(outputsOf(await runOne(task('delay', { seconds: 0.02 }, { input: { n: 1 } })))).to.deep.equal({ output: { n: 1 } });
  });

  it('stops waiting when the task times out', async () => {
    const result = await runOne(task('delay', { seconds: 10 }, {}, 50));
    expect(errorOf(result)).to.include({ code: 'timeout', retryable: true });
    expect(result.durationMs).to.be.below(1000);
  });
});

describe('http_request', () => {
  let server: Server;
  let base: string;

  function handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const status = Number(url.pathname.split('/')[2]);
    if (url.pathname === '/echo') {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-test': 'yes' });
      res.end(JSON.stringify({ method: req.method, query: Object.fromEntries(url.searchParams), headers: req.headers, body }));
    } else if (url.pathname === '/text') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('plain answer');
    } else if (url.pathname.startsWith('/status/')) {
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`status ${status}`);
    } else if (url.pathname === '/redirect') {
      res.writeHead(302, { location: '/text' });
      res.end();
    }
    // Any other path (/never) is left unanswered, for timeouts.
  }

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => handle(req, res, body));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  async function echo(config: Record<string, Json>, inputs: Record<string, Json> = {}): Promise<{ method: string; query: Record<string, string>; headers: Record<string, string>; body: string }> {
    const outputs = outputsOf(await runOne(task('http_request', { url: `${base}/echo`, ...config }, inputs)));
    return outputs.response as never;
  }

  it('returns parsed JSON, status, headers and success on 200', async () => {
    const outputs = outputsOf(await runOne(task('http_request', { url: `${base}/echo`, query_params: { q: 'a b', n: 2 } })));
    expect(outputs.status_code).to.equal(200);
    expect(outputs.success).to.equal(true);
    expect(outputs.headers).to.include({ 'x-test': 'yes' });
    expect(outputs.response).to.deep.include({ method: 'GET', query: { q: 'a b', n: '2' } });
  });

  it('returns text when the response is not JSON, and follows redirects by default', async () => {
    expect(outputsOf(await runOne(task('http_request', { url: `${base}/text` }))).response).to.equal('plain answer');
    expect(outputsOf(await runOne(task('http_request', { url: `${base}/redirect` }))).response).to.equal('plain answer');
    const kept = outputsOf(await runOne(task('http_request', { url: `${base}/redirect`, follow_redirects: false })));
    expect(kept).to.deep.include({ status_code: 302 });
    expect(kept.headers).to.include({ location: '/text' });
  });

  it('sends the config body as JSON, else the data input', async () => {
    const fromConfig = await echo({ method: 'post', body: { a: 1 } });
    expect(fromConfig).to.include({ method: 'POST', body: '{"a":1}' });
    expect(fromConfig.headers['content-type']).to.equal('application/json');
    expect((await echo({ method: 'PUT' }, { data: [1, 2] })).body).to.equal('[1,2]');
    const form = await echo({ method: 'POST', body_type: 'form', body: { a: 'x y', b: 2 } });
    expect(form.body).to.equal('a=x+y&b=2');
    expect(form.headers['content-type']).to.equal('application/x-www-form-urlencoded');
  });

  it('fails 500 as retryable, 404 as not, 429 as retryable', async () => {
    expect(errorOf(await runOne(task('http_request', { url: `${base}/status/500` })))).to.include({ code: 'http_500', retryable: true });
    expect(errorOf(await runOne(task('http_request', { url: `${base}/status/404` })))).to.include({ code: 'http_404', retryable: false });
    expect(errorOf(await runOne(task('http_request', { url: `${base}/status/429` })))).to.include({ code: 'http_429', retryable: true });
    expect(errorOf(await runOne(task('http_request', { url: `${base}/status/408` })))).to.include({ code: 'http_408', retryable: true });
  });

  it('sends basic, bearer and api key header auth', async () => {
    const basic = await echo({ auth_type: 'basic', username: 'ann', password: 'pw' });
    expect(basic.headers.authorization).to.equal(`Basic ${Buffer.from('ann:pw').toString('base64')}`);
    expect((await echo({ auth_type: 'bearer', token: 't0k' })).headers.authorization).to.equal('Bearer t0k');
    expect((await echo({ auth_type: 'api_key_header', api_key: 'k1' })).headers['x-api-key']).to.equal('k1');
    expect((await echo({ auth_type: 'api_key_header', api_key: 'k1', api_key_name: 'X-Key' })).headers['x-key']).to.equal('k1');
  });

  it('sends api key query auth', async () => {
    expect((await echo({ auth_type: 'api_key_query', api_key: 'k2' })).query).to.deep.equal({ api_key: 'k2' });
    expect((await echo({ auth_type: 'api_key_query', api_key: 'k2', api_key_name: 'key' })).query).to.deep.equal({ key: 'k2' });
  });

  it('reads auth fields from a decrypted credential', async () => {
    const bearer = await echo({ auth_type: 'credential', credential: { token: 'from-vault' } });
    expect(bearer.headers.authorization).to.equal('Bearer from-vault');
    const keyed = await echo({ auth_type: 'credential', credential: { auth_type: 'api_key_query', api_key: 'v' } });
    expect(keyed.query).to.deep.equal({ api_key: 'v' });
    expect(errorOf(await runOne(task('http_request', { url: `${base}/echo`, auth_type: 'credential' })))).to.include({ code: 'missing_credential', retryable: false });
  });

  it('fails a slow server as a retryable timeout', async () => {
    const result = await runOne(task('http_request', { url: `${base}/never`, timeout: 0.1 }));
    expect(errorOf(result)).to.include({ code: 'timeout', retryable: true });
    expect(result.durationMs).to.be.below(1000);
  });

  it('fails an unreachable server as a retryable network error', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    expect(errorOf(await runOne(task('http_request', { url: `http://127.0.0.1:${port}/` })))).to.include({ code: 'http_network_error', retryable: true });
  });
});
