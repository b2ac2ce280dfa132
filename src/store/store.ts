// The storage port. The queue, the engine and the API depend only on these interfaces, so a
// PostgreSQL adapter can stand beside the SQLite one without touching them.
import type { Json, NodeResult } from '../../workers/node-contract.js';
import type { StateOperation } from '../domain/state-operation.js';
import type { ClaimedEvent, EnqueueRequest, EventStatus, QueuedEvent } from '../domain/event.js';
import type { ExecutionStatus, ExecutionView, NodeOutcomeRecord, NodeRunRecord, PayloadLimits } from '../domain/execution.js';
import type { WorkflowData } from '../domain/workflow.js';

/** The result of an enqueue: the event, and whether it is new or an earlier one with the same dedup key. */
export interface EnqueueOutcome {
  event: QueuedEvent;
  created: boolean;
}

/** How a claimed event ends. Every one is applied only while the caller still holds the lease. */
export type EventOutcome =
  | { kind: 'completed' }
  | { kind: 'retry'; runAt: number; error: string }
  | { kind: 'failed'; error: string }
  | { kind: 'released' };

/** The end of one attempt of a run: the execution's new state and the event's outcome, applied together. */
export interface RunFinish {
  eventId: number;
  leaseToken: string;
  executionId: string;
  executionStatus: ExecutionStatus;
  nodeResults: Record<string, NodeRunRecord>;
  finalOutputs: Json;
  errorMessage: string | null;
  /** Kept on the execution: which workflow structure the attempt ran (a retry compares it). */
  executionMetadata: Json;
  event: EventOutcome;
}

/** Filters for listing events. */
export interface EventListFilter {
  status?: EventStatus;
  workflowId?: string;
  limit: number;
  /** Events with an id below this one (pages go newest first). */
  beforeId?: number;
}

/** Queue depth as `GET /api/v1/queue` reports it. */
export interface QueueDepth {
  byStatus: Record<EventStatus, number>;
  pendingByPriority: Record<string, number>;
  oldestPendingCreatedAt: string | null;
  duePending: number;
}

/** The queue's storage. */
export interface QueueStore {
  enqueue(request: EnqueueRequest, sortKey: number): Promise<EnqueueOutcome>;
  /** Claims up to `limit` due events, most urgent first, and creates (or reopens) their executions. */
  claim(limit: number, owner: string, leaseMs: number): Promise<ClaimedEvent[]>;
  /** Ends an attempt: execution row and event row change in one transaction. False if the lease was lost. */
  finishRun(finish: RunFinish): Promise<boolean>;
  /** Cancels a pending event; null when there is no such event, the event as it is otherwise. */
  cancelPendingEvent(id: number): Promise<{ cancelled: boolean; event: QueuedEvent } | null>;
  /** Cancels an execution that has not ended, and its event; null when missing, else whether it changed. */
  cancelExecution(executionId: string): Promise<{ execution: ExecutionView; changed: boolean } | null>;
  /** Puts a failed or cancelled execution's event back in the queue, keeping what finished nodes recorded. */
  requeueExecution(executionId: string, sortKeyAt: (priority: number, runAt: number) => number): Promise<boolean>;
  /** Returns events left `processing` by a dead process to `pending` without consuming an attempt. */
  rescueOrphans(): Promise<number>;
  getEvent(id: number): QueuedEvent | null;
  listEvents(filter: EventListFilter): QueuedEvent[];
  queueDepth(): QueueDepth;
  /** Epoch ms of the earliest future `run_at` among pending events, or null. */
  nextDueAt(): number | null;
}

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
  listIterations(executionId: string): ExecutionIterationView[];
  /** Saves the execution's latest node snapshot; only the newest per execution is written. */
  saveProgress(executionId: string, executionMode: string, nodeResults: Record<string, NodeRunRecord>): void;
  /** Node records of earlier attempts of this execution; completed ones carry their outputs (resumable runs). */
  previousNodeRecords(executionId: string): Map<string, NodeRunRecord>;
  getExecution(id: string): ExecutionView | null;
  /** A page of executions, newest first (ids are time-ordered, so the id is the cursor). */
  listExecutions(filter: ExecutionListFilter): ExecutionSummary[];
  listResults(executionId: string): ExecutionResultView[];
  listLogs(executionId: string, limit: number, afterId?: number): ExecutionLogView[];
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

/** A workflow as stored. */
export interface WorkflowRecord {
  id: string;
  name: string;
  description: string | null;
  version: string;
  workflow_data: WorkflowData;
  tags: string[];
  author_id: number | null;
  execution_config: Record<string, Json>;
  status: string;
  is_active: boolean;
  is_template: boolean;
  template_category: string | null;
  last_execution_id: string | null;
  created_at: string;
  updated_at: string;
  last_run_at: string | null;
}

/** Fields a client may set on a workflow. */
export interface WorkflowInput {
  name: string;
  description: string | null;
  version: string;
  workflow_data: WorkflowData;
  tags: string[];
  execution_config: Record<string, Json>;
  is_active: boolean;
  is_template: boolean;
  template_category: string | null;
  author_id: number | null;
}

/** Workflow definitions. */
export interface WorkflowStore {
  createWorkflow(id: string, input: WorkflowInput): Promise<WorkflowRecord>;
  updateWorkflow(id: string, input: WorkflowInput): Promise<WorkflowRecord | null>;
  /** Deletes unless work is in flight; 'busy' when pending/processing events or running executions exist. */
  deleteWorkflow(id: string): Promise<'deleted' | 'missing' | 'busy'>;
  getWorkflow(id: string): WorkflowRecord | null;
  /** Cheaper than getWorkflow when only existence matters (every enqueue asks). */
  workflowExists(id: string): boolean;
  listWorkflows(limit: number, offset: number): WorkflowRecord[];
  countWorkflows(): number;
}

/** An API key row without its hash. */
export interface ApiKeyRecord {
  id: number;
  user_id: number;
  name: string;
  key_prefix: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  is_active: boolean;
}

/** API keys, stored as hashes only. */
export interface ApiKeyStore {
  createApiKey(input: { userId: number; name: string; keyPrefix: string; keyHash: string; scopes: string[]; expiresAt: string | null }): Promise<ApiKeyRecord>;
  findApiKeyByHash(keyHash: string): ApiKeyRecord | null;
  listApiKeys(): ApiKeyRecord[];
  revokeApiKey(id: number): Promise<boolean>;
  touchApiKey(id: number, at: string): void;
  countUsableApiKeys(): number;
}

/** The settings table, read whole. */
export interface SettingsStore {
  loadSettings(): Record<string, Record<string, Json>>;
}

/** The whole storage port. */
export interface Store extends QueueStore, ExecutionStore, WorkflowStore, ApiKeyStore, SettingsStore {
  /** True while writes are accepted. */
  readonly isWritable: boolean;
  /** Commits everything queued. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Group-commit counters. */
  writerStats(): { commits: number; operations: number; lastBatchSize: number; lastCommitMs: number };
}
