// SQL of email_interactions on PostgreSQL (human in the loop, semantics §8), the twin of
// store/sqlite/interaction-sql.ts: opening a question, answering it, expiring it, and putting the
// paused execution's event back in the queue in the same transaction.
//
// Several daemons may answer or expire one interaction at once, so the writes lock it: first the
// workflow's pending counter (the lock order of pg-queue-sql.ts: a resume moves the event back to
// pending, which the depth trigger counts), then the interaction row FOR UPDATE, then the event and
// the execution. The second of two answers waits for the first to commit and then sees it answered.
import type { Knex } from 'knex';
import type { Json } from '../../../workers/node-contract.js';
import { isoAt } from '../../domain/clock.js';
import {
  isPastExpiry,
  tokenHashMatches,
  type AnswerOutcome,
  type InteractionAnswer,
  type InteractionStatus,
  type InteractionView,
  type NewInteraction,
} from '../../domain/interaction.js';
import type { InteractionListFilter } from '../interaction-store.js';
import { lockDepthRows } from './pg-queue-sql.js';
import { changes, isoOf, jsonText, type PgRunner, readJson, type Row, rows } from './pg-statements.js';
import { interactionViewFrom } from '../row-views.js';

/** Computes a claim sort key for a priority and run time (the queue's aging rule). */
export type SortKeyAt = (priority: number, runAtMs: number) => number;

const columns = `id, interaction_id, workflow_id, execution_id, node_id, interaction_type, status, email_data, response_data,
  token_hash, created_at, responded_at, expires_at`;

const toView = (row: Row): InteractionView => interactionViewFrom(row, readJson);

async function selectRow(db: PgRunner, interactionId: string): Promise<Row | undefined> {
  return (await rows(db, `SELECT ${columns} FROM email_interactions WHERE interaction_id = ?`, [interactionId]))[0];
}

/**
 * Locks the interaction for a change that may resume its execution: its workflow's pending counter
 * first, then the row itself. Undefined when there is no such interaction.
 */
async function lockRow(trx: Knex.Transaction, interactionId: string): Promise<Row | undefined> {
  // workflow_id never changes, so the unlocked read names the right counter to lock.
  const [found] = await rows(trx, `SELECT workflow_id FROM email_interactions WHERE interaction_id = ?`, [interactionId]);
  if (!found) return undefined;
  await lockDepthRows(trx, [found.workflow_id as string]);
  return (await rows(trx, `SELECT ${columns} FROM email_interactions WHERE interaction_id = ? FOR UPDATE`, [interactionId]))[0];
}

/** The newest interaction a node of an execution opened, not closed by a cancel; undefined when none. */
export async function selectApprovalRow(db: PgRunner, executionId: string, nodeId: string): Promise<Row | undefined> {
  const found = await rows(
    db,
    `SELECT ${columns} FROM email_interactions WHERE execution_id = ? AND node_id = ? AND status <> 'cancelled' ORDER BY id DESC LIMIT 1`,
    [executionId, nodeId],
  );
  return found[0];
}

/** The approval row as the API shows it, when its time is not up at `nowMs`; null when it must be expired first. */
export function liveApproval(row: Row, nowMs: number): InteractionView | null {
  const view = toView(row);
  return isPastExpiry(view, nowMs) ? null : view;
}

/**
 * Expires the approval a running node found past its time (its own event is processing, so nothing is
 * resumed) and returns it as it now stands: expired, or answered by someone who got there first.
 */
export async function expireApproval(trx: Knex.Transaction, row: Row, nowMs: number): Promise<InteractionView> {
  await markExpired(trx, Number(row.id), nowMs);
  return toView((await selectRow(trx, row.interaction_id as string))!);
}

