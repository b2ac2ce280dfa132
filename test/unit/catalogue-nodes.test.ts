import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Piscina } from 'piscina';
import type { Json, NodeResult, NodeTask } from '../../workers/node-contract.js';
import { createNodeRunner } from '../../workers/node-runner.js';
import { setDataDirForTests } from '../../workers/nodes/data-folder.js';
import { builtinNodes } from '../../workers/nodes/index.js';
import { loadPlugins, pluginDefinitions } from '../../workers/plugins.js';

const runner = createNodeRunner(builtinNodes);

function task(nodeType: string, config: Record<string, Json> = {}, inputs: Record<string, Json> = {}, timeoutMs = 5000): NodeTask {
  return { executionId: 'exec-1', nodeId: `${nodeType}-1`, nodeType, config, inputs, trigger: null, attempt: 1, timeoutMs };
}

async function run(nodeType: string, config: Record<string, Json> = {}, inputs: Record<string, Json> = {}, timeoutMs = 5000): Promise<NodeResult> {
  const [result] = await runner({ tasks: [task(nodeType, config, inputs, timeoutMs)] });
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

async function ok(nodeType: string, config: Record<string, Json> = {}, inputs: Record<string, Json> = {}): Promise<Record<string, Json>> {
  return outputsOf(await run(nodeType, config, inputs));
}

async function decide(condition: string, input?: Json): Promise<boolean> {
  const outputs = await ok('decision', { condition }, input === undefined ? {} : { input });
  return (outputs.decision_result as { result: boolean }).result;
}

/** A local OpenAI-compatible fake: answers by path, records what it was sent. */
class FakeChatServer {
  readonly requests: Array<{ url: string; headers: IncomingMessage['headers']; body: Record<string, unknown> }> = [];
  answer = 'Hello from the fake model';
  private server: Server | undefined;
  base = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => this.handle(req, res, body));
    });
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): void {
    this.server?.closeAllConnections();
    this.server?.close();
  }

  private handle(req: IncomingMessage, res: ServerResponse, body: string): void {
    this.requests.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(body || '{}') as Record<string, unknown> });
    const status = /^\/status\/(\d+)\//.exec(req.url ?? '');
    if (status) {
      res.writeHead(Number(status[1]), { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `fake failure ${status[1]}` } }));
    } else if (req.url?.startsWith('/never/')) {
      // Left unanswered, for timeouts.
    } else {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'chatcmpl-1',
        object: 'chat.completion',
        model: 'fake-model-1',
        choices: [{ index: 0, message: { role: 'assistant', content: this.answer }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 },
      }));
    }
  }
}

