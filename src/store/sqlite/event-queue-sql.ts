// SQL of the event queue: enqueue, claim, finish, cancel, rescue and the reads the API needs.
// Every state change is guarded by the state the caller saw (status and lease token), so a late
// write from a dead or superseded attempt changes nothing.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { ClaimedEvent, EnqueueRequest, EventStatus, QueuedEvent } from '../../domain/event.js';
import { isoAt } from '../../domain/clock.js';
import { uuidv7 } from '../../domain/ids.js';
import { conflict } from '../../errors.js';
import type { EventListFilter, QueueDepth, RunFinish } from '../store.js';
import { countPendingOfWorkflow, selectClaimableIds } from './claim-sql.js';
import { statement } from './connection.js';
import { fromJsonColumn, toJsonColumn } from './json-columns.js';
import { closeInteractionsOf, hasPendingInteraction } from './interaction-sql.js';
import { queuedEventFrom } from '../row-views.js';

const eventColumns = `id, workflow_id, event_type, event_data, priority, status, source, run_at, attempts, max_attempts,
  dedup_key, execution_id, error_message, lease_token, created_at, processed_at, finished_at`;

type EventRow = Record<string, unknown>;

const toQueuedEvent = (row: EventRow): QueuedEvent => queuedEventFrom(row, fromJsonColumn);

/**
 * Inserts an event, or returns the active event with the same dedup key; refuses a new event (`full`)
 * when its workflow already has `maxPending` pending events. Count and insert share the writer's
 * transaction, so concurrent enqueues cannot overshoot the limit.
 */
export function insertEvent(
  db: Database.Database,
  request: EnqueueRequest,
  sortKey: number,
  nowMs: number,
  maxPending = Number.POSITIVE_INFINITY,
): { event: QueuedEvent; created: boolean } | { full: true } {
  if (request.dedupKey !== null) {
    const existing = statement(
      db,
      `SELECT ${eventColumns} FROM event_queue WHERE workflow_id = ? AND dedup_key = ? AND status IN ('pending', 'processing', 'paused')`,
    ).get(request.workflowId, request.dedupKey) as EventRow | undefined;
    if (existing) return { event: toQueuedEvent(existing), created: false };
  }
  // A dedup hit above is never refused: it adds nothing to the queue.
  if (Number.isFinite(maxPending) && countPendingOfWorkflow(db, request.workflowId) >= maxPending) return { full: true };
  const row = statement(
    db,
    `INSERT INTO event_queue (workflow_id, event_type, event_data, priority, status, source, run_at, sort_key, attempts,
       max_attempts, dedup_key, created_at, updated_at)
     VALUES (@workflowId, @eventType, @eventData, @priority, 'pending', @source, @runAt, @sortKey, 0, @maxAttempts, @dedupKey, @now, @now)
     RETURNING ${eventColumns}`,
  ).get({
    workflowId: request.workflowId,
    eventType: request.eventType,
    eventData: toJsonColumn(request.eventData),
    priority: request.priority,
    source: request.source,
    runAt: request.runAt,
    sortKey,
    maxAttempts: request.maxAttempts,
    dedupKey: request.dedupKey,
    now: isoAt(nowMs),
  }) as EventRow;
  return { event: toQueuedEvent(row), created: true };
}

/**
 * Claims up to `limit` due events in claim order under one new lease, at most `maxPerWorkflow` of one
 * workflow processing at once (the rest stay pending), and gives each an execution: a new one, or the
 * one an earlier attempt left (so finished nodes can be reused).
 */
export function claimEvents(db: Database.Database, limit: number, owner: string, leaseMs: number, nowMs: number, maxPerWorkflow: number): ClaimedEvent[] {
  const ids = selectClaimableIds(db, limit, maxPerWorkflow, nowMs);
  if (ids.length === 0) return [];
  const leaseToken = randomUUID();
  const nowIso = isoAt(nowMs);
  const rows = statement(
    db,
    `UPDATE event_queue
        SET status = 'processing', attempts = attempts + 1, lease_owner = @owner, lease_token = @leaseToken,
            lease_expires_at = @leaseExpiresAt, processed_at = @now, updated_at = @now
      WHERE id IN (SELECT value FROM json_each(@ids)) AND status = 'pending'
      RETURNING id, workflow_id, event_data, priority, attempts, max_attempts, execution_id, source, sort_key, created_at`,
  ).all({ owner, leaseToken, leaseExpiresAt: nowMs + leaseMs, now: nowIso, ids: JSON.stringify(ids) }) as EventRow[];
  rows.sort((a, b) => Number(a.sort_key) - Number(b.sort_key) || Number(a.id) - Number(b.id));
  return rows.map((row) => openExecution(db, row, leaseToken, nowIso));
}

