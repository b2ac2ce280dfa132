// The executions family of the PostgreSQL adapter, the twin of store/sqlite/sqlite-executions.ts: what
// the runner records while an execution runs, and the reads of those records (ExecutionStore).
// Per-node records are background writes (fireAndForget): the runner never waits for them, their order
// in the writer queue is what matters. Reads go to the pool and see what has been committed.
import type { NodeOutcomeRecord, NodeRunRecord, PayloadLimits } from '../../domain/execution.js';
import { StateOperationError, type StateOperation } from '../../domain/state-operation.js';
import type { Json, NodeResult } from '../../../workers/node-contract.js';
import type { ExecutionListFilter, ExecutionStore } from '../execution-store.js';
import * as executions from './pg-execution-sql.js';
import { PgFamily } from './pg-family.js';
import { applyStateOperation } from './pg-state-sql.js';

/** Execution records on PostgreSQL. */
export class PgExecutions extends PgFamily implements ExecutionStore {
  recordNodeStarted(executionId: string, nodeId: string, nodeType: string, attempt: number): void {
    const at = this.clock.now();
    this.fireAndForget((trx) => executions.insertNodeStarted(trx, executionId, nodeId, nodeType, attempt, at), executionId);
  }

  recordNodeOutcome(outcome: NodeOutcomeRecord, limits: PayloadLimits): void {
    const at = this.clock.now();
    this.fireAndForget((trx) => executions.insertNodeOutcome(trx, outcome, limits, this.resultsDir, at), outcome.executionId);
  }

  runStateNode(operation: StateOperation, outcome: Omit<NodeOutcomeRecord, 'outputs' | 'error' | 'durationMs'>, limits: PayloadLimits): Promise<NodeResult> {
    return this.writer.write(async (trx) => {
      const started = performance.now();
      const now = this.clock.now();
      let result: NodeResult;
      try {
        result = { ok: true, outputs: await applyStateOperation(trx, operation, now), durationMs: performance.now() - started };
      } catch (error) {
        // A StateOperationError is the operation refusing (thrown in JS, before any row changed), so the
        // transaction is still good for the outcome row; a database error aborted it and must propagate.
        if (!(error instanceof StateOperationError)) throw error;
        result = { ok: false, error: { code: error.code, message: error.message, retryable: false }, durationMs: performance.now() - started };
      }
      await executions.insertNodeOutcome(trx, { ...outcome, durationMs: result.durationMs, outputs: result.ok ? result.outputs : null, error: result.ok ? null : result.error }, limits, this.resultsDir, now);
      return result;
    }, outcome.executionId);
  }

  recordNodeRetry(executionId: string, nodeId: string, nextAttempt: number, waitMs: number, reason: string): void {
    const at = this.clock.now();
    this.fireAndForget((trx) => executions.insertNodeRetry(trx, executionId, nodeId, nextAttempt, waitMs, reason, at), executionId);
  }

  recordIterationStarted(executionId: string, loopNodeId: string, iteration: number, label: string): void {
    const at = this.clock.now();
    this.fireAndForget((trx) => executions.insertIterationStarted(trx, executionId, loopNodeId, iteration, label, at), executionId);
  }

  recordIterationFinished(executionId: string, loopNodeId: string, iteration: number, status: 'completed' | 'failed', outputs: Json, error: string | null): void {
    const at = this.clock.now();
    this.fireAndForget((trx) => executions.updateIterationFinished(trx, executionId, loopNodeId, iteration, status, outputs, error, at), executionId);
  }

  listIterations(executionId: string) {
    return executions.selectIterations(this.db, executionId);
  }

  /** Resolves once the snapshot is committed (the runner waits for it before successors start). */
  saveProgress(executionId: string, executionMode: string, nodeResults: Record<string, NodeRunRecord>): Promise<void> {
    const at = this.clock.now();
    this.writer.writeLatest(`progress:${executionId}`, (trx) => executions.updateProgress(trx, executionId, executionMode, nodeResults, at), executionId);
    return this.writer.flushFor(executionId);
  }

  previousNodeRecords(executionId: string) {
    return executions.selectPreviousNodes(this.db, executionId, this.resultsDir);
  }

  getExecution(id: string) {
    return executions.selectExecution(this.db, id);
  }

  listExecutions(filter: ExecutionListFilter) {
    return executions.selectExecutions(this.db, filter);
  }

  listResults(executionId: string) {
    return executions.selectResults(this.db, executionId);
  }

  listLogs(executionId: string, limit: number, afterId?: number) {
    return executions.selectLogs(this.db, executionId, limit, afterId);
  }
}
