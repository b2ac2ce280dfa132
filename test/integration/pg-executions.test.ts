// The executions family on PostgreSQL against a real server, side by side with the SQLite store: every
// call is made on both with one fake clock, and PostgreSQL must answer what SQLite answers (execution ids
// differ, so each side's ids are replaced by labels before comparing). Also what only PostgreSQL can
// show: increments from two daemons on one key lose nothing. A failing run keeps its schema.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import knexFactory from 'knex';
import { claimSortKey, type EnqueueRequest } from '../../src/domain/event.js';
import type { NodeOutcomeRecord, PayloadLimits } from '../../src/domain/execution.js';
import type { StateOperation } from '../../src/domain/state-operation.js';
import { createLogger } from '../../src/log.js';
import type { ExecutionStore } from '../../src/store/execution-store.js';
import { PgExecutions } from '../../src/store/pg/pg-executions.js';
import { PgQueue } from '../../src/store/pg/pg-queue.js';
import { PgWriter } from '../../src/store/pg/pg-writer.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { Json, NodeResult } from '../../workers/node-contract.js';
import { openPgTestSchema, testPgUrl, type PgTestSchema } from '../helpers/pg-schema.js';
import { runFinish } from '../helpers/queue-backends.js';
import { createBareWorkflow, openTestStore } from '../helpers/store-fixture.js';

const limits: PayloadLimits = { maxChars: 40, inlineMaxBytes: 100 };
const leaseMs = 60_000;

/** One backend as the test drives it: its ExecutionStore, its way to open executions, its ids by label. */
interface Side {
  name: string;
  executions: ExecutionStore;
  resultsDir: string;
  labels: Map<string, string>;
  flush(): Promise<void>;
  /** Enqueues and claims an event of `workflowId`; the new execution's id is known as `label`. */
  open(label: string, workflowId: string, overrides?: Partial<EnqueueRequest>): Promise<string>;
  finish(label: string, status: 'completed' | 'failed'): Promise<void>;
}