describe('decision node, simple mode', () => {
  it('follows a boolean input before anything else', async () => {
    expect(await decide('false', true)).to.equal(true);
    expect(await decide('true', false)).to.equal(false);
  });

  it('takes the condition text true/false/yes/no literally, in any case', async () => {
    expect(await decide('true', 'anything')).to.equal(true);
    expect(await decide(' YES ', { score: 0 })).to.equal(true);
    expect(await decide('False', 'anything')).to.equal(false);
    expect(await decide('no', { success: true, value: 99 })).to.equal(false);
  });

  for (const field of ['value', 'result', 'success', 'continue', 'continue_loop']) {
    it(`follows a boolean "${field}" field of an input object`, async () => {
      expect(await decide('proceed?', { [field]: true })).to.equal(true);
      expect(await decide('proceed?', { [field]: false, other: true })).to.equal(false);
    });
  }

  it('checks "contains X" case-insensitively, stringifying non-text input', async () => {
    expect(await decide('contains ERROR', 'an error happened')).to.equal(true);
    expect(await decide('contains error', 'all good')).to.equal(false);
    expect(await decide('contains down', { status: 'DOWN' })).to.equal(true);
    expect(await decide('contains "two words"', 'has Two Words inside')).to.equal(true);
  });

  it('compares thresholds against a number input', async () => {
    expect(await decide('> 5', 6)).to.equal(true);
    expect(await decide('> 5', 5)).to.equal(false);
    expect(await decide('>= 5', 5)).to.equal(true);
    expect(await decide('< 5', 4.5)).to.equal(true);
    expect(await decide('<= 5', 5.1)).to.equal(false);
    expect(await decide('above 0.7', 0.8)).to.equal(true);
    expect(await decide('below 0.7', 0.8)).to.equal(false);
    expect(await decide('> -1', '0')).to.equal(true);
  });

  it('uses the first numeric score field in the order score, value, confidence, rating, result', async () => {
    expect(await decide('> 0.5', { confidence: 0.9 })).to.equal(true);
    expect(await decide('> 0.5', { score: 0.1, confidence: 0.9 })).to.equal(false);
    expect(await decide('above 3', { rating: 4, result: 1 })).to.equal(true);
    expect(await decide('> 10', { value: 'high', result: 20 })).to.equal(true);
  });

  it('is false when a threshold has no numeric score to compare', async () => {
    const outputs = await ok('decision', { condition: '> 1' }, { input: { name: 'x' } });
    expect(outputs.active_path).to.equal('false');
    expect(outputs.details).to.deep.include({ rule: 'threshold' });
  });

  it('is false otherwise, even when the condition text merely contains "yes", "true" or "pass"', async () => {
    expect(await decide('yes please', 'data')).to.equal(false);
    expect(await decide('answer is true if it should pass', 'data')).to.equal(false);
    expect(await decide('is it good?', { quality: 'great' })).to.equal(false);
    const outputs = await ok('decision', { condition: 'yes, if ready' }, { input: 'x' });
    expect(outputs.details).to.deep.include({ rule: 'fallback' });
  });

  it('routes the input to the chosen branch and blocks the other', async () => {
    const chosen = await ok('decision', { condition: '> 1' }, { input: { score: 2 } });
    expect(chosen).to.deep.include({ true: { score: 2 }, active_path: 'true' });
    expect(chosen).to.not.have.property('false');
    expect(chosen.blocked_outputs).to.deep.equal(['false']);
    expect(chosen.decision_result).to.deep.include({ result: true, mode: 'simple' });
    expect((chosen.decision_result as { reasoning: string }).reasoning).to.be.a('string');
    const other = await ok('decision', { condition: '> 1', include_reasoning: false }, { input: 0 });
    expect(other).to.deep.include({ false: 0, active_path: 'false', blocked_outputs: ['true'] });
    expect(other).to.not.have.property('true');
    expect(other.decision_result).to.deep.equal({ result: false, mode: 'simple' });
  });

  it('fails a missing condition or an unknown mode as invalid_config', async () => {
    expect(errorOf(await run('decision', {}, { input: true }))).to.include({ code: 'invalid_config', retryable: false });
    expect(errorOf(await run('decision', { condition: 'x', evaluation_mode: 'magic' }))).to.include({ code: 'invalid_config', retryable: false });
  });
});

describe('or node', () => {
  it('priority (the default) picks the first non-null input in port order', async () => {
    const outputs = await ok('or', {}, { input1: null, input3: 'c', input2: 'b' });
    expect(outputs).to.deep.equal({
      output: 'b',
      metadata: { merge_strategy: 'priority', selected_input: 'input2', available_inputs: ['input1', 'input2', 'input3'] },
    });
  });

  it('first picks the first delivered input, even a null one', async () => {
    expect((await ok('or', { merge_strategy: 'first' }, { input4: 4, input2: 2 })).output).to.equal(2);
    expect((await ok('or', { merge_strategy: 'first' }, { input1: null, input2: 2 })).metadata).to.deep.include({ selected_input: 'input1' });
  });

  it('combine merges plain objects and lists anything else', async () => {
    expect((await ok('or', { merge_strategy: 'combine' }, { input1: { a: 1 }, input2: { b: 2, a: 3 } })).output).to.deep.equal({ a: 3, b: 2 });
    const listed = await ok('or', { merge_strategy: 'combine' }, { input1: 'x', input3: { b: 2 } });
    expect(listed.output).to.deep.equal(['x', { b: 2 }]);
    expect(listed.metadata).to.deep.include({ selected_input: ['input1', 'input3'] });
    const hostile = JSON.parse('{"__proto__": {"polluted": true}}') as Json;
    const merged = await ok('or', { merge_strategy: 'combine' }, { input1: hostile, input2: { a: 1 } });
    expect(Object.keys(merged.output as object)).to.deep.equal(['__proto__', 'a']);
  });

  it('outputs null when nothing usable arrived, and refuses unknown strategies', async () => {
    expect(await ok('or', {}, { input1: null })).to.deep.include({ output: null });
    expect(errorOf(await run('or', { merge_strategy: 'all' }, { input1: 1 }))).to.include({ code: 'invalid_config' });
  });
});

