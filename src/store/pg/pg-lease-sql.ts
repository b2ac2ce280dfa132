// Lease upkeep on PostgreSQL: the heartbeat that keeps a live daemon's leases, and the reclaim that
// returns a dead daemon's events to the queue once their lease ran out. Finishing writes elsewhere are
// fenced by lease_token, so a daemon that comes back after its events were reclaimed changes nothing.
import type { Knex } from 'knex';
import { isoAt } from '../../domain/clock.js';
import { changes, rows, type PgRunner, type Row } from './pg-statements.js';

/** Extends the leases this owner holds (only those of `eventIds` when given); returns how many. */
export function extendLeases(db: PgRunner, owner: string, leaseMs: number, nowMs: number, eventIds?: number[]): Promise<number> {
  if (!eventIds) return changes(db, `UPDATE event_queue SET lease_expires_at = ? WHERE status = 'processing' AND lease_owner = ?`, [nowMs + leaseMs, owner]);
  if (eventIds.length === 0) return Promise.resolve(0);
  return changes(
    db,
    `UPDATE event_queue SET lease_expires_at = ? WHERE status = 'processing' AND lease_owner = ? AND id IN (SELECT (jsonb_array_elements_text(?::jsonb))::bigint)`,
    [nowMs + leaseMs, owner, JSON.stringify(eventIds)],
  );
}

/** Workflows of events whose lease has expired (the depth rows reclaimExpired will touch). */
export async function selectExpiredWorkflows(db: PgRunner, nowMs: number): Promise<string[]> {
  const found = await rows(db, `SELECT DISTINCT workflow_id FROM event_queue WHERE status = 'processing' AND lease_expires_at < ?`, [nowMs]);
  return found.map((row) => row.workflow_id as string);
}

/**
 * Events whose lease expired (their daemon died or lost the database) go back to pending with the
 * attempt given back, as rescueOrphans does on SQLite; one found so for the max_attempts-th time
 * fails instead. Their running executions wait to be resumed. Rows another transaction holds are skipped.
 */
export async function requeueExpired(trx: Knex.Transaction, nowMs: number): Promise<{ requeued: number; failed: number }> {
  const now = isoAt(nowMs);
  const reason = 'the lease of every attempt of this event expired; it was not run again';
  const expired = await rows(
    trx,
    `SELECT id, execution_id, rescues, max_attempts FROM event_queue
      WHERE status = 'processing' AND lease_expires_at < ? ORDER BY id FOR UPDATE SKIP LOCKED`,
    [nowMs],
  );
  const poisoned = expired.filter((row) => Number(row.rescues) + 1 >= Number(row.max_attempts));
  const returning = expired.filter((row) => Number(row.rescues) + 1 < Number(row.max_attempts));
  const ids = (list: Row[]) => JSON.stringify(list.map((row) => Number(row.id)));
  const executionIds = (list: Row[]) => JSON.stringify(list.map((row) => row.execution_id).filter((id) => id !== null));
  const inIds = `id IN (SELECT (jsonb_array_elements_text(?::jsonb))::bigint)`;
  const inExecutions = `id IN (SELECT jsonb_array_elements_text(?::jsonb))`;
  await changes(trx, `UPDATE executions SET status = 'failed', error_message = ?, completed_at = ?, updated_at = ? WHERE status = 'running' AND ${inExecutions}`, [
    reason,
    now,
    now,
    executionIds(poisoned),
  ]);
  const failed = await changes(
    trx,
    `UPDATE event_queue SET status = 'failed', rescues = rescues + 1, error_message = ?, finished_at = ?, updated_at = ?,
            lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
      WHERE status = 'processing' AND ${inIds}`,
    [reason, now, now, ids(poisoned)],
  );
  await changes(trx, `UPDATE executions SET status = 'pending', updated_at = ? WHERE status = 'running' AND ${inExecutions}`, [now, executionIds(returning)]);
  const requeued = await changes(
    trx,
    `UPDATE event_queue SET status = 'pending', attempts = GREATEST(attempts - 1, 0), rescues = rescues + 1, lease_owner = NULL,
            lease_token = NULL, lease_expires_at = NULL, updated_at = ?
      WHERE status = 'processing' AND ${inIds}`,
    [now, ids(returning)],
  );
  return { requeued, failed };
}

