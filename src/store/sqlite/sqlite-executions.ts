// The executions family of the SQLite adapter: what the runner records while an execution runs, and
// the reads of those records (ExecutionStore). Per-node records are background writes (fireAndForget):
// the runner never waits for them, their order in the writer queue is what matters.
import type { NodeOutcomeRecord, NodeRunRecord, PayloadLimits } from '../../domain/execution.js';
import { StateOperationError, type StateOperation } from '../../domain/state-operation.js';
import type { Json, NodeResult } from '../../../workers/node-contract.js';
import type { ExecutionListFilter, ExecutionStore } from '../execution-store.js';
import * as executions from './execution-sql.js';
import { SqliteFamily } from './sqlite-family.js';
import { applyStateOperation } from './state-sql.js';

/** Execution records on SQLite. */
export class SqliteExecutions extends SqliteFamily implements ExecutionStore {
  recordNodeStarted(executionId: string, nodeId: string, nodeType: string, attempt: number): void {
    const at = this.clock.now();
    this.fireAndForget((db) => executions.insertNodeStarted(db, executionId, nodeId, nodeType, attempt, at));
  }

  recordNodeOutcome(outcome: NodeOutcomeRecord, limits: PayloadLimits): void {
    const at = this.clock.now();
    this.fireAndForget((db) => executions.insertNodeOutcome(db, outcome, limits, this.resultsDir, at));
  }

  runStateNode(operation: StateOperation, outcome: Omit<NodeOutcomeRecord, 'outputs' | 'error' | 'durationMs'>, limits: PayloadLimits): Promise<NodeResult> {
    return this.writer.write((db) => {
      const started = performance.now();
      const now = this.clock.now();
      let result: NodeResult;
      try {
        result = { ok: true, outputs: applyStateOperation(db, operation, now), durationMs: performance.now() - started };
      } catch (error) {
        if (!(error instanceof StateOperationError)) throw error;
        result = { ok: false, error: { code: error.code, message: error.message, retryable: false }, durationMs: performance.now() - started };
      }
      executions.insertNodeOutcome(db, { ...outcome, durationMs: result.durationMs, outputs: result.ok ? result.outputs : null, error: result.ok ? null : result.error }, limits, this.resultsDir, now);
      return result;
    });
  }

  recordNodeRetry(executionId: string, nodeId: string, nextAttempt: number, waitMs: number, reason: string): void {
    const at = this.clock.now();
    this.fireAndForget((db) => executions.insertNodeRetry(db, executionId, nodeId, nextAttempt, waitMs, reason, at));
  }

  recordIterationStarted(executionId: string, loopNodeId: string, iteration: number, label: string): void {
    const at = this.clock.now();
    this.fireAndForget((db) => executions.insertIterationStarted(db, executionId, loopNodeId, iteration, label, at));
  }

  recordIterationFinished(executionId: string, loopNodeId: string, iteration: number, status: 'completed' | 'failed', outputs: Json, error: string | null): void {
    const at = this.clock.now();
    this.fireAndForget((db) => executions.updateIterationFinished(db, executionId, loopNodeId, iteration, status, outputs, error, at));
  }

  async listIterations(executionId: string) {
    return executions.selectIterations(this.readDb, executionId);
  }

  saveProgress(executionId: string, executionMode: string, nodeResults: Record<string, NodeRunRecord>): void {
    const at = this.clock.now();
    this.writer.writeLatest(`progress:${executionId}`, (db) => executions.updateProgress(db, executionId, executionMode, nodeResults, at));
  }

  async previousNodeRecords(executionId: string) {
    return executions.selectPreviousNodes(this.readDb, executionId, this.resultsDir);
  }

  async getExecution(id: string) {
    return executions.selectExecution(this.readDb, id);
  }

  async listExecutions(filter: ExecutionListFilter) {
    return executions.selectExecutions(this.readDb, filter);
  }

  async listResults(executionId: string) {
    return executions.selectResults(this.readDb, executionId);
  }

  async listLogs(executionId: string, limit: number, afterId?: number) {
    return executions.selectLogs(this.readDb, executionId, limit, afterId);
  }
}
