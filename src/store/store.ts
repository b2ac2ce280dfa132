// The storage port. The queue, the engine and the API depend only on these interfaces, so a
// PostgreSQL adapter can stand beside the SQLite one without touching them.
import type { Json, NodeResult } from '../../workers/node-contract.js';
import type { StateOperation } from '../domain/state-operation.js';
import type { ClaimedEvent, EnqueueRequest, EventStatus, QueuedEvent } from '../domain/event.js';
import type { ExecutionStatus, ExecutionView, NodeOutcomeRecord, NodeRunRecord, PayloadLimits } from '../domain/execution.js';
import type { WorkflowData } from '../domain/workflow.js';
import type { AnswerOutcome, InteractionAnswer, InteractionStatus, InteractionView, NewInteraction } from '../domain/interaction.js';
import type { Actor, AuditStore, SettingChange, UserStore } from './access-store.js';
import type { MonitoringStore } from './monitoring-store.js';

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
  | { kind: 'released' }
  /** Waits for a person's answer: not claimable, no lease, the attempt given back (email_approval). */
  | { kind: 'paused' };

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
  /**
   * Commits an event (or finds the live one with its dedup key). With `maxPending`, a new event of a
   * workflow that already has that many pending ones is refused: rejects with AppError `queue_full` (429).
   */
  enqueue(request: EnqueueRequest, sortKey: number, maxPending?: number): Promise<EnqueueOutcome>;
  /**
   * Claims up to `limit` due events, most urgent first, at most `maxPerWorkflow` of one workflow
   * processing at once (no per-workflow limit without it), and creates (or reopens) their executions.
   */
  claim(limit: number, owner: string, leaseMs: number, maxPerWorkflow?: number): Promise<ClaimedEvent[]>;
  /** Ends an attempt: execution row and event row change in one transaction. False if the lease was lost. */
  finishRun(finish: RunFinish): Promise<boolean>;
  /** Cancels a pending event; null when there is no such event, the event as it is otherwise. */
  cancelPendingEvent(id: number): Promise<{ cancelled: boolean; event: QueuedEvent } | null>;
  /** Cancels an execution that has not ended, and its event; null when missing, else whether it changed. */
  cancelExecution(executionId: string): Promise<{ execution: ExecutionView; changed: boolean } | null>;
  /** Puts a failed or cancelled execution's event back in the queue, keeping what finished nodes recorded. */
  requeueExecution(executionId: string, sortKeyAt: (priority: number, runAt: number) => number): Promise<boolean>;
  /** Returns events left `processing` by a dead process to `pending` without consuming an attempt; fails those orphaned for the max_attempts-th time. */
  rescueOrphans(): Promise<{ requeued: number; failed: number }>;
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
  listWorkflows(limit: number, offset: number, filter?: WorkflowListFilter): WorkflowRecord[];
  countWorkflows(filter?: WorkflowListFilter): number;
}

