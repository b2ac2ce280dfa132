// SQL of email_interactions (human in the loop, semantics §8): opening a question, answering it,
// expiring it, and putting the paused execution's event back in the queue in the same transaction.
import type Database from 'better-sqlite3';
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
import type { InteractionListFilter } from '../store.js';
import { statement } from './connection.js';
import { fromJsonColumn, toJsonColumn } from './json-columns.js';
import { interactionViewFrom } from '../row-views.js';

/** Computes a claim sort key for a priority and run time (the queue's aging rule). */
export type SortKeyAt = (priority: number, runAtMs: number) => number;

const columns = `id, interaction_id, workflow_id, execution_id, node_id, interaction_type, status, email_data, response_data,
  token_hash, created_at, responded_at, expires_at`;

type Row = Record<string, unknown>;

const toView = (row: Row): InteractionView => interactionViewFrom(row, fromJsonColumn);

function selectRow(db: Database.Database, interactionId: string): Row | undefined {
  return statement(db, `SELECT ${columns} FROM email_interactions WHERE interaction_id = ?`).get(interactionId) as Row | undefined;
}

/**
 * The interaction a node of an execution opened earlier (the newest not closed by a cancel), or null.
 * A pending one whose time is up is expired here, so a resumed run never waits on a dead question.
 */
export function selectApproval(db: Database.Database, executionId: string, nodeId: string, nowMs: number): InteractionView | null {
  const row = statement(
    db,
    `SELECT ${columns} FROM email_interactions WHERE execution_id = ? AND node_id = ? AND status != 'cancelled' ORDER BY id DESC LIMIT 1`,
  ).get(executionId, nodeId) as Row | undefined;
  if (!row) return null;
  const view = toView(row);
  if (!isPastExpiry(view, nowMs)) return view;
  markExpired(db, Number(row.id), nowMs);
  return toView(selectRow(db, view.id)!);
}

/** Opens an interaction and logs that its node waits for the answer. */
export function insertInteraction(db: Database.Database, input: NewInteraction, nowMs: number): InteractionView {
  const nowIso = isoAt(nowMs);
  const row = statement(
    db,
    `INSERT INTO email_interactions (interaction_id, workflow_id, execution_id, node_id, interaction_type, email_data, status, token_hash, created_at, expires_at)
     VALUES (@interactionId, @workflowId, @executionId, @nodeId, 'approval', @emailData, 'pending', @tokenHash, @now, @expiresAt)
     RETURNING ${columns}`,
  ).get({
    interactionId: input.interactionId,
    workflowId: input.workflowId,
    executionId: input.executionId,
    nodeId: input.nodeId,
    emailData: toJsonColumn(input.emailData),
    tokenHash: input.tokenHash,
    now: nowIso,
    expiresAt: isoAt(input.expiresAtMs),
  }) as Row;
  statement(
    db,
    `INSERT INTO execution_logs (execution_id, node_id, level, event, message, data, created_at)
     VALUES (?, ?, 'info', 'node_waiting', 'waiting for an answer to the approval request', ?, ?)`,
  ).run(input.executionId, input.nodeId, JSON.stringify({ interaction_id: input.interactionId, expires_at: isoAt(input.expiresAtMs) }), nowIso);
  return toView(row);
}

/**
 * Records a reviewer's answer and, in the same transaction, resumes the paused execution. The token
 * is checked before anything else: a wrong token and an unknown id answer alike. A null token hash
 * means the caller authenticated with an admin API key instead (checked by the route).
 */
export function answerInteraction(db: Database.Database, answer: InteractionAnswer, nowMs: number, sortKeyAt: SortKeyAt): AnswerOutcome {
  const row = selectRow(db, answer.interactionId);
  if (!row) return { kind: 'not_found' };
  if (answer.tokenHash !== null && !tokenHashMatches((row.token_hash as string | null) ?? null, answer.tokenHash)) return { kind: 'not_found' };
  const view = toView(row);
  if (view.status === 'expired') return { kind: 'expired' };
  if (view.status === 'approved' || view.status === 'rejected') return { kind: 'already_answered', status: view.status };
  if (view.status !== 'pending' || executionEnded(db, view.execution_id)) return { kind: 'closed', status: view.status };
  if (isPastExpiry(view, nowMs)) {
    // The sweeper has not got to it yet: expire it now, and the run goes on down its expired path.
    markExpired(db, Number(row.id), nowMs);
    resumeExecution(db, view.execution_id, nowMs, sortKeyAt);
    return { kind: 'expired' };
  }
  const status: InteractionStatus = answer.action === 'approve' ? 'approved' : 'rejected';
  const response: Record<string, Json> = { action: answer.action };
  if (answer.editedDraft !== undefined) response.edited_draft = answer.editedDraft;
  statement(db, `UPDATE email_interactions SET status = ?, response_data = ?, responded_at = ? WHERE id = ? AND status = 'pending'`).run(
    status,
    JSON.stringify(response),
    isoAt(nowMs),
    row.id,
  );
  const resumed = resumeExecution(db, view.execution_id, nowMs, sortKeyAt);
  return { kind: 'answered', interaction: toView(selectRow(db, answer.interactionId)!), resumed };
}