describe('virtual_time node', () => {
  it('starts at start_datetime on iteration 1 and steps an hour by default', async () => {
    expect(await ok('virtual_time', {}, { iteration_number: 1 })).to.deep.equal({
      virtual_datetime: '2025-01-01 00:00:00',
      virtual_timestamp: 1735689600,
      virtual_day: 'Wednesday',
      time_step_hours: 1,
    });
    expect((await ok('virtual_time', {}, { iteration_number: 26 })).virtual_datetime).to.equal('2025-01-02 01:00:00');
  });

  it('steps by days and weeks from a configured start', async () => {
    const days = await ok('virtual_time', { start_datetime: '2024-02-27 08:30:00', time_step_value: 2, time_step_unit: 'days' }, { iteration_number: 3 });
    expect(days).to.deep.include({ virtual_datetime: '2024-03-02 08:30:00', virtual_day: 'Saturday', time_step_hours: 48 });
    const weeks = await ok('virtual_time', { time_step_unit: 'weeks', time_step_value: '1' }, { iteration_number: '2' });
    expect(weeks).to.deep.include({ virtual_datetime: '2025-01-08 00:00:00', virtual_timestamp: 1735689600 + 7 * 86400, time_step_hours: 168 });
  });

  it('refuses a bad unit, start or iteration number', async () => {
    expect(errorOf(await run('virtual_time', { time_step_unit: 'months' }, { iteration_number: 1 })).code).to.equal('invalid_config');
    expect(errorOf(await run('virtual_time', { start_datetime: '2025-02-30' }, { iteration_number: 1 })).code).to.equal('invalid_config');
    expect(errorOf(await run('virtual_time', {}, { iteration_number: 0 })).code).to.equal('invalid_input');
    expect(errorOf(await run('virtual_time')).code).to.equal('missing_input');
  });
});

describe('metric_tracker node', () => {
  it('keeps numeric metrics, drops the rest with a note, and echoes track_history', async () => {
    const outputs = await ok('metric_tracker', { track_history: true }, { metrics: { cpu: 0.5, mem: '42', host: 'a', nested: { x: 1 } } });
    expect(outputs).to.deep.include({ success: true, current_metrics: { cpu: 0.5, mem: 42 }, track_history: true });
    expect(outputs.notes).to.have.length(2);
    expect(String(outputs.notes)).to.include('"host"');
    expect((await ok('metric_tracker', {}, { metrics: '{"a": 1}' })).track_history).to.equal(false);
  });

  it('requires a metrics object', async () => {
    expect(errorOf(await run('metric_tracker')).code).to.equal('missing_input');
    expect(errorOf(await run('metric_tracker', {}, { metrics: [1, 2] })).code).to.equal('invalid_input');
  });
});

describe('anomaly_detector node', () => {
  const rules: Json = [
    { metric: 'cpu', condition: 'greater_than', threshold: 0.9, severity: 'high', description: 'CPU hot' },
    { metric: 'free_disk', condition: 'less_than', threshold: 10, severity: 'critical' },
    { metric: 'status', condition: 'not_equals', threshold: 'ok', severity: 'low' },
    { metric: 'errors', condition: 'equals', threshold: 0, severity: 'medium' },
    { metric: 'db.latency_ms', condition: 'greater_than', threshold: '200' },
  ];

  it('reports normal when no rule holds', async () => {
    const outputs = await ok('anomaly_detector', { rules }, { metrics: { cpu: 0.2, free_disk: 50, status: 'ok', errors: 3, db: { latency_ms: 20 } } });
    expect(outputs).to.deep.equal({ normal: true, anomaly_detected: false, anomalies: [], severity: 'none' });
  });

  it('lists every rule that holds and reports the highest severity', async () => {
    const outputs = await ok('anomaly_detector', { rules }, { metrics: { cpu: 0.95, status: 'degraded', errors: '0', db: { latency_ms: 250 } } });
    expect(outputs).to.deep.include({ normal: false, anomaly_detected: true, severity: 'high' });
    expect(outputs.anomalies).to.deep.equal([
      { metric: 'cpu', value: 0.95, condition: 'greater_than', threshold: 0.9, severity: 'high', description: 'CPU hot' },
      { metric: 'status', value: 'degraded', condition: 'not_equals', threshold: 'ok', severity: 'low', description: 'status not_equals "ok"' },
      { metric: 'errors', value: '0', condition: 'equals', threshold: 0, severity: 'medium', description: 'errors equals 0' },
      { metric: 'db.latency_ms', value: 250, condition: 'greater_than', threshold: '200', severity: 'medium', description: 'db.latency_ms greater_than "200"' },
    ]);
    expect((await ok('anomaly_detector', { rules }, { metrics: { free_disk: 3 } })).severity).to.equal('critical');
  });

  it('refuses malformed rules', async () => {
    const metrics = { cpu: 1 };
    expect(errorOf(await run('anomaly_detector', { rules: [{ metric: 'cpu', condition: 'between', threshold: 1 }] }, { metrics })).code).to.equal('invalid_config');
    expect(errorOf(await run('anomaly_detector', { rules: [{ metric: 'cpu', condition: 'less_than', threshold: 'x' }] }, { metrics })).code).to.equal('invalid_config');
    expect(errorOf(await run('anomaly_detector', { rules: [{ metric: 'cpu', condition: 'equals', threshold: 1, severity: 'urgent' }] }, { metrics })).code).to.equal('invalid_config');
  });
});

