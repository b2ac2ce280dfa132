// Writes a workflow and its pending events straight into the SQLite file before the daemon starts,
// so a drain measures claiming and running only, not enqueueing. The workflow's validation and row
// fields are shared with the PostgreSQL preload (pg-preload.ts).
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { claimSortKey, defaultPriority } from '../src/domain/event.js';
import { isoAt } from '../src/domain/clock.js';
import { normalizeWorkflowData, type WorkflowData } from '../src/domain/workflow.js';
import { builtinCatalog } from '../src/engine/node-catalog.js';
import { validateWorkflow } from '../src/engine/workflow-validation.js';
import { insertWorkflow } from '../src/store/sqlite/workflow-sql.js';
import type { WorkflowInput } from '../src/store/workflow-store.js';
import type { BenchWorkflow } from './workflows.js';

// The daemon's defaults for an API event: settings priority_aging_seconds and event_max_attempts.
export const priorityAgingMs = 60_000;
export const maxAttempts = 3;

/**
 * The workflow's data after the normalisation and validation the API applies, so a wrong port name
 * fails here, not as 20,000 failed events.
 */
export function validatedWorkflowData(workflow: BenchWorkflow): WorkflowData {
  const data = normalizeWorkflowData({ nodes: workflow.nodes, connections: workflow.connections });
  const catalog = builtinCatalog(false);
  const problems = validateWorkflow(data, (type) => catalog.get(type));
  if (problems.length > 0) throw new Error(`benchmark workflow ${workflow.name} is invalid: ${JSON.stringify(problems)}`);
  return { ...data, name: workflow.name };
}

/** The API's fields of copy `index` (of `count`) of a benchmark workflow: active, no tags, no limits of its own. */
export function benchWorkflowInput(name: string, data: WorkflowData, index: number, count: number): WorkflowInput {
  return {
    name: count === 1 ? name : `${name} ${index + 1}`,
    description: null,
    version: '1.0.0',
    workflow_data: data,
    tags: [],
    execution_config: {},
    is_active: true,
    is_template: false,
    template_category: null,
    author_id: null,
  };
}

/**
 * Inserts `workflowCount` copies of the (validated) workflow through the daemon's own SQL and
 * `eventCount` pending events in one transaction, with the columns `insertEvent` writes.
 * Returns the workflow ids.
 */
export function preloadWorkflowAndEvents(dbPath: string, workflow: BenchWorkflow, eventCount: number, workflowCount = 1): string[] {
  const data = validatedWorkflowData(workflow);
  const db = new Database(dbPath);
  try {
    db.pragma('foreign_keys = ON');
    const workflowIds = Array.from({ length: workflowCount }, () => randomUUID());
    const nowMs = Date.now();
    for (const [index, workflowId] of workflowIds.entries()) insertWorkflow(db, workflowId, benchWorkflowInput(workflow.name, data, index, workflowCount), nowMs);
    insertPendingEvents(db, workflowIds, eventCount, nowMs);
    return workflowIds;
  } finally {
    db.close();
  }
}

/** Inserts `count` due events, dealt round-robin over `workflowIds` so the claim order mixes them. */
function insertPendingEvents(db: Database.Database, workflowIds: string[], count: number, nowMs: number): void {
  const insert = db.prepare(
    `INSERT INTO event_queue (workflow_id, event_type, event_data, priority, status, source, run_at, sort_key, attempts,
       max_attempts, dedup_key, created_at, updated_at)
     VALUES (?, 'bench', ?, ?, 'pending', 'api', ?, ?, 0, ?, NULL, ?, ?)`,
  );
  const nowIso = isoAt(nowMs);
  const sortKey = claimSortKey(defaultPriority, nowMs, priorityAgingMs);
  db.transaction(() => {
    for (let i = 0; i < count; i += 1) {
      insert.run(workflowIds[i % workflowIds.length], JSON.stringify({ n: i }), defaultPriority, nowMs, sortKey, maxAttempts, nowIso, nowIso);
    }
  })();
}
