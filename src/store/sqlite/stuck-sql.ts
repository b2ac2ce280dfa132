// Executions marked `running` and the event that should be carrying them, for `tav check-stuck`.
// Each repair is guarded by the state the check saw (the execution's updated_at, the event's status
// and lease token): if the daemon moved either row meanwhile, the repair changes nothing.
import type Database from 'better-sqlite3';
import { isoAt } from '../../domain/clock.js';
import { statement } from './connection.js';

/** A running execution with what its event looks like now. */
export interface RunningExecutionRow {
  executionId: string;
  workflowId: string;
  startedAt: string | null;
  updatedAt: string | null;
  eventId: number | null;
  eventStatus: string | null;
  leaseOwner: string | null;
  leaseToken: string | null;
  leaseExpiresAt: number | null;
}

/** How a stuck execution is resolved. */
export type StuckRepair =
  /** Event back to pending (its attempt given back), execution pending: the next claim resumes it. */
  | 'requeue'
  /** Event already pending: only the execution goes back to pending to wait for it. */
  | 'reset_execution'
  /** Execution failed; an event still pending or processing fails with it. */
  | 'fail';

/** Every execution in `running`, joined to the event that points at it (if any). */
export function selectRunningExecutions(db: Database.Database): RunningExecutionRow[] {
  const rows = statement(
    db,
      `SELECT x.id AS executionId, x.workflow_id AS workflowId, x.started_at AS startedAt, x.updated_at AS updatedAt,
              e.id AS eventId, e.status AS eventStatus, e.lease_owner AS leaseOwner, e.lease_token AS leaseToken,
              e.lease_expires_at AS leaseExpiresAt
         FROM executions x LEFT JOIN event_queue e ON e.execution_id = x.id
        WHERE x.status = 'running'
        ORDER BY x.started_at, x.id`,
  ).all() as RunningExecutionRow[];
  return rows.map((row) => ({ ...row, eventId: row.eventId === null ? null : Number(row.eventId), leaseExpiresAt: row.leaseExpiresAt === null ? null : Number(row.leaseExpiresAt) }));
}

/** Signals that a guarded update found the row changed; rolls back the savepoint. */
class RowMoved extends Error {}

/** Applies one repair if both rows are still as `seen`; false when the daemon moved one of them first. */
export function repairStuckExecution(db: Database.Database, seen: RunningExecutionRow, repair: StuckRepair, message: string, nowMs: number): boolean {
  const now = isoAt(nowMs);
  // A nested transaction is a savepoint: when the second guard fails, the first update is undone too.
  const apply = db.transaction(() => {
    const executionStatus = repair === 'fail' ? 'failed' : 'pending';
    const changed = statement(
      db,
      `UPDATE executions SET status = @status, error_message = @error, completed_at = @completedAt, updated_at = @now
          WHERE id = @id AND status = 'running' AND updated_at IS @seenUpdatedAt`,
    ).run({ status: executionStatus, error: repair === 'fail' ? message : null, completedAt: repair === 'fail' ? now : null, now, id: seen.executionId, seenUpdatedAt: seen.updatedAt }).changes;
    if (changed === 0) throw new RowMoved();
    // Failing takes a still-live event with it (else the next claim would run the execution again);
    // a re-queue only has to release a processing event.
    const liveEvent = seen.eventStatus === 'processing' || (repair === 'fail' && seen.eventStatus === 'pending');
    if (seen.eventId === null || !liveEvent) return;
    const eventChanged =
      repair === 'fail'
        ? statement(
            db,
            `UPDATE event_queue SET status = 'failed', error_message = @error, finished_at = @now, updated_at = @now,
                      lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
                WHERE id = @id AND status = @seenStatus AND lease_token IS @seenToken`,
          ).run({ error: message, now, id: seen.eventId, seenStatus: seen.eventStatus, seenToken: seen.leaseToken }).changes
        : statement(
            db,
            `UPDATE event_queue SET status = 'pending', attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_token = NULL,
                      lease_expires_at = NULL, updated_at = @now
                WHERE id = @id AND status = 'processing' AND lease_token IS @seenToken`,
          ).run({ now, id: seen.eventId, seenToken: seen.leaseToken }).changes;
    if (eventChanged === 0) throw new RowMoved();
  });
  try {
    apply();
    return true;
  } catch (error) {
    if (error instanceof RowMoved) return false;
    throw error;
  }
}