function openExecution(db: Database.Database, row: EventRow, leaseToken: string, nowIso: string): ClaimedEvent {
  let executionId = row.execution_id as string | null;
  const resumed = executionId !== null;
  if (executionId === null) {
    executionId = uuidv7();
    statement(
      db,
      `INSERT INTO executions (id, workflow_id, event_id, status, execution_source, execution_mode, started_by, trigger_data,
         started_at, updated_at)
       VALUES (?, ?, ?, 'running', ?, 'parallel', 'system', ?, ?, ?)`,
    ).run(executionId, row.workflow_id, row.id, row.source, row.event_data, nowIso, nowIso);
    statement(db, `UPDATE event_queue SET execution_id = ? WHERE id = ?`).run(executionId, row.id);
  } else {
    statement(db, `UPDATE executions SET status = 'running', error_message = NULL, updated_at = ? WHERE id = ? AND status IN ('pending', 'running', 'failed')`).run(
      nowIso,
      executionId,
    );
  }
  statement(db, `UPDATE workflows SET last_execution_id = ?, last_run_at = ? WHERE id = ?`).run(executionId, nowIso, row.workflow_id);
  return {
    id: Number(row.id),
    workflowId: row.workflow_id as string,
    eventData: fromJsonColumn(row.event_data, null),
    priority: Number(row.priority),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    leaseToken,
    executionId,
    resumed,
    enqueuedAtMs: Date.parse(row.created_at as string),
  };
}

/** Applies the end of an attempt to the execution and the event together. False if the lease was lost. */
export function finishRun(db: Database.Database, finish: RunFinish, nowMs: number): boolean {
  const nowIso = isoAt(nowMs);
  // A run pauses only while a question is still open: one answered while the run wound down puts the
  // event straight back in line (as a release does), so the answer is never lost.
  const stillWaiting = finish.event.kind === 'paused' && hasPendingInteraction(db, finish.executionId);
  const outcome: RunFinish['event'] = finish.event.kind === 'paused' && !stillWaiting ? { kind: 'released' } : finish.event;
  if (finish.event.kind === 'paused') finish = { ...finish, executionStatus: stillWaiting ? 'paused' : 'pending' };
  let changed: number;
  if (outcome.kind === 'completed' || outcome.kind === 'failed') {
    changed = statement(
      db,
      `UPDATE event_queue SET status = @status, error_message = @error, finished_at = @now, updated_at = @now,
              lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
        WHERE id = @id AND status = 'processing' AND lease_token = @leaseToken`,
    ).run({ status: outcome.kind, error: outcome.kind === 'failed' ? outcome.error : null, now: nowIso, id: finish.eventId, leaseToken: finish.leaseToken }).changes;
  } else {
    // A retry waits for its backoff; a release (drain) gives the attempt back and keeps the event's
    // run_at and sort_key (a null @runAt), so it keeps its place in line, as a rescued orphan does.
    // A pause gives the attempt back too, and waits unclaimable until an answer resumes it.
    changed = statement(
      db,
      `UPDATE event_queue SET status = @status, run_at = COALESCE(@runAt, run_at), sort_key = sort_key + (COALESCE(@runAt, run_at) - run_at),
              attempts = attempts - @refund, error_message = @error, updated_at = @now,
              lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
        WHERE id = @id AND status = 'processing' AND lease_token = @leaseToken`,
    ).run({
      status: outcome.kind === 'paused' ? 'paused' : 'pending',
      runAt: outcome.kind === 'retry' ? outcome.runAt : null,
      refund: outcome.kind === 'released' || outcome.kind === 'paused' ? 1 : 0,
      error: outcome.kind === 'retry' ? outcome.error : null,
      now: nowIso,
      id: finish.eventId,
      leaseToken: finish.leaseToken,
    }).changes;
  }
  if (changed === 0) {
    // A cancel took the event away; the cancelled attempt still leaves its node records and the
    // structure it ran (a retry compares it).
    if (finish.executionStatus === 'cancelled') {
      statement(db, `UPDATE executions SET node_results = ?, execution_metadata = ?, updated_at = ? WHERE id = ? AND status = 'cancelled'`).run(
        toJsonColumn(finish.nodeResults),
        toJsonColumn(finish.executionMetadata),
        nowIso,
        finish.executionId,
      );
    }
    return false;
  }
  const terminal = finish.executionStatus === 'completed' || finish.executionStatus === 'failed' || finish.executionStatus === 'cancelled';
  // `cancelled` is sticky: a finishing attempt never overwrites it.
  statement(
    db,
    `UPDATE executions SET status = @status, node_results = @nodeResults, final_outputs = @finalOutputs,
            error_message = @error, completed_at = @completedAt, updated_at = @now, execution_metadata = @metadata
      WHERE id = @id AND status != 'cancelled'`,
  ).run({
    metadata: toJsonColumn(finish.executionMetadata),
    status: finish.executionStatus,
    nodeResults: toJsonColumn(finish.nodeResults),
    finalOutputs: toJsonColumn(finish.finalOutputs),
    error: finish.errorMessage,
    completedAt: terminal ? nowIso : null,
    now: nowIso,
    id: finish.executionId,
  });
  return true;
}

