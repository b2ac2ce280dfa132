// SQL of the queue's control operations on PostgreSQL — cancel an execution, put a failed one back in
// line, list events — the twins of their statements in store/sqlite/event-queue-sql.ts. The claim and
// finish path lives in pg-queue-sql.ts, whose lock order these follow: the workflow's pending counter
// first, then the event row, then the execution row (the order a finishing run takes them in), then
// the interactions.
import type { Knex } from 'knex';
import type { QueuedEvent } from '../../domain/event.js';
import { isoAt } from '../../domain/clock.js';
import { conflict } from '../../errors.js';
import type { EventListFilter } from '../queue-store.js';
import { closeInteractionsOf } from './pg-interaction-sql.js';
import { eventColumns, lockDepthRows, toQueuedEvent } from './pg-queue-sql.js';
import { changes, rows, type PgRunner, type Row } from './pg-statements.js';

const liveStatuses = `('pending', 'processing', 'paused')`;

/**
 * Locks what a change to an execution's event touches, in the lock order: the workflow's pending
 * counter, then the event row. Returns the event (the oldest, should there be several), or undefined.
 */
async function lockEventOf(trx: Knex.Transaction, executionId: string): Promise<Row | undefined> {
  // workflow_id never changes, so the unlocked read names the right counter to lock.
  const [found] = await rows(trx, `SELECT workflow_id FROM event_queue WHERE execution_id = ? ORDER BY id LIMIT 1`, [executionId]);
  if (!found) return undefined;
  await lockDepthRows(trx, [found.workflow_id as string]);
  const locked = await rows(trx, `SELECT id, priority, workflow_id, dedup_key FROM event_queue WHERE execution_id = ? ORDER BY id FOR UPDATE`, [executionId]);
  return locked[0];
}

/** Cancels an execution that has not ended and its event (pending, processing or paused); `cancelled` is sticky. */
export async function cancelExecution(trx: Knex.Transaction, executionId: string, nowMs: number): Promise<boolean> {
  const now = isoAt(nowMs);
  await lockEventOf(trx, executionId);
  const changed = await changes(
    trx,
    `UPDATE executions SET status = 'cancelled', cancelled_at = ?, completed_at = ?, updated_at = ?
      WHERE id = ? AND status IN ('pending', 'running', 'paused')`,
    [now, now, now, executionId],
  );
  if (changed === 0) return false;
  await changes(
    trx,
    `UPDATE event_queue SET status = 'cancelled', finished_at = ?, updated_at = ?, error_message = 'execution cancelled',
            lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE execution_id = ? AND status IN ${liveStatuses}`,
    [now, now, executionId],
  );
  await closeInteractionsOf(trx, executionId, nowMs);
  return true;
}

/**
 * Re-queues the event of a failed or cancelled execution with fresh attempts; the execution waits as
 * pending. A live event holding the same dedup key refuses it with `dedup_key_taken` (thrown, so the
 * execution update rolls back with it). As on SQLite, an execution without an event is set pending
 * and answers false.
 */
export async function requeueExecution(trx: Knex.Transaction, executionId: string, sortKeyAt: (priority: number, runAt: number) => number, nowMs: number): Promise<boolean> {
  const now = isoAt(nowMs);
  const event = await lockEventOf(trx, executionId);
  const changed = await changes(
    trx,
    `UPDATE executions SET status = 'pending', error_message = NULL, completed_at = NULL, cancelled_at = NULL, updated_at = ?
      WHERE id = ? AND status IN ('failed', 'cancelled')`,
    [now, executionId],
  );
  if (changed === 0 || !event) return false;
  if (event.dedup_key !== null) {
    const [holder] = await rows(trx, `SELECT id FROM event_queue WHERE workflow_id = ? AND dedup_key = ? AND status IN ${liveStatuses} AND id <> ?`, [
      event.workflow_id,
      event.dedup_key,
      event.id,
    ]);
    if (holder) {
      const holderId = Number(holder.id);
      throw conflict('dedup_key_taken', `event ${holderId} of this workflow is live with the same dedup_key; retry once it has finished`, { event_id: holderId });
    }
  }
  await changes(
    trx,
    `UPDATE event_queue SET status = 'pending', attempts = 0, rescues = 0, run_at = ?, sort_key = ?, error_message = NULL, finished_at = NULL,
            updated_at = ?, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE id = ?`,
    [nowMs, sortKeyAt(Number(event.priority), nowMs), now, event.id],
  );
  return true;
}

/** A page of events, newest first. */
export async function selectEvents(db: PgRunner, filter: EventListFilter): Promise<QueuedEvent[]> {
  const status = filter.status ?? null;
  const workflowId = filter.workflowId ?? null;
  const beforeId = filter.beforeId ?? null;
  const found = await rows(
    db,
    `SELECT ${eventColumns} FROM event_queue
      WHERE (?::text IS NULL OR status = ?) AND (?::text IS NULL OR workflow_id = ?) AND (?::bigint IS NULL OR id < ?)
      ORDER BY id DESC LIMIT ?`,
    [status, status, workflowId, workflowId, beforeId, beforeId, filter.limit],
  );
  return found.map(toQueuedEvent);
}
