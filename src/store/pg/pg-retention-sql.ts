// SQL of retention on PostgreSQL: the twin of store/sqlite/retention-sql.ts, for several daemons on
// one database. The rules (which rows are due) are the same text; id lists are bound as one JSON array.
// Table names and conditions below are constants of this file, never values from outside.
//
// What SQLite gets from its single writer, PostgreSQL gets from row locks: a delete first locks the
// executions whose rows it would remove (FOR UPDATE SKIP LOCKED, in id order), then re-checks "still
// finished" in a statement that starts after the locks are held. A re-queue updates the execution row
// and a new event referencing it needs a key-share lock on it, so neither can bring an execution back
// to life under the delete; an execution another transaction holds is skipped (never waited for, so
// retention cannot deadlock with the queue) and its rows wait for the next run.
import type { Knex } from 'knex';
import type { AgedTable, DeletedRows, DueRow, ExecutionRowTable, RetentionCutoffs } from '../retention-store.js';
import { rows, type PgRunner, type Row } from './pg-statements.js';

/** Same meaning as in the SQLite twin: terminal status and no live event (see its comment). */
function finished(executionColumn: string, extra = ''): string {
  return `EXISTS (SELECT 1 FROM executions e WHERE e.id = ${executionColumn}
            AND e.status IN ('completed', 'failed', 'cancelled')
            AND NOT EXISTS (SELECT 1 FROM event_queue q WHERE q.execution_id = e.id AND q.status NOT IN ('completed', 'failed', 'cancelled'))${extra})`;
}

/**
 * The cutoffs as one row `c`, so each rule names them as columns whatever its shape; bound first, as
 * the clause comes before WHERE (see cutoffBindings).
 */
const cutoffRow = `(SELECT ?::timestamptz AS now_at, ?::timestamptz AS results_before, ?::timestamptz AS events_before,
                           ?::timestamptz AS audit_before, ?::timestamptz AS uploads_before) c`;

function cutoffBindings(cutoffs: RetentionCutoffs): string[] {
  return [cutoffs.now, cutoffs.resultsBefore, cutoffs.eventsBefore, cutoffs.auditBefore, cutoffs.uploadsBefore];
}

interface AgedRule {
  /** Condition on the row `t` and the cutoffs `c`. */
  due: string;
  executionColumn: string | null;
  fileColumn: string | null;
}

const agedRules: Record<AgedTable, AgedRule> = {
  execution_results: { due: `t.created_at < c.results_before AND ${finished('t.execution_id')}`, executionColumn: 'execution_id', fileColumn: 'file_path' },
  execution_logs: { due: `t.created_at < c.results_before AND ${finished('t.execution_id')}`, executionColumn: 'execution_id', fileColumn: null },
  // Iterations carry no created_at; a pass that never started is dated by its execution.
  execution_iterations: {
    due: finished('t.execution_id', ` AND COALESCE(t.completed_at, t.started_at, e.completed_at, e.started_at) < c.results_before`),
    executionColumn: 'execution_id',
    fileColumn: null,
  },
  // Answered or expired interactions only; one still open (even of a finished run) stays until it expires.
  email_interactions: {
    due: `t.created_at < c.results_before AND (t.status <> 'pending' OR t.expires_at <= c.now_at) AND (t.execution_id IS NULL OR ${finished('t.execution_id')})`,
    executionColumn: 'execution_id',
    fileColumn: null,
  },
  workflow_state: { due: `t.expires_at <= c.now_at`, executionColumn: null, fileColumn: null },
  event_queue: {
    due: `t.status IN ('completed', 'failed', 'cancelled') AND COALESCE(t.finished_at, t.updated_at, t.created_at) < c.events_before
          AND (t.execution_id IS NULL OR ${finished('t.execution_id')})`,
    executionColumn: 'execution_id',
    fileColumn: null,
  },
  audit_logs: { due: `t.created_at < c.audit_before`, executionColumn: null, fileColumn: null },
  files: { due: `t.created_at < c.uploads_before AND (t.execution_id IS NULL OR ${finished('t.execution_id')})`, executionColumn: 'execution_id', fileColumn: 'file_path' },
};

const executionRowFiles: Record<ExecutionRowTable, string | null> = {
  execution_results: 'file_path',
  execution_logs: null,
  execution_iterations: null,
  email_interactions: null,
};

// Id lists bound as one JSON array: executions' (text) and rows' (bigint).
const listedIds = `SELECT jsonb_array_elements_text(?::jsonb)`;
const inExecutionIds = `IN (${listedIds})`;
const inRowIds = `IN (SELECT (jsonb_array_elements_text(?::jsonb))::bigint)`;

/**
 * Finished executions beyond the newest `keep` of each workflow, newest by start time. NULLS LAST and
 * byte order (COLLATE "C") rank and sort as SQLite does: there NULL is the smallest value and text
 * compares by bytes.
 */
export async function selectSurplusExecutions(db: PgRunner, keep: number): Promise<string[]> {
  const found = await rows(
    db,
    `SELECT id FROM (
       SELECT id, ROW_NUMBER() OVER (PARTITION BY workflow_id
                                     ORDER BY COALESCE(started_at, updated_at) DESC NULLS LAST, id COLLATE "C" DESC) AS newest_rank
         FROM executions) ranked
      WHERE newest_rank > ? AND ${finished('ranked.id')}
      ORDER BY id COLLATE "C"`,
    [keep],
  );
  return found.map((row) => row.id as string);
}

