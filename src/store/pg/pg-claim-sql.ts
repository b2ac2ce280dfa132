// SQL of claims on PostgreSQL: which due events a daemon takes, under which locks, and the move to
// processing under one lease. The guarantees and the lock order are those of pg-queue-sql.ts; the
// choice of locks is explained in pg-queue.ts.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { ClaimedEvent } from '../../domain/event.js';
import { isoAt } from '../../domain/clock.js';
import { uuidv7 } from '../../domain/ids.js';
import type { Json } from '../../../workers/node-contract.js';
import { changes, isoOf, jsonText, rows, type PgRunner, type Row } from './pg-statements.js';

/** A workflow with due pending events, and the sort key of its most urgent one. */
export interface WaitingWorkflow {
  workflowId: string;
  firstSortKey: number;
}

/** Workflows with due pending events, most urgent first. */
export async function selectWaitingWorkflows(db: PgRunner, nowMs: number): Promise<WaitingWorkflow[]> {
  const found = await rows(
    db,
    `SELECT workflow_id, MIN(sort_key) AS first FROM event_queue WHERE status = 'pending' AND run_at <= ?
      GROUP BY workflow_id ORDER BY MIN(sort_key), workflow_id`,
    [nowMs],
  );
  return found.map((row) => ({ workflowId: row.workflow_id as string, firstSortKey: Number(row.first) }));
}

/**
 * Tries the per-workflow claim lock (a transaction-scoped advisory lock keyed by the workflow id).
 * A try, not a wait: a workflow another daemon is claiming right now is skipped, as SKIP LOCKED skips
 * its rows, and a try lock can never take part in a deadlock.
 */
export async function tryLockWorkflowClaim(trx: Knex.Transaction, workflowId: string): Promise<boolean> {
  // The schema is part of the key: fleets in other schemas of the same database never block each other.
  const found = await rows(trx, `SELECT pg_try_advisory_xact_lock(hashtextextended('tav.claim:' || current_schema() || ':' || ?, 0)) AS locked`, [workflowId]);
  return found[0]?.locked === true;
}

/**
 * Waits for the schema's global claim lock (held to commit): claims that count every processing
 * event against the global limit take it one at a time, so two daemons never both fill the last slots.
 */
export async function lockGlobalClaim(trx: Knex.Transaction): Promise<void> {
  await rows(trx, `SELECT pg_advisory_xact_lock(hashtextextended('tav.claim-all:' || current_schema(), 0))`);
}

/** Events processing now on every daemon (exact under the global claim lock). */
export async function countAllProcessing(db: PgRunner): Promise<number> {
  const found = await rows(db, `SELECT COUNT(*) AS n FROM event_queue WHERE status = 'processing'`);
  return Number(found[0]?.n ?? 0);
}

/** Events of one workflow processing now (exact under the workflow's claim lock: committed claims only). */
export async function countProcessing(db: PgRunner, workflowId: string): Promise<number> {
  const found = await rows(db, `SELECT COUNT(*) AS n FROM event_queue WHERE status = 'processing' AND workflow_id = ?`, [workflowId]);
  return Number(found[0]?.n ?? 0);
}

/** Locks and returns the first `count` due pending events of the given workflows (all when null), skipping rows others hold. */
export async function lockDueEvents(trx: Knex.Transaction, workflowId: string | null, count: number, nowMs: number): Promise<Array<{ id: number; sortKey: number; workflowId: string }>> {
  const found = await rows(
    trx,
    `SELECT id, sort_key, workflow_id FROM event_queue
      WHERE status = 'pending' AND run_at <= ? AND (?::text IS NULL OR workflow_id = ?)
      ORDER BY sort_key, id LIMIT ? FOR UPDATE SKIP LOCKED`,
    [nowMs, workflowId, workflowId, count],
  );
  return found.map((row) => ({ id: Number(row.id), sortKey: Number(row.sort_key), workflowId: row.workflow_id as string }));
}

