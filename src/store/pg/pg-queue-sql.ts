// SQL of the event queue on PostgreSQL: the same guarantees as store/sqlite/event-queue-sql.ts, for
// several daemons sharing one database. Every finishing write is guarded by status and lease token
// (fencing), claims take rows with FOR UPDATE SKIP LOCKED, and the per-workflow limits are counted in
// the database under a per-workflow lock (see pg-queue.ts for the choice of lock).
//
// Lock order, to keep transactions from deadlocking each other: a transaction that moves events of
// several workflows locks their workflow_queue_depth rows first, in workflow_id order, before it
// changes any event (the depth triggers of migration 006 would otherwise lock them in row order).
import type { Knex } from 'knex';
import type { EnqueueRequest, EventStatus, QueuedEvent } from '../../domain/event.js';
import { isoAt } from '../../domain/clock.js';
import type { QueueDepth, RunFinish } from '../queue-store.js';
import { changes, isoOf, jsonText, type PgRunner, readJson, type Row, rows } from './pg-statements.js';
import { queuedEventFrom } from '../row-views.js';

/** The columns a QueuedEvent is read from. */
export const eventColumns = `id, workflow_id, event_type, event_data, priority, status, source, run_at, attempts, max_attempts,
  dedup_key, execution_id, error_message, lease_token, created_at, processed_at, finished_at`;

// The partial unique index of migration 003: ON CONFLICT must name its predicate to use it.
const liveDedup = `(workflow_id, dedup_key) WHERE dedup_key IS NOT NULL AND status IN ('pending', 'processing', 'paused')`;

/** An event_queue row as the API shows it. */
export const toQueuedEvent = (row: Row): QueuedEvent => queuedEventFrom(row, readJson);

/** The live event of a workflow with this dedup key, if any. */
export async function selectLiveByDedup(db: PgRunner, workflowId: string, dedupKey: string): Promise<QueuedEvent | null> {
  const found = await rows(
    db,
    `SELECT ${eventColumns} FROM event_queue WHERE workflow_id = ? AND dedup_key = ? AND status IN ('pending', 'processing', 'paused')`,
    [workflowId, dedupKey],
  );
  return found[0] ? toQueuedEvent(found[0]) : null;
}

/**
 * Locks the workflow's pending counter (creating a 0 row first) and returns its count. Held to commit,
 * so concurrent enqueues of one workflow, on any daemon, take the last free slot one at a time.
 */
export async function lockPendingCount(trx: Knex.Transaction, workflowId: string): Promise<number> {
  await changes(trx, `INSERT INTO workflow_queue_depth (workflow_id, pending) VALUES (?, 0) ON CONFLICT (workflow_id) DO NOTHING`, [workflowId]);
  const found = await rows(trx, `SELECT pending FROM workflow_queue_depth WHERE workflow_id = ? FOR UPDATE`, [workflowId]);
  return Number(found[0]?.pending ?? 0);
}

/** Inserts an event; null when a live event holds its dedup key (committed by someone else meanwhile). */
export async function insertEvent(db: PgRunner, request: EnqueueRequest, sortKey: number, nowMs: number): Promise<QueuedEvent | null> {
  const now = isoAt(nowMs);
  const inserted = await rows(
    db,
    `INSERT INTO event_queue (workflow_id, event_type, event_data, priority, status, source, run_at, sort_key, attempts,
       max_attempts, dedup_key, created_at, updated_at)
     VALUES (?, ?, ?::json, ?, 'pending', ?, ?, ?, 0, ?, ?, ?, ?)
     ON CONFLICT ${liveDedup} DO NOTHING
     RETURNING ${eventColumns}`,
    [request.workflowId, request.eventType, jsonText(request.eventData), request.priority, request.source, request.runAt, sortKey, request.maxAttempts, request.dedupKey, now, now],
  );
  return inserted[0] ? toQueuedEvent(inserted[0]) : null;
}

/** Locks the pending counters of these workflows in workflow_id order (the lock order of this file). */
export async function lockDepthRows(trx: Knex.Transaction, workflowIds: string[]): Promise<void> {
  if (workflowIds.length === 0) return;
  await rows(
    trx,
    `SELECT workflow_id FROM workflow_queue_depth
      WHERE workflow_id IN (SELECT jsonb_array_elements_text(?::jsonb)) ORDER BY workflow_id FOR UPDATE`,
    [JSON.stringify(workflowIds)],
  );
}

/** The workflow of an event, or null. */
export async function selectWorkflowOf(db: PgRunner, eventId: number): Promise<string | null> {
  const found = await rows(db, `SELECT workflow_id FROM event_queue WHERE id = ?`, [eventId]);
  return (found[0]?.workflow_id as string | undefined) ?? null;
}

/** True while the execution waits for a person's answer. */
export async function hasPendingInteraction(db: PgRunner, executionId: string): Promise<boolean> {
  return (await rows(db, `SELECT 1 FROM email_interactions WHERE execution_id = ? AND status = 'pending' LIMIT 1`, [executionId])).length > 0;
}

