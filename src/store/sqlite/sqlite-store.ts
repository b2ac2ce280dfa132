// The SQLite adapter of the storage port: writes through the one Writer (group commit), reads on a
// separate read-only connection so API reads never wait behind a commit. This class owns the two
// connections and the writer; the work is done by one object per table family (sqlite-queue.ts,
// sqlite-executions.ts, …) that shares them, and each method here forwards to its family in one call
// (the promise it returns is the family's own: no extra hop on the claim/finish/enqueue path).
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { Clock } from '../../domain/clock.js';
import type { EnqueueRequest } from '../../domain/event.js';
import type { NodeOutcomeRecord, NodeRunRecord, PayloadLimits } from '../../domain/execution.js';
import type { InteractionAnswer, NewInteraction } from '../../domain/interaction.js';
import type { StateOperation } from '../../domain/state-operation.js';
import type { Json, NodeResult } from '../../../workers/node-contract.js';
import type { Logger } from '../../log.js';
import type { Actor, AuditEntry, AuditListFilter, UserStatus } from '../access-store.js';
import type { TriggerState } from '../monitoring-store.js';
import type { CredentialChanges, CredentialInput, EventListFilter, ExecutionListFilter, FileInput, FileListFilter, InteractionListFilter, RunFinish, Store, WorkflowInput, WorkflowListFilter } from '../store.js';
import { openReadConnection, openWriteConnection, type SynchronousMode } from './connection.js';
import { SqliteAccess } from './sqlite-access.js';
import { SqliteCredentials } from './sqlite-credentials.js';
import { SqliteExecutions } from './sqlite-executions.js';
import type { SqliteContext } from './sqlite-family.js';
import { SqliteFiles } from './sqlite-files.js';
import { SqliteInteractions } from './sqlite-interactions.js';
import { SqliteMonitoring } from './sqlite-monitoring.js';
import { SqliteQueue } from './sqlite-queue.js';
import { SqliteRetention } from './sqlite-retention.js';
import { SqliteWorkflows } from './sqlite-workflows.js';
import { Writer } from './writer.js';

/** What opening the store needs. */
export interface SqliteStoreOptions {
  dbPath: string;
  synchronous: SynchronousMode;
  writerMaxBatch: number;
  writerMaxDelayMs: number;
  clock: Clock;
  log: Logger;
  /** Where results too large to keep inline are written; beside the database unless given. */
  resultsDir?: string;
  /** Told after each group commit (metrics). */
  onCommit?: (batchSize: number, commitMs: number) => void;
}

/** The storage port on one SQLite file. Open it after migrations have run. */
export class SqliteStore implements Store {
  private readonly writeDb: Database.Database;
  private readonly readDb: Database.Database;
  private readonly writer: Writer;
  private readonly resultsDir: string;
  private readonly queue: SqliteQueue;
  private readonly executions: SqliteExecutions;
  private readonly workflows: SqliteWorkflows;
  private readonly monitoring: SqliteMonitoring;
  private readonly access: SqliteAccess;
  private readonly credentials: SqliteCredentials;
  private readonly files: SqliteFiles;
  private readonly interactions: SqliteInteractions;

  constructor(options: SqliteStoreOptions) {
    this.resultsDir = options.resultsDir ?? path.join(path.dirname(options.dbPath), 'results');
    this.writeDb = openWriteConnection(options.dbPath, options.synchronous);
    this.readDb = openReadConnection(options.dbPath);
    this.writer = new Writer(this.writeDb, { maxBatch: options.writerMaxBatch, maxDelayMs: options.writerMaxDelayMs, log: options.log, onCommit: options.onCommit });
    const context: SqliteContext = { readDb: this.readDb, writer: this.writer, clock: options.clock, log: options.log, resultsDir: this.resultsDir };
    this.queue = new SqliteQueue(context);
    this.executions = new SqliteExecutions(context);
    this.workflows = new SqliteWorkflows(context);
    this.monitoring = new SqliteMonitoring(context);
    this.access = new SqliteAccess(context);
    this.credentials = new SqliteCredentials(context);
    this.files = new SqliteFiles(context);
    this.interactions = new SqliteInteractions(context);
  }

  get isWritable(): boolean {
    return this.writer.isOpen;
  }