describe('event_logger node', () => {
  it('outputs the event for the engine to log, with event_data', async () => {
    const outputs = await ok('event_logger', { event_type: 'order', message: 'placed', level: 'WARNING' }, { event_data: { id: 7 } });
    expect(outputs).to.deep.equal({ success: true, logged: { event_type: 'order', message: 'placed', level: 'warn', data: { id: 7 } } });
    expect((await ok('event_logger', { event_type: 'a', message: 'b' })).logged).to.deep.include({ level: 'info', data: null });
  });

  it('requires event_type and message and a known level', async () => {
    expect(errorOf(await run('event_logger', { message: 'b' })).code).to.equal('invalid_config');
    expect(errorOf(await run('event_logger', { event_type: 'a', message: 'b', level: 'loud' })).code).to.equal('invalid_config');
  });
});

describe('csv nodes', () => {
  let root: string;
  let outside: string;

  before(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'tav-csv-'));
    outside = await mkdtemp(path.join(tmpdir(), 'tav-outside-'));
    await writeFile(path.join(outside, 'secret.csv'), 'a,b\n1,2\n');
    setDataDirForTests(root);
  });

  after(async () => {
    setDataDirForTests(undefined);
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('writes objects to exports/ and reads them back unchanged', async () => {
    const rows: Json = [
      { name: 'Smith, Ann', quote: 'said "hi"', note: 'line one\r\nline two', n: 3, empty: null },
      { name: ' padded ', quote: '', note: 'ünïcødé 🎉', n: -1.5, extra: true },
    ];
    const written = await ok('csv_writer', { filename: 'people.csv' }, { data: rows });
    expect(written.file).to.equal('exports/people.csv');
    const text = await readFile(path.join(root, 'exports', 'people.csv'), 'utf8');
    expect(written.result).to.deep.equal({ path: 'exports/people.csv', rows: 2, bytes: Buffer.byteLength(text) });
    expect(text.split('\r\n')[0]).to.equal('name,quote,note,n,empty,extra');
    const read = await ok('csv_reader', {}, { file: written.file as string });
    expect(read.headers).to.deep.equal(['name', 'quote', 'note', 'n', 'empty', 'extra']);
    expect(read.data).to.deep.equal([
      { name: 'Smith, Ann', quote: 'said "hi"', note: 'line one\r\nline two', n: '3', empty: '', extra: '' },
      { name: ' padded ', quote: '', note: 'ünïcødé 🎉', n: '-1.5', empty: '', extra: 'true' },
    ]);
    expect(read.metadata).to.deep.equal({ rows: 2, columns: 6, source: 'file', path: 'exports/people.csv' });
  });

  it('writes lists as rows with the configured header, delimiter and columns', async () => {
    const written = await ok('csv_writer', { filename: 'rows.tsv', delimiter: '\\t', columns: ['a', 'b'] }, { data: [[1, 'x\ty'], [2, null]] });
    expect(await readFile(path.join(root, 'exports', 'rows.tsv'), 'utf8')).to.equal('a\tb\r\n1\t"x\ty"\r\n2\t\r\n');
    const read = await ok('csv_reader', { delimiter: 'tab', has_header: false, skip_rows: 1 }, { file: { path: written.file as string } });
    expect(read.data).to.deep.equal([['1', 'x\ty'], ['2', '']]);
    expect(read.headers).to.deep.equal(['column_1', 'column_2']);
    const picked = await ok('csv_writer', { filename: 'picked.csv', columns: ['b'], include_headers: false }, { data: [{ a: 1, b: 2 }] });
    expect(await readFile(path.join(root, picked.file as string), 'utf8')).to.equal('2\r\n');
  });

  it('names the file from the template and drops any folder part of it', async () => {
    const before = Date.now();
    const stamped = await ok('csv_writer', {}, { data: [{ a: 1 }] });
    const stamp = Number(/^exports\/export_(\d+)\.csv$/.exec(stamped.file as string)?.[1]);
    expect(stamp).to.be.within(before, Date.now());
    const escaped = await ok('csv_writer', { filename: '../../evil.csv' }, { data: [{ a: 1 }] });
    expect(escaped.file).to.equal('exports/evil.csv');
    expect(existsSync(path.join(root, 'exports', 'evil.csv'))).to.equal(true);
    expect(errorOf(await run('csv_writer', { filename: 'sub/..' }, { data: [] })).code).to.equal('invalid_config');
  });

  it('parses CSV text: quoted delimiters, escaped quotes, CRLF, blank lines, ragged rows', async () => {
    const text = '\uFEFFid,"name, full",note\r\n1,"Doe, ""JD"" John","multi\nline"\r\n\r\n2,Lee\r\n3,"x",y,extra\r\n';
    const read = await ok('csv_reader', {}, { file: text });
    expect(read.headers).to.deep.equal(['id', 'name, full', 'note', 'column_4']);
    expect(read.data).to.deep.equal([
      { id: '1', 'name, full': 'Doe, "JD" John', note: 'multi\nline', column_4: null },
      { id: '2', 'name, full': 'Lee', note: null, column_4: null },
      { id: '3', 'name, full': 'x', note: 'y', column_4: 'extra' },
    ]);
    expect(read.metadata).to.deep.equal({ rows: 3, columns: 4, source: 'text' });
  });

  it('reads one-line text with the delimiter as CSV, extracts columns and names blank headers', async () => {
    expect((await ok('csv_reader', { has_header: false }, { file: 'a,b,"c"' })).data).to.deep.equal([['a', 'b', 'c']]);
    const picked = await ok('csv_reader', { columns_to_extract: ['c', 'a'] }, { file: 'a,b,c\n1,2,3\n' });
    expect(picked).to.deep.include({ headers: ['c', 'a'], data: [{ c: '3', a: '1' }] });
    expect((await ok('csv_reader', {}, { file: 'x,,x\n1,2,3' })).headers).to.deep.equal(['x', 'column_2', 'x_2']);
    expect((await ok('csv_reader', { file: 'from,config\n1,2' })).data).to.deep.equal([{ from: '1', config: '2' }]);
  });

  it('fails bad CSV and bad config without retry', async () => {
    expect(errorOf(await run('csv_reader', {}, { file: 'a,b\n"open,2\n' }))).to.include({ code: 'invalid_csv', retryable: false });
    expect(errorOf(await run('csv_reader', { encoding: 'latin-1' }, { file: 'a,b\n1,2' }))).to.include({ code: 'invalid_config', retryable: false });
    expect(errorOf(await run('csv_reader', { columns_to_extract: ['z'] }, { file: 'a,b\n1,2' })).code).to.equal('invalid_config');
    expect(errorOf(await run('csv_reader', { delimiter: ';;' }, { file: 'a;b\n1;2' })).code).to.equal('invalid_config');
    expect(errorOf(await run('csv_reader', {}, { file: 'missing.csv' }))).to.include({ code: 'file_not_found', retryable: false });
  });

  it('refuses paths that lead outside the data folder', async () => {
    const refused = { code: 'path_outside_data_dir', retryable: false };
    expect(errorOf(await run('csv_reader', {}, { file: '../secret.csv' }))).to.include(refused);
    expect(errorOf(await run('csv_reader', {}, { file: 'exports/../../secret.csv' }))).to.include(refused);
    expect(errorOf(await run('csv_reader', {}, { file: path.join(outside, 'secret.csv') }))).to.include(refused);
    expect(errorOf(await run('csv_reader', {}, { file: { path: path.join(outside, 'secret.csv') } }))).to.include(refused);
    await symlink(path.join(outside, 'secret.csv'), path.join(root, 'link.csv'));
    expect(errorOf(await run('csv_reader', {}, { file: 'link.csv' }))).to.include(refused);
    // An absolute path inside the folder is fine.
    await mkdir(path.join(root, 'in'), { recursive: true });
    await writeFile(path.join(root, 'in', 'ok.csv'), 'a\n1\n');
    expect((await ok('csv_reader', {}, { file: path.join(root, 'in', 'ok.csv') })).data).to.deep.equal([{ a: '1' }]);
  });
});

