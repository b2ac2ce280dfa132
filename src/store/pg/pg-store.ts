// The PostgreSQL adapter of the storage port, for several daemons on one database: the twin of
// store/sqlite/sqlite-store.ts. This class owns the knex pool and the one PgWriter; the work is done by
// one object per table family that shares them, and each method here forwards to its family in one
// call. The queue family writes on the pool in its own short transactions (claims from several
// daemons must not queue behind one writer); every other write goes through the writer, in order.
import path from 'node:path';
import knexFactory from 'knex';
import type { Knex } from 'knex';
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
import { PgAccess } from './pg-access.js';
import { PgCredentials } from './pg-credentials.js';
import { PgExecutions } from './pg-executions.js';
import type { PgContext } from './pg-family.js';
import { PgFiles } from './pg-files.js';
import { PgInteractions } from './pg-interactions.js';
import { PgMonitoring } from './pg-monitoring.js';
import { PgQueue } from './pg-queue.js';
import { PgRetention } from './pg-retention.js';
import { PgWorkflows } from './pg-workflows.js';
import { PgWriter } from './pg-writer.js';

/** What opening the store needs. */
export interface PgStoreOptions {
  /** postgres://… */
  url: string;
  /** The schema the daemon's tables live in (search_path); several fleets may share a database. */
  schema: string;
  poolMax: number;
  writerMaxBatch: number;
  /** This daemon's own folder: results too large to keep inline are written under it. */
  dataDir: string;
  clock: Clock;
  log: Logger;
  onCommit?: (batchSize: number, commitMs: number) => void;
  /** Told when a write meets a lost connection (readiness; the health ping notices the return). */
  onConnectionLost?: (error: unknown) => void;
  /** Told after an event is committed, so idle daemons can be woken (NOTIFY). */
  onEnqueued?: (workflowId: string) => void;
}

/** A knex pool on `schema`; used by the store and by the daemon's migration step. */
export function openPgPool(url: string, schema: string, poolMax: number): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: url, application_name: 'tav-engine' },
    searchPath: [schema],
    // A dead connection is dropped by the pool and a new one made on the next acquire; a short
    // acquire timeout turns a database that is down into an error the caller can wait out.
    pool: { min: 0, max: poolMax, acquireTimeoutMillis: 10_000 },
    acquireConnectionTimeout: 10_000,
    // knex would print connection errors to the console on its own; they reach our JSON log through
    // the promise that failed, once, with the context of what was being done.
    log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
  });
}

/** The storage port on one PostgreSQL schema. Open it after migrations have run. */
export class PgStore implements Store {
  readonly db: Knex;
  private readonly writer: PgWriter;
  private readonly context: PgContext;
  readonly queue: PgQueue;
  private readonly executions: PgExecutions;
  private readonly workflows: PgWorkflows;
  private readonly monitoring: PgMonitoring;
  private readonly access: PgAccess;
  private readonly credentials: PgCredentials;
  private readonly files: PgFiles;
  private readonly interactions: PgInteractions;

  constructor(private readonly options: PgStoreOptions) {
    this.db = openPgPool(options.url, options.schema, options.poolMax);
    this.writer = new PgWriter(this.db, {
      // Half the pool at most, so claims, ends of runs and API reads always find a connection.
      lanes: Math.max(1, Math.min(4, Math.floor(options.poolMax / 2))),
      maxBatch: options.writerMaxBatch,
      log: options.log,
      onCommit: options.onCommit,
      onConnectionLost: options.onConnectionLost,
    });
    this.context = { db: this.db, writer: this.writer, clock: options.clock, log: options.log, resultsDir: path.join(options.dataDir, 'results') };
    this.queue = new PgQueue(this.db, options.clock);
    this.executions = new PgExecutions(this.context);
    this.workflows = new PgWorkflows(this.context);
    this.monitoring = new PgMonitoring(this.context);
    this.access = new PgAccess(this.context);
    this.credentials = new PgCredentials(this.context);
    this.files = new PgFiles(this.context);
    this.interactions = new PgInteractions(this.context);
  }

