// SQL of workflow definitions on PostgreSQL: the twin of store/sqlite/workflow-sql.ts. What differs is
// the dialect (real booleans, json columns handed back parsed, timestamptz handed back as Date) and the
// delete, which several daemons may race (see deleteWorkflow).
import type { Knex } from 'knex';
import type { WorkflowInput, WorkflowListFilter, WorkflowRecord } from '../workflow-store.js';
import { lockDepthRows } from './pg-queue-sql.js';
import { isoOf, jsonText, rows, type PgRunner, type Row } from './pg-statements.js';

const workflowColumns = `id, name, description, version, workflow_data, tags, author_id, execution_config, status, is_active,
  is_template, template_category, last_execution_id, created_at, updated_at, last_run_at`;

function toWorkflowRecord(row: Row): WorkflowRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    description: (row.description as string | null) ?? null,
    version: (row.version as string | null) ?? '1.0.0',
    // json columns: pg hands them back parsed; SQL NULL falls back as SQLite's fromJsonColumn does.
    workflow_data: (row.workflow_data ?? { nodes: [], connections: [] }) as WorkflowRecord['workflow_data'],
    tags: (row.tags ?? []) as string[],
    author_id: row.author_id === null || row.author_id === undefined ? null : Number(row.author_id),
    execution_config: (row.execution_config ?? {}) as WorkflowRecord['execution_config'],
    status: (row.status as string | null) ?? 'na',
    is_active: row.is_active === true,
    is_template: row.is_template === true,
    template_category: (row.template_category as string | null) ?? null,
    last_execution_id: (row.last_execution_id as string | null) ?? null,
    created_at: isoOf(row.created_at) ?? '',
    // Cast, not defaulted: a row another writer left without updated_at reads as null, as on SQLite.
    updated_at: isoOf(row.updated_at) as string,
    last_run_at: isoOf(row.last_run_at),
  };
}

// The client-set fields in the order both the insert and the update bind them.
function inputBindings(input: WorkflowInput): unknown[] {
  return [
    input.name,
    input.description,
    input.version,
    JSON.stringify(input.workflow_data),
    jsonText(input.tags),
    input.author_id,
    jsonText(input.execution_config),
    input.is_active,
    input.is_template,
    input.template_category,
  ];
}

/** Inserts a workflow. */
export async function insertWorkflow(trx: Knex.Transaction, id: string, input: WorkflowInput, nowIso: string): Promise<WorkflowRecord> {
  const inserted = await rows(
    trx,
    `INSERT INTO workflows (id, name, description, version, workflow_data, tags, author_id, execution_config, status, is_active,
       is_template, template_category, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?::json, ?::json, ?, ?::json, 'na', ?, ?, ?, ?, ?)
     RETURNING ${workflowColumns}`,
    [id, ...inputBindings(input), nowIso, nowIso],
  );
  return toWorkflowRecord(inserted[0]!);
}

/** Replaces a workflow's client-set fields; null when it does not exist. */
export async function updateWorkflow(trx: Knex.Transaction, id: string, input: WorkflowInput, nowIso: string): Promise<WorkflowRecord | null> {
  const updated = await rows(
    trx,
    `UPDATE workflows SET name = ?, description = ?, version = ?, workflow_data = ?::json, tags = ?::json, author_id = ?,
       execution_config = ?::json, is_active = ?, is_template = ?, template_category = ?, updated_at = ?
     WHERE id = ? RETURNING ${workflowColumns}`,
    [...inputBindings(input), nowIso, id],
  );
  return updated[0] ? toWorkflowRecord(updated[0]) : null;
}

/**
 * Deletes a workflow and its history (the foreign keys cascade), unless it has work in flight.
 *
 * Race-free across daemons: the workflow row is locked FOR UPDATE before the busy check, and every
 * statement that adds work to a workflow (an event, an execution) takes FOR KEY SHARE on that row
 * through its foreign key, so such a write either committed before the lock was granted (and the
 * check, a new statement under READ COMMITTED, sees it) or waits for this delete and then fails its
 * foreign key. The pending counter row is locked before the workflow row, the lock order of
 * pg-queue-sql.ts: an enqueue locks the counter and then inserts its event (FOR KEY SHARE on the
 * workflow), so locking the workflow first and deleting the counter by cascade would deadlock with it.
 */
export async function deleteWorkflow(trx: Knex.Transaction, id: string): Promise<'deleted' | 'missing' | 'busy'> {
  await lockDepthRows(trx, [id]);
  const found = await rows(trx, `SELECT 1 FROM workflows WHERE id = ? FOR UPDATE`, [id]);
  if (found.length === 0) return 'missing';
  const busy = await rows(
    trx,
    `SELECT 1 FROM event_queue WHERE workflow_id = ? AND status IN ('pending', 'processing')
     UNION ALL SELECT 1 FROM executions WHERE workflow_id = ? AND status IN ('running', 'paused') LIMIT 1`,
    [id, id],
  );
  if (busy.length > 0) return 'busy';
  await rows(trx, `DELETE FROM workflows WHERE id = ?`, [id]);
  return 'deleted';
}

/** One workflow by id. */
export async function selectWorkflow(db: PgRunner, id: string): Promise<WorkflowRecord | null> {
  const found = await rows(db, `SELECT ${workflowColumns} FROM workflows WHERE id = ?`, [id]);
  return found[0] ? toWorkflowRecord(found[0]) : null;
}

/** True when a workflow with this id exists. */
export async function workflowExists(db: PgRunner, id: string): Promise<boolean> {
  return (await rows(db, `SELECT 1 FROM workflows WHERE id = ?`, [id])).length > 0;
}

// One statement per query serves every filter: a null parameter matches every row.
const filterCondition = `(?::boolean IS NULL OR is_template = ?) AND (?::text IS NULL OR template_category = ?)`;

function filterBindings(filter: WorkflowListFilter): unknown[] {
  const isTemplate = filter.isTemplate ?? null;
  const category = filter.templateCategory ?? null;
  return [isTemplate, isTemplate, category, category];
}

/** A page of workflows, newest first, filtered by template flag and category. */
export async function selectWorkflows(db: PgRunner, limit: number, offset: number, filter: WorkflowListFilter = {}): Promise<WorkflowRecord[]> {
  // COLLATE "C": ties on created_at break by id in byte order, as SQLite's BINARY collation orders them.
  const found = await rows(
    db,
    `SELECT ${workflowColumns} FROM workflows WHERE ${filterCondition}
     ORDER BY created_at DESC, id COLLATE "C" LIMIT ? OFFSET ?`,
    [...filterBindings(filter), limit, offset],
  );
  return found.map(toWorkflowRecord);
}

/** How many workflows match the filter. */
export async function countWorkflows(db: PgRunner, filter: WorkflowListFilter = {}): Promise<number> {
  const found = await rows(db, `SELECT COUNT(*) AS n FROM workflows WHERE ${filterCondition}`, filterBindings(filter));
  // COUNT(*) is a bigint, which pg hands back as text.
  return Number(found[0]?.n ?? 0);
}
