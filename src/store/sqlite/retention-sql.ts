// SQL of retention: which rows are due, and guarded deletes of them. Id lists are bound as one JSON
// array (`json_each(@ids)`), so each statement is prepared once whatever the batch size. Table names
// and conditions below are constants of this file, never values from outside.
import type Database from 'better-sqlite3';
import type { AgedTable, DeletedRows, DueRow, ExecutionRowTable, RetentionCutoffs } from '../retention-store.js';
import { statement } from './connection.js';

/**
 * An execution is finished when its status is terminal and no event of it is still live (a retry or a
 * re-queue keeps the execution `failed` while its event is pending again; a paused event waits for a
 * person). Any status not known to be final counts as live. Pending, running and paused executions
 * are never finished, so nothing of theirs matches any rule here.
 */
function finished(executionColumn: string, extra = ''): string {
  return `EXISTS (SELECT 1 FROM executions e WHERE e.id = ${executionColumn}
            AND e.status IN ('completed', 'failed', 'cancelled')
            AND NOT EXISTS (SELECT 1 FROM event_queue q WHERE q.execution_id = e.id AND q.status NOT IN ('completed', 'failed', 'cancelled'))${extra})`;
}

interface AgedRule {
  /** Condition on the row `t` (named parameters from RetentionCutoffs). */
  due: string;
  executionColumn: string | null;
  fileColumn: string | null;
}

const agedRules: Record<AgedTable, AgedRule> = {
  execution_results: { due: `t.created_at < @resultsBefore AND ${finished('t.execution_id')}`, executionColumn: 'execution_id', fileColumn: 'file_path' },
  execution_logs: { due: `t.created_at < @resultsBefore AND ${finished('t.execution_id')}`, executionColumn: 'execution_id', fileColumn: null },
  // Iterations carry no created_at; a pass that never started is dated by its execution.
  execution_iterations: {
    due: finished('t.execution_id', ` AND COALESCE(t.completed_at, t.started_at, e.completed_at, e.started_at) < @resultsBefore`),
    executionColumn: 'execution_id',
    fileColumn: null,
  },
  // Answered or expired interactions only; one still open (even of a finished run) stays until it expires.
  email_interactions: {
    due: `t.created_at < @resultsBefore AND (t.status <> 'pending' OR t.expires_at <= @now) AND (t.execution_id IS NULL OR ${finished('t.execution_id')})`,
    executionColumn: 'execution_id',
    fileColumn: null,
  },
  workflow_state: { due: `t.expires_at <= @now`, executionColumn: null, fileColumn: null },
  event_queue: {
    due: `t.status IN ('completed', 'failed', 'cancelled') AND COALESCE(t.finished_at, t.updated_at, t.created_at) < @eventsBefore
          AND (t.execution_id IS NULL OR ${finished('t.execution_id')})`,
    executionColumn: 'execution_id',
    fileColumn: null,
  },
  audit_logs: { due: `t.created_at < @auditBefore`, executionColumn: null, fileColumn: null },
  files: { due: `t.created_at < @uploadsBefore AND (t.execution_id IS NULL OR ${finished('t.execution_id')})`, executionColumn: 'execution_id', fileColumn: 'file_path' },
};

const executionRowFiles: Record<ExecutionRowTable, string | null> = {
  execution_results: 'file_path',
  execution_logs: null,
  execution_iterations: null,
  email_interactions: null,
};

/** Finished executions beyond the newest `keep` of each workflow, newest by start time. */
export function selectSurplusExecutions(db: Database.Database, keep: number): string[] {
  const rows = statement(
    db,
    `SELECT id FROM (
       SELECT id, status, ROW_NUMBER() OVER (PARTITION BY workflow_id ORDER BY COALESCE(started_at, updated_at) DESC, id DESC) AS newest_rank
         FROM executions) ranked
      WHERE newest_rank > @keep AND ${finished('ranked.id')}
      ORDER BY id`,
  ).all({ keep }) as Array<{ id: string }>;
  return rows.map((row) => row.id);
}