  /** The database this store is on (the fleet opens its own sessions there). */
  get url(): string {
    return this.options.url;
  }

  get schema(): string {
    return this.options.schema;
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

  /** Retention's finders (pool) and batched deletes (through the writer). */
  retention(): PgRetention {
    return new PgRetention(this.context);
  }

  async close(): Promise<void> {
    await this.writer.close();
    await this.db.destroy();
  }

  // --- queue (pg-queue.ts) ---
  async enqueue(request: EnqueueRequest, sortKey: number, maxPending?: number) {
    const outcome = await this.queue.enqueue(request, sortKey, maxPending);
    if (outcome.created) this.options.onEnqueued?.(request.workflowId);
    return outcome;
  }
  claim(limit: number, owner: string, leaseMs: number, maxPerWorkflow?: number, maxProcessing?: number) { return this.queue.claim(limit, owner, leaseMs, maxPerWorkflow, maxProcessing); }
  finishRun(finish: RunFinish) {
    // Through the writer: the run's node records are ahead of it in the same queue, and the ends of
    // many runs commit in one transaction (one fsync) instead of one each. The writer waits out a
    // lost connection; a repeat of an end that did commit is fenced off by the lease token.
    return this.writer.write((trx) => this.queue.finishRunIn(trx, finish), finish.executionId);
  }
  cancelPendingEvent(id: number) { return this.queue.cancelPendingEvent(id); }
  async cancelExecution(executionId: string) {
    await this.writer.flush();
    return this.queue.cancelExecution(executionId);
  }
  async requeueExecution(executionId: string, sortKeyAt: (priority: number, runAt: number) => number) {
    const requeued = await this.queue.requeueExecution(executionId, sortKeyAt);
    if (requeued) this.options.onEnqueued?.('');
    return requeued;
  }
  rescueOrphans() { return this.queue.rescueOrphans(); }
  getEvent(id: number) { return this.queue.getEvent(id); }
  listEvents(filter: EventListFilter) { return this.queue.listEvents(filter); }
  queueDepth() { return this.queue.queueDepth(); }
  nextDueAt() { return this.queue.nextDueAt(); }
  /** The heartbeat: extends the leases `owner` holds on `eventIds` (the runs still in flight). */
  renewLeases(owner: string, leaseMs: number, eventIds: number[]) { return this.queue.renewLeases(owner, leaseMs, eventIds); }
  /** A dead daemon's events back to the queue once their leases expired. */
  reclaimExpired() { return this.queue.reclaimExpired(); }

  // --- executions (pg-executions.ts) ---
  recordNodeStarted(executionId: string, nodeId: string, nodeType: string, attempt: number): void { this.executions.recordNodeStarted(executionId, nodeId, nodeType, attempt); }
  recordNodeOutcome(outcome: NodeOutcomeRecord, limits: PayloadLimits): void { this.executions.recordNodeOutcome(outcome, limits); }
  runStateNode(operation: StateOperation, outcome: Omit<NodeOutcomeRecord, 'outputs' | 'error' | 'durationMs'>, limits: PayloadLimits): Promise<NodeResult> { return this.executions.runStateNode(operation, outcome, limits); }
  recordNodeRetry(executionId: string, nodeId: string, nextAttempt: number, waitMs: number, reason: string): void { this.executions.recordNodeRetry(executionId, nodeId, nextAttempt, waitMs, reason); }
  recordIterationStarted(executionId: string, loopNodeId: string, iteration: number, label: string): void { this.executions.recordIterationStarted(executionId, loopNodeId, iteration, label); }
  recordIterationFinished(executionId: string, loopNodeId: string, iteration: number, status: 'completed' | 'failed', outputs: Json, error: string | null): void { this.executions.recordIterationFinished(executionId, loopNodeId, iteration, status, outputs, error); }
  listIterations(executionId: string) { return this.executions.listIterations(executionId); }
  saveProgress(executionId: string, executionMode: string, nodeResults: Record<string, NodeRunRecord>): Promise<void> { return this.executions.saveProgress(executionId, executionMode, nodeResults); }
  previousNodeRecords(executionId: string) { return this.executions.previousNodeRecords(executionId); }
  getExecution(id: string) { return this.executions.getExecution(id); }
  listExecutions(filter: ExecutionListFilter) { return this.executions.listExecutions(filter); }
  listResults(executionId: string) { return this.executions.listResults(executionId); }
  listLogs(executionId: string, limit: number, afterId?: number) { return this.executions.listLogs(executionId, limit, afterId); }

  // --- workflows (pg-workflows.ts) ---
  createWorkflow(id: string, input: WorkflowInput) { return this.workflows.createWorkflow(id, input); }
  updateWorkflow(id: string, input: WorkflowInput) { return this.workflows.updateWorkflow(id, input); }
  deleteWorkflow(id: string) { return this.workflows.deleteWorkflow(id); }
  getWorkflow(id: string) { return this.workflows.getWorkflow(id); }
  workflowExists(id: string) { return this.workflows.workflowExists(id); }
  listWorkflows(limit: number, offset: number, filter?: WorkflowListFilter) { return this.workflows.listWorkflows(limit, offset, filter); }
  countWorkflows(filter?: WorkflowListFilter) { return this.workflows.countWorkflows(filter); }

  // --- monitoring and trigger state (pg-monitoring.ts) ---
  startMonitoring(workflowId: string) { return this.monitoring.startMonitoring(workflowId); }
  stopMonitoring(workflowId: string) { return this.monitoring.stopMonitoring(workflowId); }
  getMonitoring(workflowId: string) { return this.monitoring.getMonitoring(workflowId); }
  listMonitoringWorkflowIds() { return this.monitoring.listMonitoringWorkflowIds(); }
  triggerStates(workflowId: string) { return this.monitoring.triggerStates(workflowId); }
  saveTriggerState(workflowId: string, nodeId: string, state: TriggerState) { return this.monitoring.saveTriggerState(workflowId, nodeId, state); }

  // --- api keys, settings, users and the audit trail (pg-access.ts) ---
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

  // --- credentials, sealed by the caller (pg-credentials.ts) ---
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

  // --- files' metadata (pg-files.ts) ---
  createFile(input: FileInput) { return this.files.createFile(input); }
  getFile(id: number) { return this.files.getFile(id); }
  listFiles(filter: FileListFilter) { return this.files.listFiles(filter); }
  deleteFile(id: number) { return this.files.deleteFile(id); }

  // --- interactions, human in the loop (pg-interactions.ts) ---
  findApproval(executionId: string, nodeId: string) { return this.interactions.findApproval(executionId, nodeId); }
  createInteraction(input: NewInteraction) { return this.interactions.createInteraction(input); }
  async answerInteraction(answer: InteractionAnswer, sortKeyAt: (priority: number, runAt: number) => number) {
    const outcome = await this.interactions.answerInteraction(answer, sortKeyAt);
    this.options.onEnqueued?.('');
    return outcome;
  }
  expireInteraction(interactionId: string, sortKeyAt: (priority: number, runAt: number) => number) { return this.interactions.expireInteraction(interactionId, sortKeyAt); }
  dueInteractionIds(limit: number) { return this.interactions.dueInteractionIds(limit); }
  nextInteractionExpiry() { return this.interactions.nextInteractionExpiry(); }
  getInteractionByToken(interactionId: string, tokenHash: string) { return this.interactions.getInteractionByToken(interactionId, tokenHash); }
  listInteractions(filter: InteractionListFilter) { return this.interactions.listInteractions(filter); }
}
