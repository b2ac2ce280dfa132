// The storage port of executions: what the runner records while one runs (node results, logs, loop
// iterations, progress) and the reads of those records. Part of `Store` (store.ts).
import type { Json, NodeResult } from '../../workers/node-contract.js';
import type { StateOperation } from '../domain/state-operation.js';
import type { ExecutionView, NodeOutcomeRecord, NodeRunRecord, PayloadLimits } from '../domain/execution.js';

/** What the runner records while an execution runs. */
export interface ExecutionStore {
  recordNodeStarted(executionId: string, nodeId: string, nodeType: string, attempt: number): void;
  recordNodeOutcome(outcome: NodeOutcomeRecord, limits: PayloadLimits): void;
  /** Runs a state node: applies its operation and records its outcome in one transaction (§7). */
  runStateNode(operation: StateOperation, outcome: Omit<NodeOutcomeRecord, 'outputs' | 'error' | 'durationMs'>, limits: PayloadLimits): Promise<NodeResult>;
  /** Logs that a failed node will be tried again after `waitMs`. */
  recordNodeRetry(executionId: string, nodeId: string, nextAttempt: number, waitMs: number, reason: string): void;
  /** Opens the execution_iterations row of a loop pass. */
  recordIterationStarted(executionId: string, loopNodeId: string, iteration: number, label: string): void;
  /** Closes a loop pass's row with its outputs. */
  recordIterationFinished(executionId: string, loopNodeId: string, iteration: number, status: 'completed' | 'failed', outputs: Json, error: string | null): void;
  listIterations(executionId: string): Promise<ExecutionIterationView[]>;
  /**
   * Saves the execution's latest node snapshot; only the newest per execution is written. A store a
   * fleet shares returns a promise that resolves once the snapshot (and the node records before it)
   * is durable: the runner waits for it before a finished node's successors start, so a daemon that
   * dies repeats at most the nodes it was running, never one that finished. On SQLite (one process,
   * commits within the event-loop turn) it returns nothing and nothing waits. Never rejects.
   */
  saveProgress(executionId: string, executionMode: string, nodeResults: Record<string, NodeRunRecord>): void | Promise<void>;
  /** Node records of earlier attempts of this execution; completed ones carry their outputs (resumable runs). */
  previousNodeRecords(executionId: string): Promise<Map<string, NodeRunRecord>>;
  getExecution(id: string): Promise<ExecutionView | null>;
  /** A page of executions, newest first (ids are time-ordered, so the id is the cursor). */
  listExecutions(filter: ExecutionListFilter): Promise<ExecutionSummary[]>;
  listResults(executionId: string): Promise<ExecutionResultView[]>;
  listLogs(executionId: string, limit: number, afterId?: number): Promise<ExecutionLogView[]>;
}

/** Filters for listing executions. */
export interface ExecutionListFilter {
  workflowId?: string;
  status?: string;
  source?: string;
  /** ISO times bounding `started_at`. */
  startedFrom?: string;
  startedTo?: string;
  limit: number;
  /** Executions with an id below this one. */
  beforeId?: string;
}

/** An execution in a list: without its per-node results. */
export type ExecutionSummary = Omit<ExecutionView, 'node_results' | 'final_outputs' | 'trigger_data'>;

/** One `execution_results` row. */
export interface ExecutionResultView {
  id: number;
  node_id: string;
  port_name: string;
  data_type: string;
  content: Json;
  content_projection: string | null;
  byte_size: number;
  file_path: string | null;
  created_at: string;
}

/** One `execution_iterations` row. */
export interface ExecutionIterationView {
  id: number;
  loop_node_id: string;
  iteration_number: number;
  iteration_value: Json;
  status: string;
  started_at: string | null;
  completed_at: string | null;
  outputs: Json;
  error_message: string | null;
}

/** One `execution_logs` row. */
export interface ExecutionLogView {
  id: number;
  node_id: string | null;
  level: string;
  event: string;
  message: string | null;
  data: Json;
  attempt: number | null;
  duration_ms: number | null;
  created_at: string;
}
