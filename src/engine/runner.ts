// The runner: turns one claimed event into one attempt of its execution, then decides what the
// attempt means for the event (done, retry later, failed for good, or handed back on drain).
import type { NodeError } from '../../workers/node-contract.js';
import { retryDelayMs } from '../domain/backoff.js';
import type { Clock } from '../domain/clock.js';
import type { ClaimedEvent } from '../domain/event.js';
import type { ExecutionStatus, NodeRunRecord } from '../domain/execution.js';
import type { Logger } from '../log.js';
import type { EventOutcome, Store } from '../store/store.js';
import type { EngineSettings } from './engine-settings.js';
import { ExecutionRun, type ExecutionRunOutcome, type RunNode } from './execution-run.js';
import type { RunObserver } from '../domain/run-event.js';
import type { WorkflowCache } from './workflow-cache.js';
import { renderNodeConfig } from './node-config.js';
import { stateNodes } from './state-nodes.js';
import { withCredentials, type CredentialResolver } from './node-credentials.js';
import type { PayloadLimits } from '../domain/execution.js';
import type { LocalNodes } from './execution-run.js';
import { combineLocalNodes } from './local-nodes.js';

/** What the runner is built from. */
export interface RunnerDeps {
  store: Store;
  workflows: WorkflowCache;
  runNode: RunNode;
  settings: () => EngineSettings;
  clock: Clock;
  log: Logger;
  /** Told after an attempt's outcome is durable. */
  onFinished?: (eventId: number, executionId: string, status: ExecutionStatus) => void;
  /** Told of what happens in runs (metrics, the execution stream). */
  observer?: RunObserver;
  /** Told when an attempt has ended: its event outcome, execution status and duration (metrics). */
  onAttemptFinished?: (outcome: EventOutcome['kind'], executionStatus: ExecutionStatus, durationMs: number) => void;
  /** Told when a retry has been scheduled for later, so the dispatcher can wake on time. */
  onRetryScheduled?: (runAt: number) => void;
  /** Opens the credential a node names by `credential_id`; without it such nodes run without one. */
  credentials?: CredentialResolver;
  /** Main-thread handlers of email_approval for one run; without it the type is unknown to runs. */
  approvals?: (workflowId: string, limits: PayloadLimits) => LocalNodes;
}

/** How an attempt ended, for the dispatcher and for tests. */
export interface AttemptResult {
  executionStatus: ExecutionStatus;
  event: EventOutcome['kind'];
}

/** Runs claimed events. */
export class Runner {
  /** Runs in progress in this process, by execution id, so a cancel can reach them. */
  private readonly active = new Map<string, AbortController>();

  /** The pool, behind the credential step when there is a vault. */
  private readonly runNode: RunNode;

  constructor(private readonly deps: RunnerDeps) {
    this.runNode = deps.credentials ? withCredentials(deps.runNode, deps.credentials) : deps.runNode;
  }

  /** Aborts a run in progress here (its running nodes are aborted); false when none runs here. */
  cancel(executionId: string): boolean {
    const controller = this.active.get(executionId);
    if (!controller) return false;
    controller.abort();
    return true;
  }

  /** Runs one attempt; `stopSignal` hands the event back to the queue (drain). Never rejects. */
  async run(claimed: ClaimedEvent, stopSignal: AbortSignal): Promise<AttemptResult> {
    const startedMs = this.deps.clock.now();
    const result = await this.runSafely(claimed, stopSignal);
    this.deps.onAttemptFinished?.(result.event, result.executionStatus, this.deps.clock.now() - startedMs);
    return result;
  }

  private async runSafely(claimed: ClaimedEvent, stopSignal: AbortSignal): Promise<AttemptResult> {
    try {
      return await this.attempt(claimed, stopSignal);
    } catch (error) {
      // Only a bug gets here; the event must not stay claimed for ever, so it fails with the reason.
      this.deps.log.error('run crashed', { eventId: claimed.id, executionId: claimed.executionId, error: String(error) });
      return this.finish(claimed, 'failed', {}, {}, { kind: 'failed', error: `internal error: ${String(error)}` });
    }
  }