describe('large_language_model node', () => {
  const fake = new FakeChatServer();
  const ai = (): Json => ({ base_url: `${fake.base}/v1/`, api_key: 'sk-test', model: 'settings-model', temperature: 0.2, max_tokens: 100, timeout_seconds: 5 });

  before(() => fake.start());
  after(() => fake.stop());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.answer = 'Hello from the fake model';
  });

  it('posts a chat completion with the provider settings and outputs the answer', async () => {
    const outputs = await ok('large_language_model', { prompt: 'Say hi', system_prompt: 'Be brief.', __ai: ai() });
    expect(outputs).to.deep.equal({
      response: 'Hello from the fake model',
      usage: { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 },
      model: 'fake-model-1',
      finish_reason: 'stop',
    });
    const [request] = fake.requests;
    expect(request?.url).to.equal('/v1/chat/completions');
    expect(request?.headers.authorization).to.equal('Bearer sk-test');
    expect(request?.body).to.deep.equal({
      model: 'settings-model',
      temperature: 0.2,
      max_tokens: 100,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hi' }],
    });
  });

  it('lets node config win over the settings and falls back to the input port for the prompt', async () => {
    await ok('large_language_model', { model: 'own-model', temperature: '0.9', max_tokens: 5, __ai: ai() }, { input: { ask: 'data' } });
    expect(fake.requests[0]?.body).to.deep.include({ model: 'own-model', temperature: 0.9, max_tokens: 5 });
    expect(fake.requests[0]?.body.messages).to.deep.equal([{ role: 'user', content: '{"ask":"data"}' }]);
    await ok('large_language_model', { prompt: 'from config', __ai: { base_url: fake.base } }, { prompt: 'from port', input: 'trigger' });
    expect(fake.requests[1]?.body).to.deep.equal({ messages: [{ role: 'user', content: 'from port' }] });
    expect(fake.requests[1]?.headers).to.not.have.property('authorization');
  });

  it('fails 5xx as retryable and 401 as not', async () => {
    const server = errorOf(await run('large_language_model', { prompt: 'x', __ai: { base_url: `${fake.base}/status/500/` } }));
    expect(server).to.include({ code: 'http_500', retryable: true });
    expect(server.message).to.include('fake failure 500');
    expect(errorOf(await run('large_language_model', { prompt: 'x', __ai: { base_url: `${fake.base}/status/429/` } }))).to.include({ code: 'http_429', retryable: true });
    expect(errorOf(await run('large_language_model', { prompt: 'x', __ai: { base_url: `${fake.base}/status/401/` } }))).to.include({ code: 'http_401', retryable: false });
  });

  it('fails a silent provider as a retryable timeout, and missing settings or prompt without retry', async () => {
    const slow = await run('large_language_model', { prompt: 'x', __ai: { base_url: `${fake.base}/never/`, timeout_seconds: 0.1 } });
    expect(errorOf(slow)).to.include({ code: 'timeout', retryable: true });
    expect(errorOf(await run('large_language_model', { prompt: 'x' }))).to.include({ code: 'invalid_config', retryable: false });
    expect(errorOf(await run('large_language_model', { __ai: ai() }))).to.include({ code: 'missing_input', retryable: false });
  });

  it('drives decision in intelligent mode', async () => {
    fake.answer = 'TRUE';
    const outputs = await ok('decision', { condition: 'the customer is angry', evaluation_mode: 'intelligent', __ai: ai() }, { input: 'I want a refund NOW' });
    expect(outputs).to.deep.include({ active_path: 'true', true: 'I want a refund NOW' });
    expect(outputs.decision_result).to.deep.include({ result: true, mode: 'intelligent' });
    expect(JSON.stringify(fake.requests[0]?.body.messages)).to.include('the customer is angry');
    fake.answer = 'False. The tone is calm.';
    expect(await ok('decision', { condition: 'angry', evaluation_mode: 'intelligent', __ai: ai() }, { input: 'thanks' })).to.deep.include({ active_path: 'false' });
    fake.answer = 'I cannot tell.';
    expect(errorOf(await run('decision', { condition: 'angry', evaluation_mode: 'intelligent', __ai: ai() }))).to.include({ code: 'unclear_llm_answer', retryable: true });
    expect(errorOf(await run('decision', { condition: 'angry', evaluation_mode: 'intelligent' }))).to.include({ code: 'invalid_config' });
  });
});