/** How many rows of `table` the executions have, and how many of them name a file. */
export function countExecutionRows(db: Database.Database, table: ExecutionRowTable, executionIds: string[]): { rows: number; files: number } {
  const fileColumn = executionRowFiles[table];
  const row = statement(
    db,
    `SELECT COUNT(*) AS n, ${fileColumn ? `COUNT(${fileColumn})` : '0'} AS files FROM ${table} WHERE execution_id IN (SELECT value FROM json_each(@ids))`,
  ).get({ ids: JSON.stringify(executionIds) }) as { n: number; files: number };
  return { rows: Number(row.n), files: Number(row.files) };
}

/** Deletes up to `limit` rows of `table` of the given executions that are still finished. */
export function deleteExecutionRows(db: Database.Database, table: ExecutionRowTable, executionIds: string[], limit: number): DeletedRows {
  const fileColumn = executionRowFiles[table];
  const rows = statement(
    db,
    `DELETE FROM ${table} WHERE id IN (
       SELECT t.id FROM ${table} t WHERE t.execution_id IN (SELECT value FROM json_each(@ids)) AND ${finished('t.execution_id')} LIMIT @limit)
     RETURNING ${fileColumn ?? 'NULL'} AS file_path`,
  ).all({ ids: JSON.stringify(executionIds), limit }) as Array<{ file_path: string | null }>;
  return { deleted: rows.length, filePaths: filePathsOf(rows) };
}

/** Deletes the given executions that are still finished; their events keep their row (execution_id set NULL). */
export function deleteExecutions(db: Database.Database, executionIds: string[]): string[] {
  const rows = statement(
    db,
    `DELETE FROM executions WHERE id IN (
       SELECT t.id FROM executions t WHERE t.id IN (SELECT value FROM json_each(@ids)) AND ${finished('t.id')})
     RETURNING id`,
  ).all({ ids: JSON.stringify(executionIds) }) as Array<{ id: string }>;
  return rows.map((row) => row.id);
}

/** The lowest and highest id of `table`; null when empty. */
export function selectIdRange(db: Database.Database, table: AgedTable): { min: number; max: number } | null {
  const row = statement(db, `SELECT MIN(id) AS min, MAX(id) AS max FROM ${table}`).get() as { min: number | null; max: number | null };
  return row.min === null || row.max === null ? null : { min: Number(row.min), max: Number(row.max) };
}

/** Due rows of `table` in the id window (`afterId`, `throughId`], by id: a primary-key range scan. */
export function selectAged(db: Database.Database, table: AgedTable, cutoffs: RetentionCutoffs, afterId: number, throughId: number): DueRow[] {
  const rule = agedRules[table];
  const rows = statement(
    db,
    `SELECT t.id AS id, ${rule.executionColumn ? `t.${rule.executionColumn}` : 'NULL'} AS execution_id, ${rule.fileColumn ? `t.${rule.fileColumn}` : 'NULL'} AS file_path
       FROM ${table} t WHERE t.id > @after AND t.id <= @through AND ${rule.due} ORDER BY t.id`,
  ).all({ ...cutoffs, after: afterId, through: throughId }) as Array<{ id: number; execution_id: string | null; file_path: string | null }>;
  return rows.map((row) => ({ id: Number(row.id), executionId: row.execution_id ?? null, filePath: row.file_path ?? null }));
}

/** Deletes those of `ids` that are still due, and returns what they named on disk. */
export function deleteAged(db: Database.Database, table: AgedTable, ids: number[], cutoffs: RetentionCutoffs): DeletedRows {
  const rule = agedRules[table];
  const rows = statement(
    db,
    `DELETE FROM ${table} WHERE id IN (
       SELECT t.id FROM ${table} t WHERE t.id IN (SELECT value FROM json_each(@ids)) AND ${rule.due})
     RETURNING ${rule.fileColumn ?? 'NULL'} AS file_path`,
  ).all({ ...cutoffs, ids: JSON.stringify(ids) }) as Array<{ file_path: string | null }>;
  return { deleted: rows.length, filePaths: filePathsOf(rows) };
}

function filePathsOf(rows: Array<{ file_path: string | null }>): string[] {
  return rows.flatMap((row) => (row.file_path ? [row.file_path] : []));
}