/** Opens an interaction and logs that its node waits for the answer. */
export async function insertInteraction(trx: Knex.Transaction, input: NewInteraction, nowMs: number): Promise<InteractionView> {
  const nowIso = isoAt(nowMs);
  const expiresAt = isoAt(input.expiresAtMs);
  const [row] = await rows(
    trx,
    `INSERT INTO email_interactions (interaction_id, workflow_id, execution_id, node_id, interaction_type, email_data, status, token_hash, created_at, expires_at)
     VALUES (?, ?, ?, ?, 'approval', ?::json, 'pending', ?, ?, ?)
     RETURNING ${columns}`,
    [input.interactionId, input.workflowId, input.executionId, input.nodeId, jsonText(input.emailData), input.tokenHash, nowIso, expiresAt],
  );
  await changes(
    trx,
    `INSERT INTO execution_logs (execution_id, node_id, level, event, message, data, created_at)
     VALUES (?, ?, 'info', 'node_waiting', 'waiting for an answer to the approval request', ?::json, ?)`,
    [input.executionId, input.nodeId, JSON.stringify({ interaction_id: input.interactionId, expires_at: expiresAt }), nowIso],
  );
  return toView(row!);
}

/**
 * Records a reviewer's answer and, in the same transaction, resumes the paused execution. The token
 * is checked before anything else: a wrong token and an unknown id answer alike. A null token hash
 * means the caller authenticated with an admin API key instead (checked by the route).
 */
export async function answerInteraction(trx: Knex.Transaction, answer: InteractionAnswer, nowMs: number, sortKeyAt: SortKeyAt): Promise<AnswerOutcome> {
  const row = await lockRow(trx, answer.interactionId);
  if (!row) return { kind: 'not_found' };
  if (answer.tokenHash !== null && !tokenHashMatches((row.token_hash as string | null) ?? null, answer.tokenHash)) return { kind: 'not_found' };
  const view = toView(row);
  if (view.status === 'expired') return { kind: 'expired' };
  if (view.status === 'approved' || view.status === 'rejected') return { kind: 'already_answered', status: view.status };
  if (view.status !== 'pending' || (await executionEnded(trx, view.execution_id))) return { kind: 'closed', status: view.status };
  if (isPastExpiry(view, nowMs)) {
    // The sweeper has not got to it yet: expire it now, and the run goes on down its expired path.
    await markExpired(trx, Number(row.id), nowMs);
    await resumeExecution(trx, view.execution_id, nowMs, sortKeyAt);
    return { kind: 'expired' };
  }
  const status: InteractionStatus = answer.action === 'approve' ? 'approved' : 'rejected';
  const response: Record<string, Json> = { action: answer.action };
  if (answer.editedDraft !== undefined) response.edited_draft = answer.editedDraft;
  await changes(trx, `UPDATE email_interactions SET status = ?, response_data = ?::json, responded_at = ? WHERE id = ? AND status = 'pending'`, [
    status,
    JSON.stringify(response),
    isoAt(nowMs),
    row.id,
  ]);
  const resumed = await resumeExecution(trx, view.execution_id, nowMs, sortKeyAt);
  return { kind: 'answered', interaction: toView((await selectRow(trx, answer.interactionId))!), resumed };
}

/** Expires one pending interaction whose time is up and resumes its execution; false when it was not due. */
export async function expireInteraction(trx: Knex.Transaction, interactionId: string, nowMs: number, sortKeyAt: SortKeyAt): Promise<boolean> {
  const row = await lockRow(trx, interactionId);
  if (!row || !isPastExpiry(toView(row), nowMs)) return false;
  await markExpired(trx, Number(row.id), nowMs);
  await resumeExecution(trx, (row.execution_id as string | null) ?? null, nowMs, sortKeyAt);
  return true;
}

async function markExpired(trx: Knex.Transaction, id: number, nowMs: number): Promise<void> {
  await changes(trx, `UPDATE email_interactions SET status = 'expired', response_data = ?::json, responded_at = ? WHERE id = ? AND status = 'pending'`, [
    JSON.stringify({ action: 'expired' }),
    isoAt(nowMs),
    id,
  ]);
}

