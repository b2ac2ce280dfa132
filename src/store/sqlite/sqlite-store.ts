// The SQLite adapter of the storage port: writes through the one Writer (group commit), reads on a
// separate read-only connection so API reads never wait behind a commit.
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { Clock } from '../../domain/clock.js';
import { isoAt } from '../../domain/clock.js';
import type { EnqueueRequest } from '../../domain/event.js';
import type { NodeOutcomeRecord, NodeRunRecord, PayloadLimits } from '../../domain/execution.js';
import type { Json, NodeResult } from '../../../workers/node-contract.js';
import type { Logger } from '../../log.js';
import { queueFull } from '../../errors.js';
import type { CredentialChanges, CredentialInput } from '../store.js';
import type { EventListFilter, ExecutionListFilter, RunFinish, Store, WorkflowInput } from '../store.js';
import type { WorkflowListFilter } from '../store.js';
import * as apiKeys from './api-key-sql.js';
import type { Actor, AuditEntry, AuditListFilter, UserStatus } from '../access-store.js';
import * as audit from './audit-sql.js';
import * as settingsSql from './settings-sql.js';
import * as users from './user-sql.js';
import * as credentials from './credential-sql.js';
import { openReadConnection, openWriteConnection, type SynchronousMode } from './connection.js';
import * as queue from './event-queue-sql.js';
import * as executions from './execution-sql.js';
import * as workflows from './workflow-sql.js';
import * as files from './file-sql.js';
import * as interactions from './interaction-sql.js';
import type { InteractionAnswer, NewInteraction } from '../../domain/interaction.js';
import type { InteractionListFilter } from '../store.js';
import type { FileInput, FileListFilter } from '../store.js';
import { Writer } from './writer.js';
import * as monitoring from './monitoring-sql.js';
import type { TriggerState } from '../monitoring-store.js';
import { SqliteRetention } from './sqlite-retention.js';
import { applyStateOperation } from './state-sql.js';
import { StateOperationError, type StateOperation } from '../../domain/state-operation.js';

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
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly resultsDir: string;

  constructor(options: SqliteStoreOptions) {
    this.resultsDir = options.resultsDir ?? path.join(path.dirname(options.dbPath), 'results');
    this.clock = options.clock;
    this.log = options.log;
    this.writeDb = openWriteConnection(options.dbPath, options.synchronous);
    this.readDb = openReadConnection(options.dbPath);
    this.writer = new Writer(this.writeDb, { maxBatch: options.writerMaxBatch, maxDelayMs: options.writerMaxDelayMs, log: options.log, onCommit: options.onCommit });
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

  // --- queue ---

  async enqueue(request: EnqueueRequest, sortKey: number, maxPending?: number) {
    // The refusal is a value inside the transaction (a throw would fail the whole group commit).
    const outcome = await this.writer.write((db) => queue.insertEvent(db, request, sortKey, this.clock.now(), maxPending));
    if ('full' in outcome) throw queueFull(maxPending ?? 0);
    return outcome;
  }

  claim(limit: number, owner: string, leaseMs: number, maxPerWorkflow = Number.POSITIVE_INFINITY) {
    return this.writer.write((db) => queue.claimEvents(db, limit, owner, leaseMs, this.clock.now(), maxPerWorkflow));
  }

  finishRun(finish: RunFinish) {
    return this.writer.write((db) => queue.finishRun(db, finish, this.clock.now()));
  }

  cancelPendingEvent(id: number) {
    return this.writer.write((db) => queue.cancelPendingEvent(db, id, this.clock.now()));
  }

  async cancelExecution(executionId: string) {
    const changed = await this.writer.write((db) => queue.cancelExecution(db, executionId, this.clock.now()));
    const execution = this.getExecution(executionId);
    return execution ? { execution, changed } : null;
  }

  requeueExecution(executionId: string, sortKeyAt: (priority: number, runAt: number) => number) {
    return this.writer.write((db) => queue.requeueExecution(db, executionId, sortKeyAt, this.clock.now()));
  }

  rescueOrphans() {
    return this.writer.write((db) => queue.rescueOrphans(db, this.clock.now()));
  }

  getEvent(id: number) {
    return queue.selectEvent(this.readDb, id);
  }

  listEvents(filter: EventListFilter) {
    return queue.selectEvents(this.readDb, filter);
  }

  queueDepth() {
    return queue.selectQueueDepth(this.readDb, this.clock.now());
  }

  nextDueAt() {
    return queue.selectNextDueAt(this.readDb, this.clock.now());
  }

  // --- executions ---

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

  listIterations(executionId: string) {
    return executions.selectIterations(this.readDb, executionId);
  }

  saveProgress(executionId: string, executionMode: string, nodeResults: Record<string, NodeRunRecord>): void {
    const at = this.clock.now();
    this.writer.writeLatest(`progress:${executionId}`, (db) => executions.updateProgress(db, executionId, executionMode, nodeResults, at));
  }

  previousNodeRecords(executionId: string) {
    return executions.selectPreviousNodes(this.readDb, executionId, this.resultsDir);
  }

  getExecution(id: string) {
    return executions.selectExecution(this.readDb, id);
  }

  listExecutions(filter: ExecutionListFilter) {
    return executions.selectExecutions(this.readDb, filter);
  }

  listResults(executionId: string) {
    return executions.selectResults(this.readDb, executionId);
  }

  listLogs(executionId: string, limit: number, afterId?: number) {
    return executions.selectLogs(this.readDb, executionId, limit, afterId);
  }

  // --- workflows ---

  createWorkflow(id: string, input: WorkflowInput) {
    return this.writer.write((db) => workflows.insertWorkflow(db, id, input, this.clock.now()));
  }

  updateWorkflow(id: string, input: WorkflowInput) {
    return this.writer.write((db) => workflows.updateWorkflow(db, id, input, this.clock.now()));
  }

  deleteWorkflow(id: string) {
    return this.writer.write((db) => workflows.deleteWorkflow(db, id));
  }

  getWorkflow(id: string) {
    return workflows.selectWorkflow(this.readDb, id);
  }

  workflowExists(id: string) {
    return workflows.workflowExists(this.readDb, id);
  }

  listWorkflows(limit: number, offset: number, filter: WorkflowListFilter = {}) {
    return workflows.selectWorkflows(this.readDb, limit, offset, filter);
  }

  countWorkflows(filter: WorkflowListFilter = {}) {
    return workflows.countWorkflows(this.readDb, filter);
  }

  // --- monitoring and trigger state ---

  startMonitoring(workflowId: string) {
    return this.writer.write((db) => monitoring.startMonitoring(db, workflowId, this.clock.now()));
  }

  stopMonitoring(workflowId: string) {
    return this.writer.write((db) => monitoring.stopMonitoring(db, workflowId, this.clock.now()));
  }

  getMonitoring(workflowId: string) {
    return monitoring.selectMonitoring(this.readDb, workflowId);
  }

  listMonitoringWorkflowIds() {
    return monitoring.selectMonitoringWorkflowIds(this.readDb);
  }

  triggerStates(workflowId: string) {
    return monitoring.selectTriggerStates(this.readDb, workflowId);
  }

  saveTriggerState(workflowId: string, nodeId: string, state: TriggerState) {
    return this.writer.write((db) => monitoring.upsertTriggerState(db, workflowId, nodeId, state, this.clock.now()));
  }

  // --- api keys and settings ---

  createApiKey(input: { userId: number; name: string; keyPrefix: string; keyHash: string; scopes: string[]; expiresAt: string | null }) {
    return this.writer.write((db) => apiKeys.insertApiKey(db, input, isoAt(this.clock.now())));
  }

  findApiKeyByHash(keyHash: string) {
    return apiKeys.selectApiKeyByHash(this.readDb, keyHash);
  }

  getApiKey(id: number) {
    return apiKeys.selectApiKey(this.readDb, id);
  }

  listApiKeys() {
    return apiKeys.selectApiKeys(this.readDb);
  }

  revokeApiKey(id: number) {
    return this.writer.write((db) => apiKeys.revokeApiKey(db, id, isoAt(this.clock.now())));
  }

  touchApiKey(id: number, at: string): void {
    this.fireAndForget((db) => apiKeys.touchApiKey(db, id, at));
  }

  countUsableApiKeys() {
    return apiKeys.countUsableApiKeys(this.readDb, isoAt(this.clock.now()));
  }

  loadSettings() {
    return apiKeys.selectSettings(this.readDb);
  }

  updateSettings(category: string, values: Record<string, Json>, actor: Actor) {
    return this.writer.write((db) => settingsSql.updateSettings(db, category, values, actor, isoAt(this.clock.now())));
  }

  // --- users and the audit trail ---

  createUser(input: { name: string; email: string | null; passwordHash: string | null }) {
    return this.writer.write((db) => users.insertUser(db, input, isoAt(this.clock.now())));
  }

  setUserStatus(id: number, status: UserStatus) {
    return this.writer.write((db) => users.updateUserStatus(db, id, status, isoAt(this.clock.now())));
  }

  getUser(id: number) {
    return users.selectUser(this.readDb, id);
  }

  findUserByName(name: string) {
    return users.selectUserByName(this.readDb, name);
  }

  listUsers() {
    return users.selectUsers(this.readDb);
  }

  recordAudit(entry: AuditEntry): void {
    const at = isoAt(this.clock.now());
    this.fireAndForget((db) => audit.insertAuditLog(db, entry, at));
  }

  listAuditLogs(filter: AuditListFilter) {
    return audit.selectAuditLogs(this.readDb, filter);
  }

  // --- credentials (sealed by the caller; see CredentialStore) ---

  createCredential(input: CredentialInput, seal: (id: number) => string) {
    return this.writer.write((db) => credentials.insertCredential(db, input, seal, isoAt(this.clock.now())));
  }

  updateCredential(id: number, changes: CredentialChanges, seal: ((id: number) => string) | null) {
    return this.writer.write((db) => credentials.updateCredential(db, id, changes, seal, isoAt(this.clock.now())));
  }

  deleteCredential(id: number) {
    return this.writer.write((db) => credentials.deleteCredential(db, id));
  }

  getCredential(id: number) {
    return credentials.selectCredential(this.readDb, id);
  }

  listCredentials(limit: number, offset: number) {
    return credentials.selectCredentials(this.readDb, limit, offset);
  }

  countCredentials() {
    return credentials.countCredentials(this.readDb);
  }

  sealedCredential(id: number) {
    return credentials.selectSealedCredential(this.readDb, id);
  }

  credentialKeyCounts() {
    return credentials.countCredentialsByKey(this.readDb);
  }

  touchCredential(id: number, at: string): void {
    this.fireAndForget((db) => credentials.touchCredential(db, id, at));
  }

  resealCredentials(reseal: (id: number, sealed: string) => string) {
    return this.writer.write((db) => credentials.resealCredentials(db, reseal));
  }

  // --- files (metadata; the bytes are the file storage's) ---

  createFile(input: FileInput) {
    return this.writer.write((db) => files.insertFile(db, input, isoAt(this.clock.now())));
  }

  getFile(id: number) {
    return files.selectFile(this.readDb, id);
  }

  listFiles(filter: FileListFilter) {
    return files.selectFiles(this.readDb, filter);
  }

  deleteFile(id: number) {
    return this.writer.write((db) => files.deleteFile(db, id));
  }

  // --- interactions (human in the loop) ---

  findApproval(executionId: string, nodeId: string) {
    return this.writer.write((db) => interactions.selectApproval(db, executionId, nodeId, this.clock.now()));
  }

  createInteraction(input: NewInteraction) {
    return this.writer.write((db) => interactions.insertInteraction(db, input, this.clock.now()));
  }

  answerInteraction(answer: InteractionAnswer, sortKeyAt: (priority: number, runAt: number) => number) {
    return this.writer.write((db) => interactions.answerInteraction(db, answer, this.clock.now(), sortKeyAt));
  }

  expireInteraction(interactionId: string, sortKeyAt: (priority: number, runAt: number) => number) {
    return this.writer.write((db) => interactions.expireInteraction(db, interactionId, this.clock.now(), sortKeyAt));
  }

  dueInteractionIds(limit: number) {
    return interactions.selectDueInteractionIds(this.readDb, this.clock.now(), limit);
  }

  nextInteractionExpiry() {
    return interactions.selectNextExpiry(this.readDb);
  }

  getInteractionByToken(interactionId: string, tokenHash: string) {
    return interactions.selectInteractionByToken(this.readDb, interactionId, tokenHash);
  }

  listInteractions(filter: InteractionListFilter) {
    return interactions.selectInteractions(this.readDb, filter);
  }

  /** A write nobody awaits (its order in the writer queue is what matters); a failure is logged, never lost silently. */
  private fireAndForget(apply: (db: Database.Database) => unknown): void {
    // Reaching the catch means a bug (a constraint we violated): the run goes on, its record is incomplete.
    this.writer.write(apply).catch((error: unknown) => this.log.error('background write failed', { error: String(error) }));
  }
}
