// The graph walk of one execution, with a fake pool and an in-memory record: no threads, no database.
import { expect } from 'chai';
import type { NodeResult, NodeTask } from '../../workers/node-contract.js';
import { nodeDefinitions } from '../../workers/nodes/index.js';
import type { NodeRunRecord } from '../../src/domain/execution.js';
import { normalizeWorkflowData } from '../../src/domain/workflow.js';
import { ExecutionRun, type RunNode } from '../../src/engine/execution-run.js';
import { buildGraph } from '../../src/engine/graph.js';
import { NodeCatalog } from '../../src/engine/node-catalog.js';
import type { ExecutionStore } from '../../src/store/store.js';
import { link, node } from '../helpers/workflows.js';

const catalog = new NodeCatalog(nodeDefinitions(true));

/** A store that only remembers what it was told. */
function recordingStore() {
  const started: string[] = [];
  const outcomes: string[] = [];
  const store = {
    recordNodeStarted: (_execution: string, nodeId: string) => started.push(nodeId),
    recordNodeOutcome: (outcome: { nodeId: string; error: unknown }) => outcomes.push(`${outcome.nodeId}:${outcome.error ? 'failed' : 'ok'}`),
    saveProgress: () => undefined,
  } as unknown as ExecutionStore;
  return { store, started, outcomes };
}

/** A fake pool: echoes inputs, fails nodes of type test_fail, tracks concurrency. */
function fakePool(delayMs = 0) {
  let running = 0;
  const runningOfType = new Map<string, number>();
  const stats = { maxRunning: 0, maxRunningOfType: new Map<string, number>(), tasks: [] as NodeTask[] };
  const runNode: RunNode = async (task) => {
    stats.tasks.push(task);
    running += 1;
    stats.maxRunning = Math.max(stats.maxRunning, running);
    runningOfType.set(task.nodeType, (runningOfType.get(task.nodeType) ?? 0) + 1);
    stats.maxRunningOfType.set(task.nodeType, Math.max(stats.maxRunningOfType.get(task.nodeType) ?? 0, runningOfType.get(task.nodeType)!));
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    running -= 1;
    runningOfType.set(task.nodeType, runningOfType.get(task.nodeType)! - 1);
    if (task.nodeType === 'test_fail') return { ok: false, error: { code: 'boom', message: 'boom', retryable: false }, durationMs: 1 } satisfies NodeResult;
    return { ok: true, outputs: { output: task.inputs.input ?? task.config.value ?? null, text: String(task.config.text ?? '') }, durationMs: 1 };
  };
  return { runNode, stats };
}

function runOf(nodes: unknown[], connections: unknown[], options: Partial<{ continueOnError: boolean; sequential: boolean; maxConcurrentNodes: number; aiConcurrentLimit: number; finished: Map<string, NodeRunRecord>; trigger: unknown }> = {}, delayMs = 0) {
  const graph = buildGraph(normalizeWorkflowData({ nodes, connections }), (type) => catalog.get(type));
  const recorded = recordingStore();
  const pool = fakePool(delayMs);
  const run = new ExecutionRun(
    {
      executionId: 'e1',
      workflowId: 'w1',
      graph,
      trigger: (options.trigger ?? null) as never,
      sequential: options.sequential ?? false,
      continueOnError: options.continueOnError ?? false,
      maxConcurrentNodes: options.maxConcurrentNodes ?? 5,
      aiConcurrentLimit: options.aiConcurrentLimit,
      defaultTimeoutMs: 1000,
      limits: { maxChars: 100, inlineMaxBytes: 1_000_000 },
      retry: null,
      previous: options.finished ?? new Map(),
      signal: new AbortController().signal,
    },
    pool.runNode,
    recorded.store,
    { now: () => Date.now() },
  );
  return { run, recorded, pool };
}