describe('plug-in loader', () => {
  let dir: string;

  const good = `export const node = {
  definition: { type: 'shout', category: 'text', description: 'Upper-cases text.', inputs: [{ name: 'text', required: true }], outputs: [{ name: 'text' }], config: [{ name: 'suffix', type: 'string', default: '!' }] },
  run(task) { return { text: String(task.inputs.text).toUpperCase() + task.config.suffix }; },
};
`;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tav-plugins-'));
    await writeFile(path.join(dir, 'a-good.mjs'), good);
    await writeFile(path.join(dir, 'b-throws.mjs'), `throw new Error('plug-in exploded');\n`);
    await writeFile(path.join(dir, 'c-invalid.js'), `export default { definition: { type: 'Bad-Type', category: 'x', description: 'y', inputs: [], outputs: [], config: [] }, run() { return {}; } };\n`);
    await writeFile(path.join(dir, 'd-clash.mjs'), `export const node = { definition: { type: 'decision', category: 'x', description: 'y', inputs: [], outputs: [], config: [] }, run() { return {}; } };\n`);
    await writeFile(path.join(dir, 'e-no-run.mjs'), `export const node = { definition: { type: 'lazy', category: 'x', description: 'y', inputs: [], outputs: [], config: [] } };\n`);
    await writeFile(path.join(dir, 'package.json'), '{"type": "module"}');
    await writeFile(path.join(dir, 'notes.txt'), 'not a plug-in');
    await mkdir(path.join(dir, 'nested.js'));
  });

  after(() => rm(dir, { recursive: true, force: true }));

  it('loads the good plug-in as isolated and lists every bad one as a problem', async () => {
    const { nodes, problems } = await loadPlugins(dir);
    expect(nodes.map((n) => n.definition)).to.deep.equal([{
      type: 'shout',
      category: 'text',
      description: 'Upper-cases text.',
      inputs: [{ name: 'text', required: true }],
      outputs: [{ name: 'text' }],
      config: [{ name: 'suffix', type: 'string', default: '!' }],
      isolation: 'isolated',
    }]);
    expect(problems.map((p) => path.basename(p.file))).to.deep.equal(['b-throws.mjs', 'c-invalid.js', 'd-clash.mjs', 'e-no-run.mjs']);
    expect(problems[0]?.message).to.include('plug-in exploded');
    expect(problems[1]?.message).to.include('definition.type');
    expect(problems[2]?.message).to.include('already taken');
    expect(problems[3]?.message).to.include('run');
    const [result] = await createNodeRunner([...builtinNodes, ...nodes])({ tasks: [task('shout', {}, { text: 'hey' })] });
    expect(outputsOf(result!)).to.deep.equal({ text: 'HEY!' });
  });

  it('gives the main thread the definitions only, and reports an unreadable folder', async () => {
    const { definitions, problems } = await pluginDefinitions(dir);
    expect(definitions.map((d) => d.type)).to.deep.equal(['shout']);
    expect(problems).to.have.length(4);
    const missing = await loadPlugins(path.join(dir, 'no-such-folder'));
    expect(missing.nodes).to.deep.equal([]);
    expect(missing.problems).to.have.length(1);
  });

  it('runs plug-in tasks on a worker started with workerData.pluginDir', async () => {
    const pool = new Piscina({
      filename: new URL('../../workers/node-runner.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: 1,
      workerData: { pluginDir: dir },
    });
    try {
      const results = (await pool.run({ tasks: [task('shout', { suffix: '?' }, { text: 'ok' }), task('or', {}, { input2: 1 })] })) as NodeResult[];
      expect(outputsOf(results[0]!)).to.deep.equal({ text: 'OK?' });
      expect(outputsOf(results[1]!).output).to.equal(1);
    } finally {
      await pool.destroy();
    }
  });
});
