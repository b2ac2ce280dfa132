// What the runner makes of an attempt, with a fake pool and store: retry with backoff or fail for good,
// and on drain hand the event back — also when the stop came before the run began.
import { expect } from 'chai';
import type { NodeResult, NodeTask } from '../../workers/node-contract.js';
import type { ClaimedEvent } from '../../src/domain/event.js';
import type { NodeRunRecord } from '../../src/domain/execution.js';
import { defaultEngineSettings, type EngineSettings } from '../../src/engine/engine-settings.js';
import { builtinCatalog } from '../../src/engine/node-catalog.js';
import { Runner } from '../../src/engine/runner.js';
import { WorkflowCache } from '../../src/engine/workflow-cache.js';
import type { Logger } from '../../src/log.js';
import type { RunFinish, Store } from '../../src/store/store.js';

const silentLog = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} } as unknown as Logger;
const now = 1_700_000_000_000;

/** A node body that runs until its signal aborts (a slow node), answering as the pool does. */
function untilAborted(task: NodeTask, signal: AbortSignal, started: NodeTask[]): Promise<NodeResult> {
  started.push(task);
  const cancelled: NodeResult = { ok: false, error: { code: 'cancelled', message: 'the node was cancelled', retryable: false }, durationMs: 0 };
  if (signal.aborted) return Promise.resolve(cancelled);
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(cancelled), { once: true }));
}

function claimed(fields: Partial<ClaimedEvent> = {}): ClaimedEvent {
  return { id: 7, workflowId: 'wf', eventData: null, priority: 3, attempts: 1, maxAttempts: 3, leaseToken: 'lease', executionId: 'exec', resumed: false, enqueuedAtMs: now, ...fields };
}

/** Fails `promise` if it has not settled within `ms` — a run that never ends is the bug under test. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

describe('runner', () => {
  let finishes: RunFinish[];
  let started: NodeTask[];

  let earlierAttempt: Map<string, NodeRunRecord>;

  function runnerFor(nodeType: string, runNode: (task: NodeTask, signal: AbortSignal) => Promise<NodeResult>, settings: Partial<EngineSettings> = {}): Runner {
    const store = {
      getWorkflow: () => ({ id: 'wf', workflow_data: { nodes: [{ node_id: 'only', node_type: nodeType, config: {} }], connections: [] }, execution_config: {} }),
      finishRun: async (finish: RunFinish) => (finishes.push(finish), true),
      previousNodeRecords: () => earlierAttempt,
      recordNodeStarted: () => {},
      recordNodeOutcome: () => {},
      saveProgress: () => {},
    } as unknown as Store;
    return new Runner({
      store,
      workflows: new WorkflowCache(store, builtinCatalog(true)),
      runNode: (task, options) => runNode(task, options.signal),
      // Node-level retries off: these tests are about what an attempt means for the event.
      settings: () => ({ ...defaultEngineSettings, maxRetries: 0, ...settings }),
      clock: { now: () => now },
      log: silentLog,
    });
  }

  beforeEach(() => {
    finishes = [];
    started = [];
    earlierAttempt = new Map();
  });

  it('hands the event back without spending its attempt when stopped mid-run', async () => {
    const runner = runnerFor('test_slow', (task, signal) => untilAborted(task, signal, started));
    const stop = new AbortController();
    const result = runner.run(claimed(), stop.signal);
    while (started.length === 0) await new Promise((resolve) => setImmediate(resolve));
    stop.abort();
    expect(await within(result, 2_000, 'the stopped run')).to.deep.equal({ executionStatus: 'pending', event: 'released' });
    expect(finishes).to.have.length(1);
    expect(finishes[0]!.event).to.deep.equal({ kind: 'released' });
  });

  it('hands the event back when the stop signal fired before the run began', async () => {
    // A forced stop during a claim: the dispatcher launches the claimed events with an aborted signal.
    const runner = runnerFor('test_slow', (task, signal) => untilAborted(task, signal, started));
    const stop = new AbortController();
    stop.abort();
    const result = await within(runner.run(claimed(), stop.signal), 2_000, 'a run started after the stop');
    expect(result).to.deep.equal({ executionStatus: 'pending', event: 'released' });
    expect(finishes[0]!.event).to.deep.equal({ kind: 'released' });
  });

  it('keeps what an earlier attempt finished when it hands back a resumed run before it began', async () => {
    earlierAttempt = new Map([['only', { status: 'completed', attempts: 1, outputs: { output: 'kept' } }]]);
    const runner = runnerFor('test_slow', (task, signal) => untilAborted(task, signal, started));
    const stop = new AbortController();
    stop.abort();
    await within(runner.run(claimed({ resumed: true, attempts: 2 }), stop.signal), 2_000, 'a resumed run started after the stop');
    expect(started, 'nodes run after the stop').to.deep.equal([]);
    expect(finishes[0]!.nodeResults).to.deep.equal({ only: { status: 'completed', attempts: 1, outputs: { output: 'kept' } } });
  });

  it('schedules a retry after the backoff while attempts remain and the failure may pass', async () => {
    const runner = runnerFor('test_fail', async () => ({ ok: false, error: { code: 'upstream_down', message: 'upstream is down', retryable: true }, durationMs: 1 }), {
      backoff: { retryDelaySeconds: 2, backoffMultiplier: 3, maxRetryDelaySeconds: 60 },
    });
    expect(await runner.run(claimed({ attempts: 2, maxAttempts: 3 }), new AbortController().signal)).to.deep.equal({ executionStatus: 'pending', event: 'retry' });
    // The second failed attempt waits retry_delay × multiplier.
    expect(finishes[0]!.event).to.deep.equal({ kind: 'retry', runAt: now + 6_000, error: 'upstream is down' });
  });

  it('fails the event for good on its last attempt', async () => {
    const runner = runnerFor('test_fail', async () => ({ ok: false, error: { code: 'upstream_down', message: 'upstream is down', retryable: true }, durationMs: 1 }));
    expect(await runner.run(claimed({ attempts: 3, maxAttempts: 3 }), new AbortController().signal)).to.deep.equal({ executionStatus: 'failed', event: 'failed' });
    expect(finishes[0]!.event).to.deep.equal({ kind: 'failed', error: 'node only: upstream is down' });
    expect(finishes[0]!.errorMessage).to.equal('node only: upstream is down');
  });

  it('fails a non-retryable failure at once, whatever attempts remain', async () => {
    const runner = runnerFor('test_fail', async () => ({ ok: false, error: { code: 'bad_input', message: 'no', retryable: false }, durationMs: 1 }));
    expect(await runner.run(claimed({ attempts: 1, maxAttempts: 5 }), new AbortController().signal)).to.deep.equal({ executionStatus: 'failed', event: 'failed' });
  });
});