describe('ExecutionRun', () => {
  it('collects several connections into one port as a list, in connection order', async () => {
    const { run, pool } = runOf(
      [node('a', 'test_echo', { value: 1 }), node('b', 'test_echo', { value: 2 }), node('c', 'test_echo', { value: 3 }), node('join', 'test_echo')],
      [link('a', 'output', 'join', 'input'), link('b', 'output', 'join', 'input'), link('c', 'output', 'join', 'input')],
    );
    const outcome = await run.run();
    expect(outcome.status).to.equal('completed');
    expect(pool.stats.tasks.find((task) => task.nodeId === 'join')!.inputs.input).to.deep.equal([1, 2, 3]);
    expect(Object.keys(outcome.finalOutputs)).to.deep.equal(['join']);
  });

  it('never runs more nodes of one execution at once than max_concurrent_nodes', async () => {
    const nodes = [node('src', 'test_echo'), ...[1, 2, 3, 4, 5, 6].map((i) => node(`n${i}`, 'test_echo'))];
    const links = [1, 2, 3, 4, 5, 6].map((i) => link('src', 'output', `n${i}`, 'input'));
    const { run, pool } = runOf(nodes, links, { maxConcurrentNodes: 2 }, 10);
    await run.run();
    expect(pool.stats.maxRunning).to.equal(2);
  });

  it('runs at most ai_concurrent_limit AI nodes at once, while other nodes use the free slots', async () => {
    const llms = [1, 2, 3].map((i) => node(`llm${i}`, 'large_language_model', { prompt: 'p' }));
    const plain = [1, 2].map((i) => node(`plain${i}`, 'test_echo'));
    const links = [...llms, ...plain].map((target) => link('src', 'output', (target as { node_id: string }).node_id, 'input'));
    const { run, pool } = runOf([node('src', 'test_echo'), ...llms, ...plain], links, { maxConcurrentNodes: 5, aiConcurrentLimit: 1 }, 20);
    const outcome = await run.run();
    expect(outcome.status).to.equal('completed');
    expect(pool.stats.maxRunningOfType.get('large_language_model')).to.equal(1);
    // The waiting AI nodes held no node slot: both plain nodes ran beside the first AI node.
    expect(pool.stats.maxRunning).to.equal(3);
  });

  it('runs one node at a time in topological order in sequential mode', async () => {
    const { run, recorded } = runOf(
      [node('c', 'test_echo'), node('a', 'test_echo'), node('b', 'test_echo')],
      [link('a', 'output', 'b', 'input'), link('b', 'output', 'c', 'input')],
      { sequential: true },
    );
    await run.run();
    expect(recorded.started).to.deep.equal(['a', 'b', 'c']);
  });

  it('stops at the first failure under stop_on_error and never starts its dependents', async () => {
    const { run, recorded } = runOf([node('bad', 'test_fail'), node('after', 'test_echo')], [link('bad', 'output', 'after', 'input')]);
    const outcome = await run.run();
    expect(outcome.status).to.equal('failed');
    expect(outcome.failedNodeId).to.equal('bad');
    expect(recorded.started).to.deep.equal(['bad']);
  });

  it('lets other branches finish under continue_on_error and skips the failed node’s dependents', async () => {
    const { run } = runOf(
      [node('bad', 'test_fail'), node('after', 'test_echo'), node('other', 'test_echo', { value: 'x' })],
      [link('bad', 'output', 'after', 'input')],
      { continueOnError: true },
    );
    const outcome = await run.run();
    expect(outcome.status).to.equal('completed');
    expect(outcome.nodeResults.after!.status).to.equal('skipped');
    expect(outcome.nodeResults.other!.status).to.equal('completed');
    expect(outcome.error!.code).to.equal('boom');
  });

  it('reuses the outputs of nodes an earlier attempt finished instead of running them again', async () => {
    const finished = new Map<string, NodeRunRecord>([['a', { status: 'completed', attempts: 1, outputs: { output: 'kept' } }]]);
    const { run, recorded, pool } = runOf([node('a', 'test_echo'), node('b', 'test_echo')], [link('a', 'output', 'b', 'input')], { finished });
    await run.run();
    expect(recorded.started).to.deep.equal(['b']);
    expect(pool.stats.tasks[0]!.inputs.input).to.equal('kept');
  });

  it('gives the trigger payload to an otherwise empty input port', async () => {
    const { run, pool } = runOf([node('a', 'test_echo')], [], { trigger: { name: 'Ada' } });
    await run.run();
    expect(pool.stats.tasks[0]!.inputs.input).to.deep.equal({ name: 'Ada' });
  });
});