/** Expires one pending interaction whose time is up and resumes its execution; false when it was not due. */
export function expireInteraction(db: Database.Database, interactionId: string, nowMs: number, sortKeyAt: SortKeyAt): boolean {
  const row = selectRow(db, interactionId);
  if (!row || !isPastExpiry(toView(row), nowMs)) return false;
  markExpired(db, Number(row.id), nowMs);
  resumeExecution(db, (row.execution_id as string | null) ?? null, nowMs, sortKeyAt);
  return true;
}

function markExpired(db: Database.Database, id: number, nowMs: number): void {
  statement(db, `UPDATE email_interactions SET status = 'expired', response_data = ?, responded_at = ? WHERE id = ? AND status = 'pending'`).run(
    JSON.stringify({ action: 'expired' }),
    isoAt(nowMs),
    id,
  );
}

function executionEnded(db: Database.Database, executionId: string | null): boolean {
  if (executionId === null) return true;
  const row = statement(db, `SELECT status FROM executions WHERE id = ?`).get(executionId) as { status: string } | undefined;
  return !row || row.status === 'completed' || row.status === 'failed' || row.status === 'cancelled';
}

/**
 * Puts a paused execution's event back in line (run now, placed by its priority) and the execution
 * back to pending. Does nothing when the event is not paused: a run still winding down finds the
 * answer when it ends (see finishRun) and is queued again then.
 */
function resumeExecution(db: Database.Database, executionId: string | null, nowMs: number, sortKeyAt: SortKeyAt): boolean {
  if (executionId === null) return false;
  const event = statement(db, `SELECT id, priority FROM event_queue WHERE execution_id = ? AND status = 'paused'`).get(executionId) as
    | { id: number; priority: number }
    | undefined;
  if (!event) return false;
  const nowIso = isoAt(nowMs);
  statement(db, `UPDATE event_queue SET status = 'pending', run_at = ?, sort_key = ?, updated_at = ? WHERE id = ? AND status = 'paused'`).run(
    nowMs,
    sortKeyAt(event.priority, nowMs),
    nowIso,
    event.id,
  );
  statement(db, `UPDATE executions SET status = 'pending', updated_at = ? WHERE id = ? AND status = 'paused'`).run(nowIso, executionId);
  return true;
}

/** True while one of the execution's interactions waits for an answer (a run that pauses stays paused). */
export function hasPendingInteraction(db: Database.Database, executionId: string): boolean {
  return statement(db, `SELECT 1 FROM email_interactions WHERE execution_id = ? AND status = 'pending' LIMIT 1`).get(executionId) !== undefined;
}

/** Closes the pending interactions of a cancelled execution, so their links answer 409. */
export function closeInteractionsOf(db: Database.Database, executionId: string, nowMs: number): void {
  statement(db, `UPDATE email_interactions SET status = 'cancelled', responded_at = ? WHERE execution_id = ? AND status = 'pending'`).run(isoAt(nowMs), executionId);
}

/** Ids of pending interactions whose time is up, oldest deadline first. */
export function selectDueInteractionIds(db: Database.Database, nowMs: number, limit: number): string[] {
  const rows = statement(
    db,
    `SELECT interaction_id FROM email_interactions WHERE status = 'pending' AND expires_at <= ? ORDER BY expires_at LIMIT ?`,
  ).all(isoAt(nowMs), limit) as Array<{ interaction_id: string }>;
  return rows.map((row) => row.interaction_id);
}

/** Epoch ms of the earliest deadline among pending interactions, or null. */
export function selectNextExpiry(db: Database.Database): number | null {
  const row = statement(db, `SELECT MIN(expires_at) AS next FROM email_interactions WHERE status = 'pending'`).get() as { next: string | null };
  return row.next === null ? null : Date.parse(row.next);
}

/** The interaction, when `tokenHash` is its token's; null otherwise (unknown id and wrong token alike). */
export function selectInteractionByToken(db: Database.Database, interactionId: string, tokenHash: string): InteractionView | null {
  const row = selectRow(db, interactionId);
  return row && tokenHashMatches((row.token_hash as string | null) ?? null, tokenHash) ? toView(row) : null;
}

/** A page of interactions, newest first; the cursor is the row id. */
export function selectInteractions(db: Database.Database, filter: InteractionListFilter): Array<{ cursor: number; interaction: InteractionView }> {
  const rows = statement(
    db,
    `SELECT ${columns} FROM email_interactions
      WHERE (@status IS NULL OR status = @status) AND (@workflowId IS NULL OR workflow_id = @workflowId)
        AND (@executionId IS NULL OR execution_id = @executionId) AND (@beforeId IS NULL OR id < @beforeId)
      ORDER BY id DESC LIMIT @limit`,
  ).all({
    status: filter.status ?? null,
    workflowId: filter.workflowId ?? null,
    executionId: filter.executionId ?? null,
    beforeId: filter.beforeId ?? null,
    limit: filter.limit,
  }) as Row[];
  return rows.map((row) => ({ cursor: Number(row.id), interaction: toView(row) }));
}
