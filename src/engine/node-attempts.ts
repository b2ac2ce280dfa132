// One node's attempts within a run (semantics §4): run on the pool or a local handler, record each
// outcome, and retry retryable failures with the settings' backoff until they succeed or run out.
import type { NodeError, NodeResult, NodeTask, PortValues } from '../../workers/node-contract.js';
import { retryDelayMs } from '../domain/backoff.js';
import type { Clock } from '../domain/clock.js';
import { isoAt } from '../domain/clock.js';
import type { NodeRunRecord, PayloadLimits } from '../domain/execution.js';
import type { ExecutionStore } from '../store/store.js';
import type { LocalNodeResult, LocalNodes, NodeRetryPolicy, RunNode } from './execution-run.js';
import type { GraphNode } from './graph.js';
import type { RunObserver } from '../domain/run-event.js';
import { sleepInterruptibly } from '../domain/interruptible-sleep.js';

/** How a node's attempts ended. */
export type NodeAttemptsOutcome =
  | { kind: 'completed'; outputs: PortValues; record: NodeRunRecord }
  | { kind: 'failed'; error: NodeError; record: NodeRunRecord }
  /** The node waits for a person's answer (a main-thread node); the run pauses. */
  | { kind: 'paused'; record: NodeRunRecord }
  | { kind: 'aborted'; attempt: number };

/** What the attempts of any node of one run share. */
export interface NodeAttemptsContext {
  workflowId: string;
  retry: NodeRetryPolicy | null;
  limits: PayloadLimits;
  local?: LocalNodes;
  runNode: RunNode;
  store: ExecutionStore;
  clock: Clock;
  /** Fires when the run stops: the running attempt is aborted and no retry follows. */
  signal: AbortSignal;
  /** Tells the run a node is running, so its snapshot shows it. */
  onAttemptStarted(nodeId: string, record: NodeRunRecord): void;
  observer?: RunObserver;
}

/**
 * Runs `task` until it succeeds, fails for good, or the run stops. `attemptsBefore` are attempts an
 * earlier event attempt made: numbering goes on from there, so each log row names a distinct attempt.
 */
export async function runNodeAttempts(context: NodeAttemptsContext, node: GraphNode, task: NodeTask, attemptsBefore: number): Promise<NodeAttemptsOutcome> {
  const startedAtMs = context.clock.now();
  for (let attempt = attemptsBefore + 1; ; attempt++) {
    context.onAttemptStarted(node.id, { status: 'running', attempts: attempt, started_at: isoAt(startedAtMs) });
    context.store.recordNodeStarted(task.executionId, node.id, node.type, attempt);
    context.observer?.runEvent({ type: 'node_started', executionId: task.executionId, nodeId: node.id, nodeType: node.type, attempt });
    const answer = await runOnce(context, node, { ...task, attempt }, context.clock.now());
    if ('paused' in answer) return { kind: 'paused', record: { status: 'waiting', attempts: attempt, started_at: isoAt(startedAtMs) } };
    const result: NodeResult = answer;
    if (context.signal.aborted && !result.ok) return { kind: 'aborted', attempt };
    context.observer?.runEvent({
      type: 'node_finished',
      executionId: task.executionId,
      nodeId: node.id,
      nodeType: node.type,
      attempt,
      ok: result.ok,
      durationMs: result.durationMs,
      error: result.ok ? null : result.error,
    });
    const record = recordOf(result, startedAtMs, attempt, context.clock);
    if (result.ok) return { kind: 'completed', outputs: result.outputs, record };
    const retry = context.retry;
    if (!result.error.retryable || !retry || attempt - attemptsBefore > retry.maxRetries) return { kind: 'failed', error: result.error, record };
    const waitMs = retryDelayMs(retry.backoff, attempt - attemptsBefore);
    context.store.recordNodeRetry(task.executionId, node.id, attempt + 1, waitMs, result.error.message);
    context.observer?.runEvent({ type: 'node_retry', executionId: task.executionId, nodeId: node.id, nodeType: node.type, nextAttempt: attempt + 1, waitMs });
    if (!(await sleepInterruptibly(waitMs, context.signal))) return { kind: 'aborted', attempt };
  }
}

async function runOnce(context: NodeAttemptsContext, node: GraphNode, task: NodeTask, startedAtMs: number): Promise<LocalNodeResult> {
  // A local node records its own outcome, in the transaction of its effect.
  if (context.local?.handles(node.type)) return context.local.run(task, startedAtMs);
  const result = await context.runNode(task, { isolation: node.definition.isolation, signal: context.signal });
  // An attempt cut short by the run stopping is not an outcome of the node's: nothing to record.
  if (!(context.signal.aborted && !result.ok)) {
    context.store.recordNodeOutcome(
      {
        executionId: task.executionId,
        workflowId: context.workflowId,
        nodeId: node.id,
        nodeType: node.type,
        attempt: task.attempt,
        startedAtMs,
        durationMs: result.durationMs,
        outputs: result.ok ? result.outputs : null,
        error: result.ok ? null : result.error,
      },
      context.limits,
    );
  }
  return result;
}

function recordOf(result: NodeResult, startedAtMs: number, attempt: number, clock: Clock): NodeRunRecord {
  return {
    status: result.ok ? 'completed' : 'failed',
    started_at: isoAt(startedAtMs),
    completed_at: isoAt(clock.now()),
    duration_ms: Math.round(result.durationMs),
    attempts: attempt,
    ...(result.ok ? { outputs: result.outputs } : { error: result.error }),
  };
}