/** Cancels a pending event. */
export function cancelPendingEvent(db: Database.Database, id: number, nowMs: number): { cancelled: boolean; event: QueuedEvent } | null {
  const nowIso = isoAt(nowMs);
  const changes = statement(
    db,
    `UPDATE event_queue SET status = 'cancelled', finished_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'`,
  ).run(nowIso, nowIso, id).changes;
  const row = statement(db, `SELECT ${eventColumns} FROM event_queue WHERE id = ?`).get(id) as EventRow | undefined;
  if (!row) return null;
  if (changes > 0 && row.execution_id) {
    statement(db, `UPDATE executions SET status = 'cancelled', cancelled_at = ?, completed_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'`).run(
      nowIso,
      nowIso,
      nowIso,
      row.execution_id,
    );
  }
  return { cancelled: changes > 0, event: toQueuedEvent(row) };
}

/** Cancels an execution that has not ended and its event (pending or processing); `cancelled` is sticky. */
export function cancelExecution(db: Database.Database, executionId: string, nowMs: number): boolean {
  const nowIso = isoAt(nowMs);
  const changed = statement(
    db,
    `UPDATE executions SET status = 'cancelled', cancelled_at = ?, completed_at = ?, updated_at = ?
      WHERE id = ? AND status IN ('pending', 'running', 'paused')`,
  ).run(nowIso, nowIso, nowIso, executionId).changes;
  if (changed === 0) return false;
  statement(
    db,
    `UPDATE event_queue SET status = 'cancelled', finished_at = ?, updated_at = ?, error_message = 'execution cancelled',
            lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE execution_id = ? AND status IN ('pending', 'processing', 'paused')`,
  ).run(nowIso, nowIso, executionId);
  closeInteractionsOf(db, executionId, nowMs);
  return true;
}

/** Re-queues the event of a failed or cancelled execution with fresh attempts; the execution waits as pending. */
export function requeueExecution(db: Database.Database, executionId: string, sortKeyAt: (priority: number, runAt: number) => number, nowMs: number): boolean {
  const nowIso = isoAt(nowMs);
  const changed = statement(
    db,
    `UPDATE executions SET status = 'pending', error_message = NULL, completed_at = NULL, cancelled_at = NULL, updated_at = ?
      WHERE id = ? AND status IN ('failed', 'cancelled')`,
  ).run(nowIso, executionId).changes;
  if (changed === 0) return false;
  const event = statement(db, `SELECT id, priority, workflow_id, dedup_key FROM event_queue WHERE execution_id = ?`).get(executionId) as
    | { id: number; priority: number; workflow_id: string; dedup_key: string | null }
    | undefined;
  if (!event) return false;
  // A live event that took over the dedup key since would collide in the unique index: refuse
  // plainly (the thrown error rolls the execution update back with it).
  if (event.dedup_key !== null) {
    const holder = statement(db, `SELECT id FROM event_queue WHERE workflow_id = ? AND dedup_key = ? AND status IN ('pending', 'processing', 'paused') AND id <> ?`).get(
      event.workflow_id,
      event.dedup_key,
      event.id,
    ) as { id: number } | undefined;
    if (holder) throw conflict('dedup_key_taken', `event ${holder.id} of this workflow is live with the same dedup_key; retry once it has finished`, { event_id: holder.id });
  }
  statement(
    db,
    `UPDATE event_queue SET status = 'pending', attempts = 0, rescues = 0, run_at = ?, sort_key = ?, error_message = NULL, finished_at = NULL,
            updated_at = ?, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE id = ?`,
  ).run(nowMs, sortKeyAt(event.priority, nowMs), nowIso, event.id);
  return true;
}