async function executionEnded(db: PgRunner, executionId: string | null): Promise<boolean> {
  if (executionId === null) return true;
  const [row] = await rows(db, `SELECT status FROM executions WHERE id = ?`, [executionId]);
  return !row || row.status === 'completed' || row.status === 'failed' || row.status === 'cancelled';
}

/**
 * Puts a paused execution's event back in line (run now, placed by its priority) and the execution
 * back to pending. Does nothing when the event is not paused: a run still winding down finds the
 * answer when it ends (PgQueue.finishRun, which takes the same counter lock first) and is queued again then.
 */
async function resumeExecution(trx: Knex.Transaction, executionId: string | null, nowMs: number, sortKeyAt: SortKeyAt): Promise<boolean> {
  if (executionId === null) return false;
  const [event] = await rows(trx, `SELECT id, priority FROM event_queue WHERE execution_id = ? AND status = 'paused' ORDER BY id LIMIT 1`, [executionId]);
  if (!event) return false;
  const nowIso = isoAt(nowMs);
  await changes(trx, `UPDATE event_queue SET status = 'pending', run_at = ?, sort_key = ?, updated_at = ? WHERE id = ? AND status = 'paused'`, [
    nowMs,
    sortKeyAt(Number(event.priority), nowMs),
    nowIso,
    event.id,
  ]);
  await changes(trx, `UPDATE executions SET status = 'pending', updated_at = ? WHERE id = ? AND status = 'paused'`, [nowIso, executionId]);
  return true;
}

/** Closes the pending interactions of a cancelled execution, so their links answer 409. */
export async function closeInteractionsOf(trx: Knex.Transaction, executionId: string, nowMs: number): Promise<void> {
  await changes(trx, `UPDATE email_interactions SET status = 'cancelled', responded_at = ? WHERE execution_id = ? AND status = 'pending'`, [isoAt(nowMs), executionId]);
}

/** Ids of pending interactions whose time is up, oldest deadline first. */
export async function selectDueInteractionIds(db: PgRunner, nowMs: number, limit: number): Promise<string[]> {
  const found = await rows(
    db,
    `SELECT interaction_id FROM email_interactions WHERE status = 'pending' AND expires_at <= ?::timestamptz ORDER BY expires_at, id LIMIT ?`,
    [isoAt(nowMs), limit],
  );
  return found.map((row) => row.interaction_id as string);
}

/** Epoch ms of the earliest deadline among pending interactions, or null. */
export async function selectNextExpiry(db: PgRunner): Promise<number | null> {
  const [row] = await rows(db, `SELECT MIN(expires_at) AS next FROM email_interactions WHERE status = 'pending'`);
  const next = isoOf(row?.next);
  return next === null ? null : Date.parse(next);
}

/** The interaction, when `tokenHash` is its token's; null otherwise (unknown id and wrong token alike). */
export async function selectInteractionByToken(db: PgRunner, interactionId: string, tokenHash: string): Promise<InteractionView | null> {
  const row = await selectRow(db, interactionId);
  return row && tokenHashMatches((row.token_hash as string | null) ?? null, tokenHash) ? toView(row) : null;
}

/** A page of interactions, newest first; the cursor is the row id. */
export async function selectInteractions(db: PgRunner, filter: InteractionListFilter): Promise<Array<{ cursor: number; interaction: InteractionView }>> {
  const status = filter.status ?? null;
  const workflowId = filter.workflowId ?? null;
  const executionId = filter.executionId ?? null;
  const beforeId = filter.beforeId ?? null;
  const found = await rows(
    db,
    `SELECT ${columns} FROM email_interactions
      WHERE (?::text IS NULL OR status = ?) AND (?::text IS NULL OR workflow_id = ?)
        AND (?::text IS NULL OR execution_id = ?) AND (?::bigint IS NULL OR id < ?)
      ORDER BY id DESC LIMIT ?`,
    [status, status, workflowId, workflowId, executionId, executionId, beforeId, beforeId, filter.limit],
  );
  return found.map((row) => ({ cursor: Number(row.id), interaction: toView(row) }));
}