/** Which workflows a list shows; an absent field does not filter. */
export interface WorkflowListFilter {
  isTemplate?: boolean;
  templateCategory?: string;
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

/** A key as authentication sees it: with the status of the user it belongs to. */
export interface AuthenticatedKey extends ApiKeyRecord {
  user_status: string;
}

/** API keys, stored as hashes only. */
export interface ApiKeyStore {
  createApiKey(input: { userId: number; name: string; keyPrefix: string; keyHash: string; scopes: string[]; expiresAt: string | null }): Promise<ApiKeyRecord>;
  /** The key with this hash and its user's status (revoked and expired keys included: the caller decides). */
  findApiKeyByHash(keyHash: string): AuthenticatedKey | null;
  getApiKey(id: number): ApiKeyRecord | null;
  listApiKeys(): ApiKeyRecord[];
  revokeApiKey(id: number): Promise<boolean>;
  touchApiKey(id: number, at: string): void;
  /** Keys that could authenticate now: active, unexpired, and held by an active user. */
  countUsableApiKeys(): number;
}

/** The settings table, read whole. */
export interface SettingsStore {
  loadSettings(): Record<string, Record<string, Json>>;
  /**
   * Writes validated values of one category and, in the same transaction, an audit_logs row with each
   * key's old and new value, so a change is never without its record. Returns what actually changed.
   */
  updateSettings(category: string, values: Record<string, Json>, actor: Actor): Promise<SettingChange[]>;
}

/** A credential's metadata: never its secret values, only the names of its fields. */
export interface CredentialRecord {
  id: number;
  user_id: number;
  name: string;
  credential_type: string;
  description: string | null;
  field_names: string[];
  /** The key its data is sealed under (from the sealed text's header; nothing is decrypted for it). */
  key_id: string | null;
  created_at: string;
  updated_at: string | null;
  last_used_at: string | null;
}

/** A new credential's metadata; its data arrives sealed, through the seal callback. */
export interface CredentialInput {
  userId: number;
  name: string;
  credentialType: string;
  description: string | null;
  fieldNames: string[];
}

/** Changes to a credential; absent fields keep their value. */
export interface CredentialChanges {
  name?: string;
  credentialType?: string;
  description?: string | null;
  fieldNames?: string[];
}

/** A credential's sealed data, for the code that opens it. */
export interface SealedCredential {
  id: number;
  encrypted_data: string;
}

/**
 * Credentials, stored sealed. `seal(id)` runs inside the write transaction once the row id is known
 * (the sealed value is bound to its row), so a row never exists without its data.
 */
export interface CredentialStore {
  createCredential(input: CredentialInput, seal: (id: number) => string): Promise<CredentialRecord | 'name_taken'>;
  /** `seal` null keeps the data as it is. */
  updateCredential(id: number, changes: CredentialChanges, seal: ((id: number) => string) | null): Promise<CredentialRecord | 'missing' | 'name_taken'>;
  deleteCredential(id: number): Promise<boolean>;
  getCredential(id: number): CredentialRecord | null;
  listCredentials(limit: number, offset: number): CredentialRecord[];
  countCredentials(): number;
  sealedCredential(id: number): SealedCredential | null;
  /** How many credentials are sealed under each key id. */
  credentialKeyCounts(): Map<string | null, number>;
  touchCredential(id: number, at: string): void;
  /** Re-seals every credential in one transaction; a throw from `reseal` leaves all of them as they were. */
  resealCredentials(reseal: (id: number, sealed: string) => string): Promise<number>;
}

/** One `files` row: an upload's metadata. `file_path` is relative to the data folder. */
export interface FileRecord {
  id: number;
  workflow_id: string | null;
  execution_id: string | null;
  /** The client's name, cleaned for display; never used to build a path. */
  original_filename: string;
  stored_filename: string;
  file_path: string;
  file_type: string | null;
  mime_type: string | null;
  size_bytes: number | null;
  file_metadata: Json;
  created_at: string;
}

/** A new `files` row. */
export interface FileInput {
  workflowId: string | null;
  executionId: string | null;
  originalFilename: string;
  storedFilename: string;
  filePath: string;
  fileType: string;
  mimeType: string;
  sizeBytes: number;
  metadata: Record<string, Json>;
}

/** Filters for listing files. */
export interface FileListFilter {
  workflowId?: string;
  limit: number;
  /** Files with an id below this one (pages go newest first). */
  beforeId?: number;
}

/** Uploaded files' metadata (the bytes are the file storage's). */
export interface FileStore {
  /** Inserts the row unless the workflow or execution it names does not exist. */
  createFile(input: FileInput): Promise<FileRecord | 'workflow_missing' | 'execution_missing'>;
  getFile(id: number): FileRecord | null;
  listFiles(filter: FileListFilter): FileRecord[];
  /** Deletes the row and returns it, or null when there was none. */
  deleteFile(id: number): Promise<FileRecord | null>;
}

/** Filters for listing interactions (human in the loop). */
export interface InteractionListFilter {
  status?: InteractionStatus;
  workflowId?: string;
  executionId?: string;
  limit: number;
  /** Interactions with a row id below this one (pages go newest first). */
  beforeId?: number;
}

/** Human-in-the-loop questions (email_interactions) and the pause/resume of their executions. */
export interface InteractionStore {
  /** The interaction an execution's node opened earlier (expired first when its time is up), or null. */
  findApproval(executionId: string, nodeId: string): Promise<InteractionView | null>;
  /** Opens an interaction (only the token's hash is stored). */
  createInteraction(input: NewInteraction): Promise<InteractionView>;
  /** Records an answer and resumes the paused execution in the same transaction. */
  answerInteraction(answer: InteractionAnswer, sortKeyAt: (priority: number, runAt: number) => number): Promise<AnswerOutcome>;
  /** Expires a pending interaction whose time is up and resumes its execution; false when not due. */
  expireInteraction(interactionId: string, sortKeyAt: (priority: number, runAt: number) => number): Promise<boolean>;
  /** Ids of pending interactions past their deadline. */
  dueInteractionIds(limit: number): string[];
  /** Epoch ms of the earliest pending deadline, or null. */
  nextInteractionExpiry(): number | null;
  /** The interaction when `tokenHash` matches its token, else null. */
  getInteractionByToken(interactionId: string, tokenHash: string): InteractionView | null;
  listInteractions(filter: InteractionListFilter): Array<{ cursor: number; interaction: InteractionView }>;
}

/** The whole storage port. */
export interface Store extends QueueStore, ExecutionStore, WorkflowStore, ApiKeyStore, SettingsStore, CredentialStore, UserStore, AuditStore, FileStore, InteractionStore, MonitoringStore {
  /** True while writes are accepted. */
  readonly isWritable: boolean;
  /** Commits everything queued. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Group-commit counters. */
  writerStats(): { commits: number; operations: number; lastBatchSize: number; lastCommitMs: number; pending: number };
}