/** Applies an attempt's outcome to its event, guarded by status and lease token; how many rows changed (0 or 1). */
export function updateFinishedEvent(trx: Knex.Transaction, finish: RunFinish, outcome: RunFinish['event'], nowMs: number): Promise<number> {
  const now = isoAt(nowMs);
  if (outcome.kind === 'completed' || outcome.kind === 'failed') {
    return changes(
      trx,
      `UPDATE event_queue SET status = ?, error_message = ?, finished_at = ?, updated_at = ?,
              lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
        WHERE id = ? AND status = 'processing' AND lease_token = ?`,
      [outcome.kind, outcome.kind === 'failed' ? outcome.error : null, now, now, finish.eventId, finish.leaseToken],
    );
  }
  // A retry waits for its backoff; a release or a pause gives the attempt back and keeps its place in line.
  const runAt = outcome.kind === 'retry' ? outcome.runAt : null;
  return changes(
    trx,
    `UPDATE event_queue SET status = ?, run_at = COALESCE(?::bigint, run_at), sort_key = sort_key + (COALESCE(?::bigint, run_at) - run_at),
            attempts = attempts - ?, error_message = ?, updated_at = ?, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE id = ? AND status = 'processing' AND lease_token = ?`,
    [
      outcome.kind === 'paused' ? 'paused' : 'pending',
      runAt,
      runAt,
      outcome.kind === 'released' || outcome.kind === 'paused' ? 1 : 0,
      outcome.kind === 'retry' ? outcome.error : null,
      now,
      finish.eventId,
      finish.leaseToken,
    ],
  );
}

/** Writes the attempt's end to its execution; `cancelled` is sticky. */
export async function updateFinishedExecution(trx: Knex.Transaction, finish: RunFinish, nowMs: number): Promise<void> {
  const now = isoAt(nowMs);
  const terminal = finish.executionStatus === 'completed' || finish.executionStatus === 'failed' || finish.executionStatus === 'cancelled';
  await changes(
    trx,
    `UPDATE executions SET status = ?, node_results = ?::json, final_outputs = ?::json, error_message = ?, completed_at = ?,
            updated_at = ?, execution_metadata = ?::json
      WHERE id = ? AND status != 'cancelled'`,
    [
      finish.executionStatus,
      jsonText(finish.nodeResults),
      jsonText(finish.finalOutputs),
      finish.errorMessage,
      terminal ? now : null,
      now,
      jsonText(finish.executionMetadata),
      finish.executionId,
    ],
  );
}

/** A cancelled attempt still leaves its node records and the structure it ran. */
export async function recordCancelledAttempt(trx: Knex.Transaction, finish: RunFinish, nowMs: number): Promise<void> {
  await changes(trx, `UPDATE executions SET node_results = ?::json, execution_metadata = ?::json, updated_at = ? WHERE id = ? AND status = 'cancelled'`, [
    jsonText(finish.nodeResults),
    jsonText(finish.executionMetadata),
    isoAt(nowMs),
    finish.executionId,
  ]);
}

/** Cancels a pending event (and its waiting execution); null when there is no such event. */
export async function cancelPending(trx: Knex.Transaction, id: number, nowMs: number): Promise<{ cancelled: boolean; event: QueuedEvent } | null> {
  const now = isoAt(nowMs);
  const changed = await changes(trx, `UPDATE event_queue SET status = 'cancelled', finished_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'`, [now, now, id]);
  const event = await selectEvent(trx, id);
  if (!event) return null;
  if (changed > 0 && event.executionId) {
    await changes(trx, `UPDATE executions SET status = 'cancelled', cancelled_at = ?, completed_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'`, [
      now,
      now,
      now,
      event.executionId,
    ]);
  }
  return { cancelled: changed > 0, event };
}

/** One event by id. */
export async function selectEvent(db: PgRunner, id: number): Promise<QueuedEvent | null> {
  const found = await rows(db, `SELECT ${eventColumns} FROM event_queue WHERE id = ?`, [id]);
  return found[0] ? toQueuedEvent(found[0]) : null;
}

const allStatuses: EventStatus[] = ['pending', 'processing', 'paused', 'completed', 'failed', 'cancelled'];

/** Depth by status and by priority, the oldest pending event and how many are due. */
export async function selectQueueDepth(db: PgRunner, nowMs: number): Promise<QueueDepth> {
  const byStatus = Object.fromEntries(allStatuses.map((status) => [status, 0])) as Record<EventStatus, number>;
  for (const row of await rows(db, `SELECT status, COUNT(*) AS n FROM event_queue GROUP BY status`)) byStatus[row.status as EventStatus] = Number(row.n);
  const pendingByPriority: Record<string, number> = { '1': 0, '2': 0, '3': 0, '4': 0, '5': 0 };
  for (const row of await rows(db, `SELECT priority, COUNT(*) AS n FROM event_queue WHERE status = 'pending' GROUP BY priority`)) {
    pendingByPriority[String(row.priority)] = Number(row.n);
  }
  const [summary] = await rows(
    db,
    `SELECT MIN(created_at) AS oldest, COUNT(*) FILTER (WHERE run_at <= ?) AS due FROM event_queue WHERE status = 'pending'`,
    [nowMs],
  );
  return { byStatus, pendingByPriority, oldestPendingCreatedAt: isoOf(summary?.oldest), duePending: Number(summary?.due ?? 0) };
}

/** The earliest run time among pending events not yet due. */
export async function selectNextDueAt(db: PgRunner, nowMs: number): Promise<number | null> {
  const [row] = await rows(db, `SELECT MIN(run_at) AS next FROM event_queue WHERE status = 'pending' AND run_at > ?`, [nowMs]);
  return row?.next === null || row?.next === undefined ? null : Number(row.next);
}