/** Moves the locked events to processing under one new lease and opens their executions, in claim order. */
export async function markClaimed(trx: Knex.Transaction, ids: number[], owner: string, leaseMs: number, nowMs: number): Promise<ClaimedEvent[]> {
  const leaseToken = randomUUID();
  const now = isoAt(nowMs);
  const claimed = await rows(
    trx,
    `UPDATE event_queue
        SET status = 'processing', attempts = attempts + 1, lease_owner = ?, lease_token = ?, lease_expires_at = ?,
            processed_at = ?, updated_at = ?
      WHERE id IN (SELECT (jsonb_array_elements_text(?::jsonb))::bigint) AND status = 'pending'
      RETURNING id, workflow_id, event_data, priority, attempts, max_attempts, execution_id, source, sort_key, created_at`,
    [owner, leaseToken, nowMs + leaseMs, now, now, JSON.stringify(ids)],
  );
  claimed.sort((a, b) => Number(a.sort_key) - Number(b.sort_key) || Number(a.id) - Number(b.id));
  const out = claimed.map((row) => toClaimed(row, leaseToken));
  await openExecutions(trx, out, claimed, now);
  return out;
}

function toClaimed(row: Row, leaseToken: string): ClaimedEvent {
  const executionId = row.execution_id as string | null;
  return {
    id: Number(row.id),
    workflowId: row.workflow_id as string,
    eventData: (row.event_data ?? null) as Json,
    priority: Number(row.priority),
    attempts: Number(row.attempts),
    maxAttempts: Number(row.max_attempts),
    leaseToken,
    // A first attempt gets a new execution; a later one reopens the one an earlier attempt left
    // (its finished nodes are reused).
    executionId: executionId ?? uuidv7(),
    resumed: executionId !== null,
    enqueuedAtMs: Date.parse(isoOf(row.created_at) ?? '') || 0,
  };
}

// Opens the executions of a claim in a handful of statements whatever its size: every statement is a
// round trip to the server, and a claim of 50 must not cost 150 of them.
async function openExecutions(trx: Knex.Transaction, events: ClaimedEvent[], rowsById: Row[], now: string): Promise<void> {
  const sourceOf = new Map(rowsById.map((row) => [Number(row.id), row.source as string]));
  const fresh = events.filter((event) => !event.resumed);
  if (fresh.length > 0) {
    // Bound row by row (not as one JSON document): event data may hold text PostgreSQL's JSON
    // functions refuse to unpack (\u0000), which a json column stores as it is.
    const values = fresh.map(() => `(?, ?, ?, 'running', ?, 'parallel', 'system', ?::json, ?, ?)`).join(', ');
    const bindings = fresh.flatMap((event) => [event.executionId, event.workflowId, event.id, sourceOf.get(event.id) ?? null, jsonText(event.eventData), now, now]);
    await changes(
      trx,
      `INSERT INTO executions (id, workflow_id, event_id, status, execution_source, execution_mode, started_by, trigger_data, started_at, updated_at)
       VALUES ${values}`,
      bindings,
    );
    await changes(
      trx,
      `UPDATE event_queue AS e SET execution_id = x.id FROM json_to_recordset(?::json) AS x(id text, event_id bigint) WHERE e.id = x.event_id`,
      [JSON.stringify(fresh.map((event) => ({ id: event.executionId, event_id: event.id })))],
    );
  }
  const reopened = events.filter((event) => event.resumed).map((event) => event.executionId);
  if (reopened.length > 0) {
    await changes(
      trx,
      `UPDATE executions SET status = 'running', error_message = NULL, updated_at = ?
        WHERE id IN (SELECT jsonb_array_elements_text(?::jsonb)) AND status IN ('pending', 'running', 'failed')`,
      [now, JSON.stringify(reopened)],
    );
  }
  // Each workflow's last execution is the last of its events in claim order.
  const lastByWorkflow = new Map(events.map((event) => [event.workflowId, event.executionId]));
  await changes(
    trx,
    `UPDATE workflows AS w SET last_execution_id = x.id, last_run_at = ? FROM json_to_recordset(?::json) AS x(workflow_id text, id text) WHERE w.id = x.workflow_id`,
    [now, JSON.stringify([...lastByWorkflow].map(([workflow_id, id]) => ({ workflow_id, id })))],
  );
}
