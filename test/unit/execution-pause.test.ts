// A run that meets a node waiting for a person (email_approval) pauses: nodes already running finish
// and are kept, nothing new starts; the resumed run reuses what finished and runs only the rest.
import { expect } from 'chai';
import type { NodeResult, NodeTask } from '../../workers/node-contract.js';
import { nodeDefinitions } from '../../workers/nodes/index.js';
import type { NodeRunRecord } from '../../src/domain/execution.js';
import { normalizeWorkflowData } from '../../src/domain/workflow.js';
import { ExecutionRun, type LocalNodes, type RunNode } from '../../src/engine/execution-run.js';
import { buildGraph } from '../../src/engine/graph.js';
import { localNodeDefinitions } from '../../src/engine/local-node-definitions.js';
import { NodeCatalog } from '../../src/engine/node-catalog.js';
import type { ExecutionStore } from '../../src/store/store.js';
import { link, node } from '../helpers/workflows.js';

const catalog = new NodeCatalog([...nodeDefinitions(true), ...localNodeDefinitions]);

// ask (approval) and slow start together; each has a follower.
const graph = buildGraph(
  normalizeWorkflowData({
    nodes: [node('ask', 'email_approval'), node('slow', 'test_slow'), node('after_ask', 'test_echo'), node('after_slow', 'test_echo')],
    connections: [link('ask', 'result', 'after_ask', 'input'), link('slow', 'output', 'after_slow', 'input')],
  }),
  (type) => catalog.get(type),
);

const store = { recordNodeStarted: () => undefined, recordNodeOutcome: () => undefined, saveProgress: () => undefined } as unknown as ExecutionStore;

/** A pool where test_slow takes 30 ms; records which nodes it ran. */
function pool(ran: string[]): RunNode {
  return async (task: NodeTask): Promise<NodeResult> => {
    ran.push(task.nodeId);
    if (task.nodeType === 'test_slow') await new Promise((resolve) => setTimeout(resolve, 30));
    return { ok: true, outputs: { output: task.nodeId }, durationMs: 1 };
  };
}

/** The approval handler: waits while `answered` is false, then answers approved. */
function approval(answered: boolean): LocalNodes {
  return {
    handles: (type) => type === 'email_approval',
    run: async () => (answered ? { ok: true, outputs: { result: { approved: true } }, durationMs: 1 } : { paused: true, durationMs: 1 }),
  };
}

function runWith(ran: string[], answered: boolean, previous: Map<string, NodeRunRecord>) {
  return new ExecutionRun(
    {
      executionId: 'e1',
      workflowId: 'w1',
      graph,
      trigger: null,
      sequential: false,
      continueOnError: false,
      maxConcurrentNodes: 5,
      defaultTimeoutMs: 1000,
      limits: { maxChars: 100, inlineMaxBytes: 1_000_000 },
      retry: null,
      previous,
      signal: new AbortController().signal,
      local: approval(answered),
    },
    pool(ran),
    store,
    { now: () => Date.now() },
  ).run();
}

describe('ExecutionRun pausing for an answer', () => {
  it('lets running nodes finish, starts nothing new, and ends paused', async () => {
    const ran: string[] = [];
    const outcome = await runWith(ran, false, new Map());
    expect(outcome.status).to.equal('paused');
    expect(outcome.nodeResults.ask!.status).to.equal('waiting');
    expect(outcome.nodeResults.slow!.status).to.equal('completed');
    expect(ran).to.deep.equal(['slow']);
    expect(outcome.nodeResults.after_ask).to.equal(undefined);
    expect(outcome.nodeResults.after_slow).to.equal(undefined);
  });

  it('resumes with the finished nodes reused and runs only the rest', async () => {
    const first = await runWith([], false, new Map());
    const ran: string[] = [];
    const outcome = await runWith(ran, true, new Map(Object.entries(first.nodeResults)));
    expect(outcome.status).to.equal('completed');
    expect(ran.sort()).to.deep.equal(['after_ask', 'after_slow']);
    expect(outcome.nodeResults.ask!.attempts).to.equal(2);
  });
});
