// The store contract, state part: workflow_state as state nodes use it (semantics §7), through
// store.runStateNode and, for metric_tracker history, store.recordNodeOutcome, on SQLite and PostgreSQL
// alike (test/helpers/contract.ts). Versions start at 1 and rise by one per change; a refused update
// answers with its StateOperationError code, changes nothing and is recorded as a failed node; a TTL is
// measured on the injected clock. Two daemons incrementing one key on PostgreSQL is pg-executions.test.ts.
import { expect } from 'chai';
import { isoAt } from '../../src/domain/clock.js';
import type { PayloadLimits } from '../../src/domain/execution.js';
import type { StateOperation } from '../../src/domain/state-operation.js';
import type { OpenedStore } from '../../src/store/open-store.js';
import { metricHistoryLimit } from '../../src/store/state-values.js';
import type { Json, NodeResult, PortValues } from '../../workers/node-contract.js';
import { forEachBackend } from '../helpers/contract.js';

const limits: PayloadLimits = { maxChars: 1_000, inlineMaxBytes: 16_384 };

forEachBackend('store contract: state', (backend) => {
  const { clock } = backend;
  let store: OpenedStore;
  let workflowId: string;
  let executionId: string;

  beforeEach(async function () {
    store = backend.store;
    workflowId = await backend.createWorkflow();
    executionId = (await backend.startRun(workflowId)).executionId;
  });

  const at = (key: string, namespace = 'default', workflow = workflowId) => ({ workflowId: workflow, namespace, key });

  function run(operation: StateOperation, nodeId = 'state'): Promise<NodeResult> {
    return store.runStateNode(operation, { executionId, workflowId, nodeId, nodeType: `state_${operation.kind}`, attempt: 1, startedAtMs: clock.now() }, limits);
  }

  async function outputs(operation: StateOperation): Promise<PortValues> {
    const result = await run(operation);
    if (!result.ok) expect.fail(`${operation.kind} refused: ${result.error.code}`);
    return result.outputs;
  }

  const get = (key: string, defaultValue: Json = null, namespace?: string, workflow?: string) => outputs({ kind: 'get', ...at(key, namespace, workflow), defaultValue });
  const set = (key: string, value: Json, expiresInSeconds: number | null = null, namespace?: string, workflow?: string) =>
    outputs({ kind: 'set', ...at(key, namespace, workflow), value, expiresInSeconds });
  const update = (key: string, updates: Json, operation: 'merge' | 'increment', createIfMissing = false): StateOperation => ({ kind: 'update', ...at(key), updates, operation, createIfMissing });

  it('sets, gets and deletes a key, its version counted from 1 and rising by one per set', async function () {
    expect(await get('cart', { empty: true })).to.deep.equal({ state_value: { empty: true }, state_version: 0, last_updated_at: null, found: false, not_found: true });
    expect(await set('cart', { items: 1 })).to.deep.equal({ success: true, state_version: 1 });
    expect(await get('cart')).to.deep.equal({ state_value: { items: 1 }, state_version: 1, last_updated_at: isoAt(clock.now()), found: true, not_found: false });
    clock.at += 1_000;
    expect(await set('cart', { items: 2 })).to.deep.equal({ success: true, state_version: 2 });
    expect(await get('cart')).to.deep.include({ state_value: { items: 2 }, state_version: 2, last_updated_at: isoAt(clock.now()) });
    expect(await outputs({ kind: 'delete', ...at('cart') })).to.deep.equal({ deleted: true, not_found: false });
    expect(await get('cart', 'gone')).to.deep.include({ state_value: 'gone', state_version: 0, found: false });
    expect(await outputs({ kind: 'delete', ...at('cart') })).to.deep.equal({ deleted: false, not_found: true });
    // A deleted key starts its versions over.
    expect(await set('cart', [])).to.deep.equal({ success: true, state_version: 1 });
  });

  it('keeps keys apart by workflow and namespace', async function () {
    const other = await backend.createWorkflow();
    await set('k', 'default');
    await set('k', 'shop', null, 'shop');
    await set('k', 'shop again', null, 'shop');
    await set('k', 'other workflow', null, 'default', other);
    expect(await get('k')).to.deep.include({ state_value: 'default', state_version: 1 });
    expect(await get('k', null, 'shop')).to.deep.include({ state_value: 'shop again', state_version: 2 });
    expect(await get('k', null, 'default', other)).to.deep.include({ state_value: 'other workflow', state_version: 1 });
    await outputs({ kind: 'delete', ...at('k', 'shop') });
    expect(await get('k')).to.deep.include({ found: true });
    expect(await get('k', null, 'default', other)).to.deep.include({ found: true });
  });

  it('keeps a value of every JSON shape', async function () {
    const shapes: Json[] = [null, 'text', 0, -1.5, true, [1, 'a', null, [2]], { nested: { deep: [false] }, unicode: 'zß✓', nul: 'a\u0000b' }, {}, [], 2 ** 53 - 1];
    for (const [i, value] of shapes.entries()) await set(`shape-${i}`, value);
    for (const [i, value] of shapes.entries()) expect(await get(`shape-${i}`, 'default'), `shape ${i}`).to.deep.include({ state_value: value, found: true });
  });

  it('merges into an object and increments a number or fields, one version per change', async function () {
    expect(await outputs(update('profile', { name: 'ann' }, 'merge', true))).to.deep.equal({ success: true, new_value: { name: 'ann' }, state_version: 1 });
    expect(await outputs(update('profile', { city: 'Oslo', name: 'Ann' }, 'merge'))).to.deep.equal({ success: true, new_value: { name: 'Ann', city: 'Oslo' }, state_version: 2 });
    // A missing field counts from 0; the fields not named are kept.
    expect(await outputs(update('hits', { views: 2 }, 'increment', true))).to.deep.include({ new_value: { views: 2 }, state_version: 1 });
    expect(await outputs(update('hits', { views: 3, clicks: 1 }, 'increment'))).to.deep.include({ new_value: { views: 5, clicks: 1 }, state_version: 2 });
    expect(await outputs(update('total', 2.5, 'increment', true))).to.deep.include({ new_value: 2.5, state_version: 1 });
    expect(await outputs(update('total', -4, 'increment'))).to.deep.include({ new_value: -1.5, state_version: 2 });
    // A stored null counts as nothing stored yet.
    await set('empty', null);
    expect(await outputs(update('empty', 1, 'increment'))).to.deep.include({ new_value: 1, state_version: 2 });
    expect(await get('profile')).to.deep.include({ state_value: { name: 'Ann', city: 'Oslo' }, state_version: 2 });
  });

  it('refuses an update that cannot apply with its error code, changes nothing, and records a failed node', async function () {
    await set('number', 7);
    await set('object', { a: 'text' });
    await set('list', [1]);
    const refusals: Array<[StateOperation, string]> = [
      [update('missing', { a: 1 }, 'merge'), 'state_not_found'],
      [update('missing', 1, 'increment'), 'state_not_found'],
      [update('object', [1], 'merge'), 'invalid_updates'],
      [update('object', 'x', 'increment'), 'invalid_updates'],
      [update('number', { a: 1 }, 'merge'), 'not_an_object'],
      [update('list', { a: 1 }, 'merge'), 'not_an_object'],
      [update('list', { a: 1 }, 'increment'), 'not_an_object'],
      [update('object', 1, 'increment'), 'not_a_number'],
      [update('object', { a: 1 }, 'increment'), 'not_a_number'],
      [update('object', { b: 'x' }, 'increment'), 'not_a_number'],
    ];
    for (const [operation, code] of refusals) {
      const result = await run(operation);
      expect(result.ok, code).to.equal(false);
      if (!result.ok) expect(result.error, code).to.include({ code, retryable: false });
    }
    expect(await get('missing')).to.deep.include({ found: false });
    expect(await get('number')).to.deep.include({ state_value: 7, state_version: 1 });
    expect(await get('object')).to.deep.include({ state_value: { a: 'text' }, state_version: 1 });
    expect(await get('list')).to.deep.include({ state_value: [1], state_version: 1 });
    const failures = (await store.listLogs(executionId, 100)).filter((row) => row.event === 'node_failed');
    expect(failures.map((row) => row.data)).to.deep.equal(refusals.map(([, code]) => ({ code, retryable: false })));
  });

  it('records a state node\'s outputs as its results, and its completion in the log', async function () {
    await set('cart', { items: 1 });
    const results = await store.listResults(executionId);
    expect(results.map((row) => [row.node_id, row.port_name, row.content])).to.deep.equal([
      ['state', 'success', true],
      ['state', 'state_version', 1],
    ]);
    const logs = await store.listLogs(executionId, 100);
    expect(logs.map((row) => [row.node_id, row.event])).to.deep.include(['state', 'node_completed']);
  });

  it('expires a value at its TTL on the injected clock; an expired key reads, updates and sets as a missing one', async function () {
    const setAt = clock.now();
    expect(await set('session', { user: 1 }, 60)).to.deep.equal({ success: true, state_version: 1 });
    await set('session', { user: 2 }, 60);
    clock.at = setAt + 59_999;
    expect(await get('session')).to.deep.include({ state_value: { user: 2 }, state_version: 2, found: true });
    clock.at = setAt + 60_000;
    expect(await get('session', 'expired')).to.deep.include({ state_value: 'expired', state_version: 0, found: false, not_found: true });
    const refused = await run(update('session', { user: 3 }, 'merge'));
    expect(!refused.ok && refused.error.code).to.equal('state_not_found');
    expect(await outputs(update('session', { user: 3 }, 'merge', true))).to.deep.equal({ success: true, new_value: { user: 3 }, state_version: 1 });

    await set('token', 'abc', 1.5);
    clock.at += 1_499;
    expect(await get('token')).to.deep.include({ found: true });
    clock.at += 1;
    expect(await get('token')).to.deep.include({ found: false });
    expect(await outputs({ kind: 'delete', ...at('token') })).to.deep.equal({ deleted: false, not_found: true });
    expect(await set('token', 'def', 3_600)).to.deep.equal({ success: true, state_version: 1 });
  });

  it('applies increments made at once one after another: no update lost, every version handed out once', async function () {
    const results = await Promise.all(Array.from({ length: 25 }, () => outputs(update('counter', { n: 1 }, 'increment', true))));
    expect(results.map((result) => result.state_version as number).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(await get('counter')).to.deep.include({ state_value: { n: 25 }, state_version: 25 });
  });

  describe('metric history', function () {
    const sample = (nodeId: string, metrics: Json, trackHistory = true) =>
      store.recordNodeOutcome(
        { executionId, workflowId, nodeId, nodeType: 'metric_tracker', attempt: 1, startedAtMs: clock.now(), durationMs: 1, outputs: { track_history: trackHistory, current_metrics: metrics }, error: null },
        limits,
      );
    const history = (nodeId: string) => get(`history:${nodeId}`, [], 'metrics');

    it('appends each metric_tracker sample with its time, per node, and only where the node tracks history', async function () {
      const times: number[] = [];
      for (const value of [1, 2, 3]) {
        clock.at += 1_000;
        times.push(clock.now());
        await sample('meter', { value });
      }
      await sample('other', { value: 9 });
      await sample('untracked', { value: 0 }, false);
      await store.flush();
      expect(await history('meter')).to.deep.include({ state_value: times.map((t, i) => ({ recorded_at: isoAt(t), metrics: { value: i + 1 } })), state_version: 3 });
      expect(await history('other')).to.deep.include({ state_value: [{ recorded_at: isoAt(clock.now()), metrics: { value: 9 } }], state_version: 1 });
      expect(await history('untracked')).to.deep.include({ found: false });
    });

    it(`keeps the newest ${metricHistoryLimit} samples`, async function () {
      await Promise.all(Array.from({ length: metricHistoryLimit + 3 }, (_, i) => sample('busy', { i })));
      await store.flush();
      const kept = (await history('busy')).state_value as Array<{ metrics: { i: number } }>;
      expect(kept).to.have.length(metricHistoryLimit);
      expect(kept[0]!.metrics.i).to.equal(3);
      expect(kept.at(-1)!.metrics.i).to.equal(metricHistoryLimit + 2);
    });
  });
});