  writerStats() {
    return { ...this.writer.stats };
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  /** Retention's finders (read connection) and batched deletes (through the writer). */
  retention(): SqliteRetention {
    return new SqliteRetention(this.readDb, (apply) => this.writer.write(apply), this.resultsDir);
  }

  async close(): Promise<void> {
    await this.writer.close();
    this.writeDb.pragma('wal_checkpoint(TRUNCATE)');
    this.readDb.close();
    this.writeDb.close();
  }

  // --- queue (sqlite-queue.ts) ---
  enqueue(request: EnqueueRequest, sortKey: number, maxPending?: number) { return this.queue.enqueue(request, sortKey, maxPending); }
  claim(limit: number, owner: string, leaseMs: number, maxPerWorkflow?: number) { return this.queue.claim(limit, owner, leaseMs, maxPerWorkflow); }
  finishRun(finish: RunFinish) { return this.queue.finishRun(finish); }
  cancelPendingEvent(id: number) { return this.queue.cancelPendingEvent(id); }
  cancelExecution(executionId: string) { return this.queue.cancelExecution(executionId); }
  requeueExecution(executionId: string, sortKeyAt: (priority: number, runAt: number) => number) { return this.queue.requeueExecution(executionId, sortKeyAt); }
  rescueOrphans() { return this.queue.rescueOrphans(); }
  getEvent(id: number) { return this.queue.getEvent(id); }
  listEvents(filter: EventListFilter) { return this.queue.listEvents(filter); }
  queueDepth() { return this.queue.queueDepth(); }
  nextDueAt() { return this.queue.nextDueAt(); }

  // --- executions (sqlite-executions.ts) ---
  recordNodeStarted(executionId: string, nodeId: string, nodeType: string, attempt: number): void { this.executions.recordNodeStarted(executionId, nodeId, nodeType, attempt); }
  recordNodeOutcome(outcome: NodeOutcomeRecord, limits: PayloadLimits): void { this.executions.recordNodeOutcome(outcome, limits); }
  runStateNode(operation: StateOperation, outcome: Omit<NodeOutcomeRecord, 'outputs' | 'error' | 'durationMs'>, limits: PayloadLimits): Promise<NodeResult> { return this.executions.runStateNode(operation, outcome, limits); }
  recordNodeRetry(executionId: string, nodeId: string, nextAttempt: number, waitMs: number, reason: string): void { this.executions.recordNodeRetry(executionId, nodeId, nextAttempt, waitMs, reason); }
  recordIterationStarted(executionId: string, loopNodeId: string, iteration: number, label: string): void { this.executions.recordIterationStarted(executionId, loopNodeId, iteration, label); }
  recordIterationFinished(executionId: string, loopNodeId: string, iteration: number, status: 'completed' | 'failed', outputs: Json, error: string | null): void { this.executions.recordIterationFinished(executionId, loopNodeId, iteration, status, outputs, error); }
  listIterations(executionId: string) { return this.executions.listIterations(executionId); }
  saveProgress(executionId: string, executionMode: string, nodeResults: Record<string, NodeRunRecord>): void { this.executions.saveProgress(executionId, executionMode, nodeResults); }
  previousNodeRecords(executionId: string) { return this.executions.previousNodeRecords(executionId); }
  getExecution(id: string) { return this.executions.getExecution(id); }
  listExecutions(filter: ExecutionListFilter) { return this.executions.listExecutions(filter); }
  listResults(executionId: string) { return this.executions.listResults(executionId); }
  listLogs(executionId: string, limit: number, afterId?: number) { return this.executions.listLogs(executionId, limit, afterId); }

  // --- workflows (sqlite-workflows.ts) ---
  createWorkflow(id: string, input: WorkflowInput) { return this.workflows.createWorkflow(id, input); }
  updateWorkflow(id: string, input: WorkflowInput) { return this.workflows.updateWorkflow(id, input); }
  deleteWorkflow(id: string) { return this.workflows.deleteWorkflow(id); }
  getWorkflow(id: string) { return this.workflows.getWorkflow(id); }
  workflowExists(id: string) { return this.workflows.workflowExists(id); }
  listWorkflows(limit: number, offset: number, filter?: WorkflowListFilter) { return this.workflows.listWorkflows(limit, offset, filter); }
  countWorkflows(filter?: WorkflowListFilter) { return this.workflows.countWorkflows(filter); }

  // --- monitoring and trigger state (sqlite-monitoring.ts) ---
  startMonitoring(workflowId: string) { return this.monitoring.startMonitoring(workflowId); }
  stopMonitoring(workflowId: string) { return this.monitoring.stopMonitoring(workflowId); }
  getMonitoring(workflowId: string) { return this.monitoring.getMonitoring(workflowId); }
  listMonitoringWorkflowIds() { return this.monitoring.listMonitoringWorkflowIds(); }
  triggerStates(workflowId: string) { return this.monitoring.triggerStates(workflowId); }
  saveTriggerState(workflowId: string, nodeId: string, state: TriggerState) { return this.monitoring.saveTriggerState(workflowId, nodeId, state); }

  // --- api keys, settings, users and the audit trail (sqlite-access.ts) ---
  createApiKey(input: { userId: number; name: string; keyPrefix: string; keyHash: string; scopes: string[]; expiresAt: string | null }) { return this.access.createApiKey(input); }
  findApiKeyByHash(keyHash: string) { return this.access.findApiKeyByHash(keyHash); }
  getApiKey(id: number) { return this.access.getApiKey(id); }
  listApiKeys() { return this.access.listApiKeys(); }
  revokeApiKey(id: number) { return this.access.revokeApiKey(id); }
  touchApiKey(id: number, at: string): void { this.access.touchApiKey(id, at); }
  countUsableApiKeys() { return this.access.countUsableApiKeys(); }
  loadSettings() { return this.access.loadSettings(); }
  updateSettings(category: string, values: Record<string, Json>, actor: Actor) { return this.access.updateSettings(category, values, actor); }
  createUser(input: { name: string; email: string | null; passwordHash: string | null }) { return this.access.createUser(input); }
  setUserStatus(id: number, status: UserStatus) { return this.access.setUserStatus(id, status); }
  getUser(id: number) { return this.access.getUser(id); }
  findUserByName(name: string) { return this.access.findUserByName(name); }
  listUsers() { return this.access.listUsers(); }
  recordAudit(entry: AuditEntry): void { this.access.recordAudit(entry); }
  listAuditLogs(filter: AuditListFilter) { return this.access.listAuditLogs(filter); }

  // --- credentials, sealed by the caller (sqlite-credentials.ts) ---
  createCredential(input: CredentialInput, seal: (id: number) => string) { return this.credentials.createCredential(input, seal); }
  updateCredential(id: number, changes: CredentialChanges, seal: ((id: number) => string) | null) { return this.credentials.updateCredential(id, changes, seal); }
  deleteCredential(id: number) { return this.credentials.deleteCredential(id); }
  getCredential(id: number) { return this.credentials.getCredential(id); }
  listCredentials(limit: number, offset: number) { return this.credentials.listCredentials(limit, offset); }
  countCredentials() { return this.credentials.countCredentials(); }
  sealedCredential(id: number) { return this.credentials.sealedCredential(id); }
  credentialKeyCounts() { return this.credentials.credentialKeyCounts(); }
  touchCredential(id: number, at: string): void { this.credentials.touchCredential(id, at); }
  resealCredentials(reseal: (id: number, sealed: string) => string) { return this.credentials.resealCredentials(reseal); }

  // --- files' metadata (sqlite-files.ts) ---
  createFile(input: FileInput) { return this.files.createFile(input); }
  getFile(id: number) { return this.files.getFile(id); }
  listFiles(filter: FileListFilter) { return this.files.listFiles(filter); }
  deleteFile(id: number) { return this.files.deleteFile(id); }

  // --- interactions, human in the loop (sqlite-interactions.ts) ---
  findApproval(executionId: string, nodeId: string) { return this.interactions.findApproval(executionId, nodeId); }
  createInteraction(input: NewInteraction) { return this.interactions.createInteraction(input); }
  answerInteraction(answer: InteractionAnswer, sortKeyAt: (priority: number, runAt: number) => number) { return this.interactions.answerInteraction(answer, sortKeyAt); }
  expireInteraction(interactionId: string, sortKeyAt: (priority: number, runAt: number) => number) { return this.interactions.expireInteraction(interactionId, sortKeyAt); }
  dueInteractionIds(limit: number) { return this.interactions.dueInteractionIds(limit); }
  nextInteractionExpiry() { return this.interactions.nextInteractionExpiry(); }
  getInteractionByToken(interactionId: string, tokenHash: string) { return this.interactions.getInteractionByToken(interactionId, tokenHash); }
  listInteractions(filter: InteractionListFilter) { return this.interactions.listInteractions(filter); }
}