/** How many rows of `table` the executions have, and how many of them name a file. */
export async function countExecutionRows(db: PgRunner, table: ExecutionRowTable, executionIds: string[]): Promise<{ rows: number; files: number }> {
  const fileColumn = executionRowFiles[table];
  const [row] = await rows(
    db,
    `SELECT COUNT(*) AS n, ${fileColumn ? `COUNT(${fileColumn})` : '0'} AS files FROM ${table} WHERE execution_id ${inExecutionIds}`,
    [JSON.stringify(executionIds)],
  );
  return { rows: Number(row!.n), files: Number(row!.files) };
}

/**
 * Locks those of the executions `whichIds` (a subquery) names that no other transaction holds, in id
 * order; returns their ids. Every guarded delete below removes rows of these executions only.
 */
async function lockExecutions(trx: Knex.Transaction, whichIds: string, bindings: unknown[]): Promise<string[]> {
  const locked = await rows(trx, `SELECT id FROM executions WHERE id IN (${whichIds}) ORDER BY id FOR UPDATE SKIP LOCKED`, bindings);
  return locked.map((row) => row.id as string);
}

/** Deletes up to `limit` rows of `table` of the given executions that are still finished. */
export async function deleteExecutionRows(trx: Knex.Transaction, table: ExecutionRowTable, executionIds: string[], limit: number): Promise<DeletedRows> {
  const locked = await lockExecutions(trx, listedIds, [JSON.stringify(executionIds)]);
  const fileColumn = executionRowFiles[table];
  const deleted = await rows(
    trx,
    `DELETE FROM ${table} WHERE id IN (
       SELECT t.id FROM ${table} t WHERE t.execution_id ${inExecutionIds} AND ${finished('t.execution_id')} LIMIT ?)
     RETURNING ${fileColumn ?? 'NULL'} AS file_path`,
    [JSON.stringify(locked), limit],
  );
  return { deleted: deleted.length, filePaths: filePathsOf(deleted) };
}

/** Deletes the given executions that are still finished; their events keep their row (execution_id set NULL). */
export async function deleteExecutions(trx: Knex.Transaction, executionIds: string[]): Promise<string[]> {
  const locked = await lockExecutions(trx, listedIds, [JSON.stringify(executionIds)]);
  const deleted = await rows(trx, `DELETE FROM executions t WHERE t.id ${inExecutionIds} AND ${finished('t.id')} RETURNING t.id`, [JSON.stringify(locked)]);
  return deleted.map((row) => row.id as string);
}

/** The lowest and highest id of `table`; null when empty. */
export async function selectIdRange(db: PgRunner, table: AgedTable): Promise<{ min: number; max: number } | null> {
  const [row] = await rows(db, `SELECT MIN(id) AS min, MAX(id) AS max FROM ${table}`);
  if (!row || row.min === null || row.max === null) return null;
  // bigint ids come back as text.
  return { min: Number(row.min), max: Number(row.max) };
}

/** Due rows of `table` in the id window (`afterId`, `throughId`], by id: a primary-key range scan. */
export async function selectAged(db: PgRunner, table: AgedTable, cutoffs: RetentionCutoffs, afterId: number, throughId: number): Promise<DueRow[]> {
  const rule = agedRules[table];
  const found = await rows(
    db,
    `SELECT t.id AS id, ${rule.executionColumn ? `t.${rule.executionColumn}` : 'NULL'} AS execution_id, ${rule.fileColumn ? `t.${rule.fileColumn}` : 'NULL'} AS file_path
       FROM ${table} t, ${cutoffRow} WHERE t.id > ? AND t.id <= ? AND (${rule.due}) ORDER BY t.id`,
    [...cutoffBindings(cutoffs), afterId, throughId],
  );
  return found.map((row) => ({ id: Number(row.id), executionId: (row.execution_id as string | null) ?? null, filePath: (row.file_path as string | null) ?? null }));
}

/**
 * Deletes those of `ids` that are still due, and returns what they named on disk. The rule is on the
 * deleted row itself, so a row another transaction changed meanwhile (a state key set again) is judged
 * by its new version; rows of an execution another transaction holds stay.
 */
export async function deleteAged(trx: Knex.Transaction, table: AgedTable, ids: number[], cutoffs: RetentionCutoffs): Promise<DeletedRows> {
  const rule = agedRules[table];
  const idList = JSON.stringify(ids);
  let ofLocked = '';
  const lockedBindings: string[] = [];
  if (rule.executionColumn) {
    const locked = await lockExecutions(trx, `SELECT ${rule.executionColumn} FROM ${table} WHERE id ${inRowIds}`, [idList]);
    ofLocked = `AND (t.${rule.executionColumn} IS NULL OR t.${rule.executionColumn} ${inExecutionIds})`;
    lockedBindings.push(JSON.stringify(locked));
  }
  const deleted = await rows(
    trx,
    `DELETE FROM ${table} t USING ${cutoffRow}
      WHERE t.id ${inRowIds} AND (${rule.due}) ${ofLocked}
      RETURNING ${rule.fileColumn ? `t.${rule.fileColumn}` : 'NULL'} AS file_path`,
    [...cutoffBindings(cutoffs), idList, ...lockedBindings],
  );
  return { deleted: deleted.length, filePaths: filePathsOf(deleted) };
}

function filePathsOf(found: Row[]): string[] {
  return found.flatMap((row) => (row.file_path ? [row.file_path as string] : []));
}
