// SQL of workflow definitions.
import type Database from 'better-sqlite3';
import { isoAt } from '../../domain/clock.js';
import type { WorkflowInput, WorkflowListFilter, WorkflowRecord } from '../store.js';
import { statement } from './connection.js';
import { fromBooleanColumn, fromJsonColumn, toJsonColumn } from './json-columns.js';

function toWorkflowRecord(row: Record<string, unknown>): WorkflowRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    description: (row.description as string | null) ?? null,
    version: (row.version as string | null) ?? '1.0.0',
    workflow_data: fromJsonColumn(row.workflow_data, { nodes: [], connections: [] }),
    tags: fromJsonColumn(row.tags, []),
    author_id: row.author_id === null ? null : Number(row.author_id),
    execution_config: fromJsonColumn(row.execution_config, {}),
    status: (row.status as string | null) ?? 'na',
    is_active: fromBooleanColumn(row.is_active),
    is_template: fromBooleanColumn(row.is_template),
    template_category: (row.template_category as string | null) ?? null,
    last_execution_id: (row.last_execution_id as string | null) ?? null,
    created_at: row.created_at as string,
    updated_at: row.updated_at as string,
    last_run_at: (row.last_run_at as string | null) ?? null,
  };
}

function bindInput(input: WorkflowInput) {
  return {
    name: input.name,
    description: input.description,
    version: input.version,
    workflowData: JSON.stringify(input.workflow_data),
    tags: toJsonColumn(input.tags),
    authorId: input.author_id,
    executionConfig: toJsonColumn(input.execution_config),
    isActive: input.is_active ? 1 : 0,
    isTemplate: input.is_template ? 1 : 0,
    templateCategory: input.template_category,
  };
}

/** Inserts a workflow. */
export function insertWorkflow(db: Database.Database, id: string, input: WorkflowInput, nowMs: number): WorkflowRecord {
  const row = statement(
    db,
    `INSERT INTO workflows (id, name, description, version, workflow_data, tags, author_id, execution_config, status, is_active,
       is_template, template_category, created_at, updated_at)
     VALUES (@id, @name, @description, @version, @workflowData, @tags, @authorId, @executionConfig, 'na', @isActive,
       @isTemplate, @templateCategory, @now, @now)
     RETURNING *`,
  ).get({ id, ...bindInput(input), now: isoAt(nowMs) }) as Record<string, unknown>;
  return toWorkflowRecord(row);
}

/** Replaces a workflow's client-set fields. */
export function updateWorkflow(db: Database.Database, id: string, input: WorkflowInput, nowMs: number): WorkflowRecord | null {
  const row = statement(
    db,
    `UPDATE workflows SET name = @name, description = @description, version = @version, workflow_data = @workflowData, tags = @tags,
       author_id = @authorId, execution_config = @executionConfig, is_active = @isActive, is_template = @isTemplate,
       template_category = @templateCategory, updated_at = @now
     WHERE id = @id RETURNING *`,
  ).get({ id, ...bindInput(input), now: isoAt(nowMs) }) as Record<string, unknown> | undefined;
  return row ? toWorkflowRecord(row) : null;
}

/** Deletes a workflow and its history, unless it has work in flight. */
export function deleteWorkflow(db: Database.Database, id: string): 'deleted' | 'missing' | 'busy' {
  const exists = statement(db, `SELECT 1 FROM workflows WHERE id = ?`).get(id);
  if (!exists) return 'missing';
  const busy = statement(
    db,
    `SELECT 1 FROM event_queue WHERE workflow_id = ? AND status IN ('pending', 'processing')
     UNION ALL SELECT 1 FROM executions WHERE workflow_id = ? AND status IN ('running', 'paused') LIMIT 1`,
  ).get(id, id);
  if (busy) return 'busy';
  statement(db, `DELETE FROM workflows WHERE id = ?`).run(id);
  return 'deleted';
}

/** One workflow by id. */
export function selectWorkflow(db: Database.Database, id: string): WorkflowRecord | null {
  const row = statement(db, `SELECT * FROM workflows WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
  return row ? toWorkflowRecord(row) : null;
}

/** True when a workflow with this id exists. */
export function workflowExists(db: Database.Database, id: string): boolean {
  return statement(db, `SELECT 1 FROM workflows WHERE id = ?`).get(id) !== undefined;
}

// One statement per query serves every filter: a null parameter matches every row.
function bindFilter(filter: WorkflowListFilter) {
  return { isTemplate: filter.isTemplate === undefined ? null : filter.isTemplate ? 1 : 0, category: filter.templateCategory ?? null };
}

/** A page of workflows, newest first, filtered by template flag and category. */
export function selectWorkflows(db: Database.Database, limit: number, offset: number, filter: WorkflowListFilter = {}): WorkflowRecord[] {
  const rows = statement(
    db,
    `SELECT * FROM workflows
     WHERE (@isTemplate IS NULL OR is_template = @isTemplate) AND (@category IS NULL OR template_category = @category)
     ORDER BY created_at DESC, id LIMIT @limit OFFSET @offset`,
  ).all({ ...bindFilter(filter), limit, offset }) as Array<Record<string, unknown>>;
  return rows.map(toWorkflowRecord);
}

/** How many workflows match the filter. */
export function countWorkflows(db: Database.Database, filter: WorkflowListFilter = {}): number {
  const row = statement(
    db,
    `SELECT COUNT(*) AS n FROM workflows
     WHERE (@isTemplate IS NULL OR is_template = @isTemplate) AND (@category IS NULL OR template_category = @category)`,
  ).get(bindFilter(filter)) as { n: number };
  return Number(row.n);
}