describe('PostgreSQL executions family, twin of SQLite', function () {
  const clock = { at: Date.parse('2026-03-01T12:00:00.000Z'), now() { return this.at; } };
  const workflowId = randomUUID();
  const otherWorkflowId = randomUUID();
  let pg: PgTestSchema;
  let sqlite: SqliteStore;
  let sides: Side[];
  let failed = false;

  before(async function () {
    pg = await openPgTestSchema('executions', clock);
    const opened = await openTestStore('pg-executions', clock);
    sqlite = opened.store;
    for (const id of [workflowId, otherWorkflowId]) {
      await pg.db('workflows').insert({ id, name: `wf ${id}`, workflow_data: JSON.stringify({ nodes: [], connections: [] }), is_active: true, created_at: new Date(clock.now()).toISOString() });
      await createBareWorkflow(sqlite, id);
    }
    const queue = new PgQueue(pg.db, clock);
    sides = [
      makeSide('PostgreSQL', new PgExecutions(pg.context), pg.context.resultsDir, () => pg.context.writer.flush(), queue),
      makeSide('SQLite', sqlite, path.join(opened.dataDir, 'results'), () => sqlite.flush(), sqlite),
    ];
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async function () {
    await sqlite?.close();
    await pg?.close(failed);
  });

  function makeSide(name: string, executions: ExecutionStore, resultsDir: string, flush: () => Promise<void>, queue: Pick<PgQueue, 'enqueue' | 'claim' | 'finishRun'>): Side {
    const labels = new Map<string, string>();
    const claims = new Map<string, { id: number; leaseToken: string; executionId: string }>();
    return {
      name,
      executions,
      resultsDir,
      labels,
      flush,
      async open(label, wf, overrides = {}) {
        const request: EnqueueRequest = { workflowId: wf, eventType: 'manual', eventData: { label }, priority: 3, source: 'api', runAt: clock.now(), maxAttempts: 3, dedupKey: null, ...overrides };
        await queue.enqueue(request, claimSortKey(request.priority, request.runAt, 60_000));
        const [claimed] = await queue.claim(1, `daemon-${name}`, leaseMs);
        labels.set(claimed!.executionId, label);
        claims.set(label, claimed!);
        return claimed!.executionId;
      },
      async finish(label, status) {
        await queue.finishRun(runFinish(claims.get(label)!, { executionStatus: status, event: status === 'completed' ? { kind: 'completed' } : { kind: 'failed', error: 'boom' } }));
      },
    };
  }

  /** A value with the side's execution ids replaced by their labels, so both sides compare. */
  function labelled(side: Side, value: unknown): unknown {
    let text = JSON.stringify(value instanceof Map ? Object.fromEntries(value) : value) ?? 'undefined';
    for (const [id, label] of side.labels) text = text.split(id).join(`<${label}>`);
    return JSON.parse(text);
  }

  /** Runs `call` on both sides (after their background writes are committed) and expects the same answer. */
  async function same<T>(call: (side: Side) => Promise<T>, strip: (value: T) => unknown = (value) => value): Promise<T> {
    const answers: unknown[] = [];
    let pgAnswer: T | undefined;
    for (const side of sides) {
      await side.flush();
      const answer = await call(side);
      if (side === sides[0]) pgAnswer = answer;
      answers.push(labelled(side, strip(answer)));
    }
    expect(answers[0], 'PostgreSQL vs SQLite').to.deep.equal(answers[1]);
    return pgAnswer as T;
  }

  function outcome(executionId: string, nodeId: string, outputs: NodeOutcomeRecord['outputs'], extra: Partial<NodeOutcomeRecord> = {}): NodeOutcomeRecord {
    return { executionId, workflowId, nodeId, nodeType: 'transform', attempt: 1, startedAtMs: clock.now(), durationMs: 12.4, outputs, error: null, ...extra };
  }

  async function state(label: string, operation: StateOperation): Promise<NodeResult> {
    return same(
      async (side) => side.executions.runStateNode(operation, { executionId: idOf(side, label), workflowId, nodeId: `state-${operation.kind}`, nodeType: `state_${operation.kind}`, attempt: 1, startedAtMs: clock.now() }, limits),
      (result) => ({ ...result, durationMs: typeof result.durationMs }),
    );
  }

  function idOf(side: Side, label: string): string {
    for (const [id, known] of side.labels) if (known === label) return id;
    throw new Error(`no execution ${label} on ${side.name}`);
  }

  it('logs node starts, outcomes and retries in the order they were made, and pages the logs', async function () {
    for (const side of sides) {
      const id = await side.open('logs', workflowId);
      side.executions.recordNodeStarted(id, 'fetch', 'http_request', 1);
      side.executions.recordNodeOutcome(outcome(id, 'fetch', null, { nodeType: 'http_request', error: { code: 'http_500', message: 'server error', retryable: true } }), limits);
      side.executions.recordNodeRetry(id, 'fetch', 2, 1500, 'server error');
      side.executions.recordNodeStarted(id, 'fetch', 'http_request', 2);
      side.executions.recordNodeOutcome(outcome(id, 'fetch', { status: 200 }, { nodeType: 'http_request', attempt: 2 }), limits);
      side.executions.recordNodeOutcome(outcome(id, 'log', { success: true, logged: { event_type: 'order', message: 'placed', level: 'warn', data: { n: 1 } } }, { nodeType: 'event_logger' }), limits);
    }
    const all = await same((side) => side.executions.listLogs(idOf(side, 'logs'), 100));
    expect(all.map((log) => log.event)).to.deep.equal(['node_started', 'node_failed', 'node_retry', 'node_started', 'node_completed', 'user:order', 'node_completed']);
    expect(all[1]!.data).to.deep.equal({ code: 'http_500', retryable: true });
    expect(all[4]!.duration_ms).to.equal(12);
    expect(all[0]!.created_at).to.equal('2026-03-01T12:00:00.000Z');
    const page = await same((side) => side.executions.listLogs(idOf(side, 'logs'), 2, all[2]!.id));
    expect(page.map((log) => log.id)).to.deep.equal([all[3]!.id, all[4]!.id]);
  });

  it('keeps small results inline and spills a large one to a file that reads back whole', async function () {
    const large = 'x'.repeat(500);
    for (const side of sides) {
      const id = await side.open('results', workflowId);
      side.executions.recordNodeOutcome(outcome(id, 'make', { text: 'hello', list: [1, 2], object: { a: true }, nothing: null, count: 3, big: large }), limits);
    }
    const results = await same((side) => side.executions.listResults(idOf(side, 'results')));
    expect(results.map((result) => [result.port_name, result.data_type])).to.deep.equal([
      ['text', 'text'],
      ['list', 'array'],
      ['object', 'json'],
      ['nothing', 'null'],
      ['count', 'number'],
      ['big', 'text'],
    ]);
    const big = results[5]!;
    expect(big.content).to.equal(null);
    expect(big.content_projection).to.equal(large.slice(0, limits.maxChars));
    expect(big.byte_size).to.equal(500);
    const pgSide = sides[0]!;
    expect(big.file_path).to.equal(path.join('results', idOf(pgSide, 'results'), 'make.big.1.dat'));
    expect(fs.readFileSync(path.join(path.dirname(pgSide.resultsDir), big.file_path!), 'utf8')).to.equal(large);
  });

  it('rebuilds completed nodes of an earlier attempt from their result rows and files', async function () {
    const large = { rows: Array.from({ length: 40 }, (_, i) => i) };
    for (const side of sides) {
      const id = await side.open('resume', workflowId);
      side.executions.recordNodeOutcome(outcome(id, 'done', { out: large, note: 'ok' }), limits);
      side.executions.saveProgress(id, 'parallel', {
        done: { status: 'completed', attempts: 1, completed_at: '2026-03-01T12:00:00.000Z' },
        broken: { status: 'failed', attempts: 2, error: { code: 'x', message: 'y', retryable: false } },
      });
    }
    const previous = await same((side) => side.executions.previousNodeRecords(idOf(side, 'resume')));
    expect(previous.get('done')!.outputs).to.deep.equal({ out: large, note: 'ok' });
    expect(previous.get('broken')!.status).to.equal('failed');
    expect(await same((side) => side.executions.previousNodeRecords('no-such-execution'))).to.have.property('size', 0);
  });

  it('keeps only the newest progress snapshot of a running execution, and none once it finished', async function () {
    for (const side of sides) {
      const id = await side.open('progress', workflowId);
      side.executions.saveProgress(id, 'parallel', { a: { status: 'running', attempts: 1 } });
      side.executions.saveProgress(id, 'sequential', { a: { status: 'completed', attempts: 1 } });
    }
    const view = await same((side) => side.executions.getExecution(idOf(side, 'progress')));
    expect(view!.node_results).to.deep.equal({ a: { status: 'completed', attempts: 1 } });
    expect(view!.execution_mode).to.equal('sequential');
    expect(view!.trigger_data).to.deep.equal({ label: 'progress' });
    expect(view!.started_at).to.equal(new Date(clock.now()).toISOString());
    for (const side of sides) {
      await side.finish('progress', 'completed');
      side.executions.saveProgress(idOf(side, 'progress'), 'parallel', { late: { status: 'running', attempts: 1 } });
    }
    const finished = await same((side) => side.executions.getExecution(idOf(side, 'progress')));
    expect(finished!.status).to.equal('completed');
    expect(finished!.node_results).to.deep.equal({});
    expect(await same((side) => side.executions.getExecution('no-such-execution'))).to.equal(null);
  });

  it('opens and closes loop iterations, closing the newest row of a repeated pass', async function () {
    for (const side of sides) {
      const id = await side.open('loop', workflowId);
      side.executions.recordIterationStarted(id, 'each', 1, 'first');
      side.executions.recordIterationFinished(id, 'each', 1, 'completed', { total: 1 }, null);
      side.executions.recordIterationStarted(id, 'each', 2, 'second');
      side.executions.recordIterationStarted(id, 'each', 2, 'second again');
      side.executions.recordIterationFinished(id, 'each', 2, 'failed', null, 'bad item');
    }
    const iterations = await same((side) => side.executions.listIterations(idOf(side, 'loop')));
    expect(iterations.map((row) => [row.iteration_number, row.status, row.iteration_value, row.error_message])).to.deep.equal([
      [1, 'completed', { label: 'first' }, null],
      [2, 'running', { label: 'second' }, null],
      [2, 'failed', { label: 'second again' }, 'bad item'],
    ]);
    expect(iterations[0]!.outputs).to.deep.equal({ total: 1 });
    expect(iterations[0]!.completed_at).to.equal(new Date(clock.now()).toISOString());
  });

  it('lists executions newest first with every filter and the id cursor', async function () {
    const from = new Date(clock.now()).toISOString();
    clock.at += 1_000;
    for (const side of sides) {
      await side.open('list-1', otherWorkflowId, { source: 'schedule' });
      await side.open('list-2', otherWorkflowId, { source: 'webhook' });
      await side.finish('list-2', 'failed');
      await side.open('list-3', workflowId, { source: 'schedule' });
    }
    const afterFrom = new Date(clock.now()).toISOString();
    const newest = await same((side) => side.executions.listExecutions({ limit: 3 }));
    expect(newest.map((view) => view.id)).to.deep.equal(['list-3', 'list-2', 'list-1'].map((label) => idOf(sides[0]!, label)));
    await same((side) => side.executions.listExecutions({ limit: 10, workflowId: otherWorkflowId }));
    const failedOnes = await same((side) => side.executions.listExecutions({ limit: 10, status: 'failed' }));
    expect(failedOnes).to.have.length(1);
    await same((side) => side.executions.listExecutions({ limit: 10, source: 'schedule' }));
    const started = await same((side) => side.executions.listExecutions({ limit: 10, startedFrom: afterFrom }));
    expect(started).to.have.length(3);
    const before = await same((side) => side.executions.listExecutions({ limit: 10, startedTo: afterFrom, startedFrom: from }));
    expect(before.length).to.be.greaterThan(0);
    const page = await same((side) => side.executions.listExecutions({ limit: 10, beforeId: idOf(side, 'list-2') }));
    expect(page[0]!.id).to.equal(idOf(sides[0]!, 'list-1'));
  });

  it('applies state operations with the same versions, values and error codes', async function () {
    const key = { workflowId, namespace: 'shop', key: 'cart' };
    for (const side of sides) await side.open('state', workflowId);
    const missing = await state('state', { kind: 'get', ...key, defaultValue: { empty: true } });
    expect(missing).to.deep.include({ ok: true, outputs: { state_value: { empty: true }, state_version: 0, last_updated_at: null, found: false, not_found: true } });
    expect((await state('state', { kind: 'update', ...key, updates: { a: 1 }, operation: 'merge', createIfMissing: false })).ok).to.equal(false);
    expect(await state('state', { kind: 'set', ...key, value: { items: 1 }, expiresInSeconds: null })).to.deep.include({ ok: true, outputs: { success: true, state_version: 1 } });
    clock.at += 10;
    await state('state', { kind: 'update', ...key, updates: { items: 2 }, operation: 'increment', createIfMissing: false });
    const merged = await state('state', { kind: 'update', ...key, updates: { owner: 'ann' }, operation: 'merge', createIfMissing: false });
    expect(merged.ok && merged.outputs).to.deep.equal({ success: true, new_value: { items: 3, owner: 'ann' }, state_version: 3 });
    const refused = await state('state', { kind: 'update', ...key, updates: 5, operation: 'increment', createIfMissing: false });
    expect(!refused.ok && refused.error.code).to.equal('not_a_number');
    const found = await state('state', { kind: 'get', ...key, defaultValue: null });
    expect(found.ok && found.outputs.last_updated_at).to.equal(new Date(clock.now()).toISOString());
    await state('state', { kind: 'set', ...key, value: 'plain text', expiresInSeconds: 1.5 });
    expect(await state('state', { kind: 'get', ...key, defaultValue: null })).to.deep.nested.include({ 'outputs.state_value': 'plain text', 'outputs.state_version': 4 });
    clock.at += 2_000;
    expect(await state('state', { kind: 'get', ...key, defaultValue: 0 })).to.deep.nested.include({ 'outputs.found': false });
    expect(await state('state', { kind: 'update', ...key, updates: 4, operation: 'increment', createIfMissing: true })).to.deep.nested.include({ 'outputs.state_version': 1, 'outputs.new_value': 4 });
    expect(await state('state', { kind: 'delete', ...key })).to.deep.include({ outputs: { deleted: true, not_found: false } });
    expect(await state('state', { kind: 'delete', ...key })).to.deep.include({ outputs: { deleted: false, not_found: true } });
    const logs = await same(
      (side) => side.executions.listLogs(idOf(side, 'state'), 100),
      (rows) => rows.map((row) => ({ ...row, duration_ms: typeof row.duration_ms })),
    );
    expect(logs.map((row) => row.event)).to.include('node_failed');
    expect(logs.find((row) => row.event === 'node_failed')!.data).to.deep.equal({ code: 'state_not_found', retryable: false });
    await same((side) => side.executions.listResults(idOf(side, 'state')));
  });

  it('appends metric_tracker samples to the workflow history', async function () {
    for (const side of sides) {
      const id = await side.open('metrics', workflowId);
      for (const value of [1, 2, 3]) {
        side.executions.recordNodeOutcome(outcome(id, 'meter', { track_history: true, current_metrics: { value } }, { nodeType: 'metric_tracker' }), limits);
      }
    }
    const history = await state('metrics', { kind: 'get', workflowId, namespace: 'metrics', key: 'history:meter', defaultValue: [] });
    expect(history.ok && history.outputs.state_value).to.deep.equal([1, 2, 3].map((value) => ({ recorded_at: new Date(clock.now()).toISOString(), metrics: { value } })));
    expect(history.ok && history.outputs.state_version).to.equal(3);
  });

  it('loses no increment when two daemons update one key at once', async function () {
    const second = knexFactory({ client: 'pg', connection: testPgUrl, searchPath: [pg.schema], pool: { min: 0, max: 4 } });
    const writer = new PgWriter(second, { maxBatch: 500, log: createLogger('error', { silent: true }) });
    try {
      const daemons = [new PgExecutions(pg.context), new PgExecutions({ ...pg.context, db: second, writer })];
      const id = await sides[0]!.open('race', workflowId);
      const op: StateOperation = { kind: 'update', workflowId, namespace: 'race', key: 'hits', updates: { n: 1 }, operation: 'increment', createIfMissing: true };
      const base = { executionId: id, workflowId, nodeId: 'hit', nodeType: 'state_update', attempt: 1, startedAtMs: clock.now() };
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => daemons[i % 2]!.runStateNode(op, base, limits)));
      const versions = results.map((result) => (result.ok ? (result.outputs.state_version as number) : -1)).sort((a, b) => a - b);
      expect(versions).to.deep.equal(Array.from({ length: 40 }, (_, i) => i + 1));
      const final = await daemons[0]!.runStateNode({ kind: 'get', workflowId, namespace: 'race', key: 'hits', defaultValue: null }, base, limits);
      expect(final.ok && (final.outputs.state_value as Json)).to.deep.equal({ n: 40 });
    } finally {
      await writer.close();
      await second.destroy();
    }
  });
});
