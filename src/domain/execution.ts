// An execution's vocabulary: statuses and what is recorded of each node.
import type { Json, NodeError, PortValues } from '../../workers/node-contract.js';

/** pending → running → (paused ↔ running) → completed | failed | cancelled; cancelled is sticky. */
export type ExecutionStatus = 'pending' | 'running' | 'paused' | 'completed' | 'failed' | 'cancelled';

/** Statuses an execution never leaves. */
export const terminalExecutionStatuses: ReadonlySet<ExecutionStatus> = new Set(['completed', 'failed', 'cancelled']);

/** Where a node is in one run; `waiting` is a node that paused the run for a person's answer. */
export type NodeRunStatus = 'pending' | 'running' | 'waiting' | 'completed' | 'failed' | 'skipped' | 'cancelled';

/** What `executions.node_results` keeps per node. */
export interface NodeRunRecord {
  status: NodeRunStatus;
  outputs?: PortValues;
  error?: NodeError;
  started_at?: string;
  completed_at?: string;
  duration_ms?: number;
  attempts: number;
}

/** The finished form of a node's run, as the runner reports it to the store. */
export interface NodeOutcomeRecord {
  executionId: string;
  /** Set where the outcome has effects on the workflow's state (metric_tracker history). */
  workflowId?: string;
  nodeId: string;
  nodeType: string;
  attempt: number;
  startedAtMs: number;
  durationMs: number;
  outputs: PortValues | null;
  error: NodeError | null;
}

/** How node results are stored: previews cut at `maxChars`, content above `inlineMaxBytes` kept in a file. */
export interface PayloadLimits {
  maxChars: number;
  inlineMaxBytes: number;
}

/** An execution row as the API shows it. */
export interface ExecutionView {
  id: string;
  workflow_id: string;
  event_id: number | null;
  status: ExecutionStatus;
  execution_source: string | null;
  execution_mode: string | null;
  started_by: string | null;
  trigger_data: Json;
  node_results: Record<string, NodeRunRecord> | null;
  final_outputs: Json;
  execution_metadata: Json;
  error_message: string | null;
  started_at: string | null;
  completed_at: string | null;
  cancelled_at: string | null;
}