/**
 * Events left `processing` by a process that died go back to `pending`, their attempt given back
 * (the crash was not the event's fault); their executions wait to be resumed. The refund is bounded:
 * an event found orphaned for the `max_attempts`-th time took its daemon down with it every time, so
 * it fails instead of crash-looping the daemon (its finished nodes stay recorded for a retry).
 */
export function rescueOrphans(db: Database.Database, nowMs: number): { requeued: number; failed: number } {
  const nowIso = isoAt(nowMs);
  const poisoned = `status = 'processing' AND rescues + 1 >= max_attempts`;
  const reason = 'the daemon stopped during every attempt of this event; it was not run again';
  statement(
    db,
    `UPDATE executions SET status = 'failed', error_message = ?, completed_at = ?, updated_at = ?
      WHERE status = 'running' AND id IN (SELECT execution_id FROM event_queue WHERE ${poisoned})`,
  ).run(reason, nowIso, nowIso);
  const failed = statement(
    db,
    `UPDATE event_queue SET status = 'failed', rescues = rescues + 1, error_message = ?, finished_at = ?, updated_at = ?,
            lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE ${poisoned}`,
  ).run(reason, nowIso, nowIso).changes;
  statement(
    db,
    `UPDATE executions SET status = 'pending', updated_at = ?
      WHERE status = 'running' AND id IN (SELECT execution_id FROM event_queue WHERE status = 'processing')`,
  ).run(nowIso);
  const requeued = statement(
    db,
    `UPDATE event_queue SET status = 'pending', attempts = MAX(attempts - 1, 0), rescues = rescues + 1, lease_owner = NULL,
            lease_token = NULL, lease_expires_at = NULL, updated_at = ?
      WHERE status = 'processing'`,
  ).run(nowIso).changes;
  return { requeued, failed };
}

/** One event by id. */
export function selectEvent(db: Database.Database, id: number): QueuedEvent | null {
  const row = statement(db, `SELECT ${eventColumns} FROM event_queue WHERE id = ?`).get(id) as EventRow | undefined;
  return row ? toQueuedEvent(row) : null;
}

/** A page of events, newest first. */
export function selectEvents(db: Database.Database, filter: EventListFilter): QueuedEvent[] {
  const rows = statement(
    db,
    `SELECT ${eventColumns} FROM event_queue
      WHERE (@status IS NULL OR status = @status) AND (@workflowId IS NULL OR workflow_id = @workflowId)
        AND (@beforeId IS NULL OR id < @beforeId)
      ORDER BY id DESC LIMIT @limit`,
  ).all({ status: filter.status ?? null, workflowId: filter.workflowId ?? null, beforeId: filter.beforeId ?? null, limit: filter.limit }) as EventRow[];
  return rows.map(toQueuedEvent);
}

const allStatuses: EventStatus[] = ['pending', 'processing', 'paused', 'completed', 'failed', 'cancelled'];

/** Depth by status and by priority, and the oldest pending event. */
export function selectQueueDepth(db: Database.Database, nowMs: number): QueueDepth {
  const byStatus = Object.fromEntries(allStatuses.map((status) => [status, 0])) as Record<EventStatus, number>;
  for (const row of statement(db, `SELECT status, COUNT(*) AS n FROM event_queue GROUP BY status`).all() as EventRow[]) {
    byStatus[row.status as EventStatus] = Number(row.n);
  }
  const pendingByPriority: Record<string, number> = { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 };
  for (const row of statement(db, `SELECT priority, COUNT(*) AS n FROM event_queue WHERE status = 'pending' GROUP BY priority`).all() as EventRow[]) {
    pendingByPriority[String(row.priority)] = Number(row.n);
  }
  const oldest = statement(db, `SELECT MIN(created_at) AS oldest FROM event_queue WHERE status = 'pending'`).get() as EventRow;
  const due = statement(db, `SELECT COUNT(*) AS n FROM event_queue WHERE status = 'pending' AND run_at <= ?`).get(nowMs) as EventRow;
  return { byStatus, pendingByPriority, oldestPendingCreatedAt: (oldest.oldest as string | null) ?? null, duePending: Number(due.n) };
}

/** The earliest run time among pending events not yet due. */
export function selectNextDueAt(db: Database.Database, nowMs: number): number | null {
  const row = statement(db, `SELECT MIN(run_at) AS next FROM event_queue WHERE status = 'pending' AND run_at > ?`).get(nowMs) as EventRow;
  return row.next === null ? null : Number(row.next);
}