  private async attempt(claimed: ClaimedEvent, stopSignal: AbortSignal): Promise<AttemptResult> {
    // A stop that fired before the attempt began (a forced stop while its claim was committing) hands
    // the event back at once: the abort listener below would never fire for an already-aborted signal.
    if (stopSignal.aborted) {
      const kept = claimed.resumed ? Object.fromEntries(await this.deps.store.previousNodeRecords(claimed.executionId)) : {};
      return this.finish(claimed, 'pending', kept, {}, { kind: 'released' });
    }
    const planned = this.deps.workflows.cached(claimed.workflowId) ?? (await this.deps.workflows.get(claimed.workflowId));
    if (!planned) return this.finish(claimed, 'failed', {}, {}, { kind: 'failed', error: 'the workflow no longer exists' });
    const settings = this.deps.settings();
    // One controller per run, fired by the drain or the workflow timeout. (AbortSignal.timeout and
    // AbortSignal.any keep every signal alive until its timer fires: at thousands of runs a second
    // that is hundreds of megabytes.)
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, settings.workflowTimeoutMs);
    const onStop = () => abort.abort();
    stopSignal.addEventListener('abort', onStop, { once: true });
    this.active.set(claimed.executionId, abort);
    const run = new ExecutionRun(
      {
        executionId: claimed.executionId,
        workflowId: claimed.workflowId,
        graph: planned.graph,
        trigger: claimed.eventData,
        sequential: planned.sequential,
        continueOnError: planned.continueOnError ?? settings.continueOnError,
        maxConcurrentNodes: settings.maxConcurrentNodes,
        aiConcurrentLimit: settings.aiConcurrentLimit,
        defaultTimeoutMs: settings.defaultTimeoutMs,
        limits: { maxChars: settings.payloadMaxChars, inlineMaxBytes: settings.payloadInlineMaxBytes },
        retry: planned.retryEnabled ? { maxRetries: settings.maxRetries, backoff: settings.backoff } : null,
        previous: claimed.resumed ? await this.deps.store.previousNodeRecords(claimed.executionId) : new Map(),
        signal: abort.signal,
        renderConfig: (node, variables) => renderNodeConfig(node, variables, planned.graph, claimed.eventData, this.deps.clock.now(), settings.ai),
        observer: this.deps.observer,
        local: this.localNodes(claimed.workflowId, { maxChars: settings.payloadMaxChars, inlineMaxBytes: settings.payloadInlineMaxBytes }),
      },
      this.runNode,
      this.deps.store,
      this.deps.clock,
    );
    const outcome = await run.run().finally(() => {
      clearTimeout(timer);
      stopSignal.removeEventListener('abort', onStop);
      this.active.delete(claimed.executionId);
    });
    if (outcome.status === 'aborted' && !timedOut && !stopSignal.aborted) {
      // Cancelled: the cancel already wrote the execution and event as cancelled (sticky).
      return this.finish(claimed, 'cancelled', outcome.nodeResults, {}, { kind: 'failed', error: 'execution cancelled' });
    }
    if (outcome.status === 'aborted' && !timedOut) {
      // Drain: the attempt is given back; finished nodes are kept for the next start to reuse.
      return this.finish(claimed, 'pending', outcome.nodeResults, {}, { kind: 'released' });
    }
    if (outcome.status === 'aborted') {
      const error = { code: 'workflow_timeout', message: `the workflow did not finish within ${settings.workflowTimeoutMs} ms`, retryable: false };
      return this.finish(claimed, 'failed', outcome.nodeResults, {}, this.failure(claimed, error, settings), error.message);
    }
    if (outcome.status === 'failed') return this.finishFailed(claimed, outcome, settings, planned.retryEnabled);
    // Waiting for a person: the run ends here (no slot, no lease, no timeout) and resumes on the answer.
    if (outcome.status === 'paused') return this.finish(claimed, 'paused', outcome.nodeResults, {}, { kind: 'paused' });
    return this.finish(claimed, 'completed', outcome.nodeResults, outcome.finalOutputs, { kind: 'completed' }, errorSummary(outcome));
  }

  private localNodes(workflowId: string, limits: PayloadLimits): LocalNodes {
    const state = stateNodes(this.deps.store, workflowId, limits);
    return this.deps.approvals ? combineLocalNodes([state, this.deps.approvals(workflowId, limits)]) : state;
  }

  private finishFailed(claimed: ClaimedEvent, outcome: ExecutionRunOutcome, settings: EngineSettings, retryEnabled: boolean): Promise<AttemptResult> {
    const error = outcome.error ?? { code: 'unknown', message: 'the run failed', retryable: false };
    // `retry_enabled: false` turns off both loops: node retries within a run and event retries across runs.
    const event = this.failure(claimed, retryEnabled ? error : { ...error, retryable: false }, settings);
    const message = `node ${outcome.failedNodeId}: ${error.message}`;
    // A run that will be retried waits as `pending`; its finished nodes are reused next time.
    const status: ExecutionStatus = event.kind === 'retry' ? 'pending' : 'failed';
    return this.finish(claimed, status, outcome.nodeResults, {}, event.kind === 'failed' ? { kind: 'failed', error: message } : event, message);
  }

  /** A retry with backoff while attempts remain and the failure may pass; otherwise failed for good. */
  private failure(claimed: ClaimedEvent, error: NodeError, settings: EngineSettings): EventOutcome {
    if (error.retryable && claimed.attempts < claimed.maxAttempts) {
      return { kind: 'retry', runAt: this.deps.clock.now() + retryDelayMs(settings.backoff, claimed.attempts), error: error.message };
    }
    return { kind: 'failed', error: error.message };
  }

  private async finish(
    claimed: ClaimedEvent,
    executionStatus: ExecutionStatus,
    nodeResults: Record<string, NodeRunRecord>,
    finalOutputs: Record<string, unknown>,
    event: EventOutcome,
    errorMessage: string | null = null,
  ): Promise<AttemptResult> {
    const structure = (this.deps.workflows.cached(claimed.workflowId) ?? (await this.deps.workflows.get(claimed.workflowId)))?.structureHash;
    const applied = await this.deps.store.finishRun({
      eventId: claimed.id,
      leaseToken: claimed.leaseToken,
      executionId: claimed.executionId,
      executionStatus,
      nodeResults,
      finalOutputs: finalOutputs as never,
      errorMessage,
      executionMetadata: structure ? { workflow_structure: structure } : null,
      event,
    });
    if (!applied) this.deps.log.debug('attempt outcome dropped: lease lost', { eventId: claimed.id });
    else if (event.kind === 'retry') this.deps.onRetryScheduled?.(event.runAt);
    this.deps.log.debug('attempt finished', { eventId: claimed.id, executionId: claimed.executionId, executionStatus, event: event.kind });
    this.deps.onFinished?.(claimed.id, claimed.executionId, executionStatus);
    this.deps.observer?.runEvent({ type: 'execution_finished', executionId: claimed.executionId, status: executionStatus, outcome: event.kind });
    return { executionStatus, event: event.kind };
  }
}

function errorSummary(outcome: ExecutionRunOutcome): string | null {
  const failed = Object.entries(outcome.nodeResults).filter(([, record]) => record.status === 'failed');
  return failed.length === 0 ? null : `continued past failed nodes: ${failed.map(([id]) => id).join(', ')}`;
}
