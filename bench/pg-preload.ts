// Writes the drain's workflows and pending events straight into a PostgreSQL schema before the
// daemons start, as preload.ts does into the SQLite file: a drain measures claiming and running only.
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { isoAt } from '../src/domain/clock.js';
import { claimSortKey, defaultPriority } from '../src/domain/event.js';
import { insertWorkflow } from '../src/store/pg/pg-workflow-sql.js';
import { benchWorkflowInput, maxAttempts, priorityAgingMs, validatedWorkflowData } from './preload.js';
import type { BenchWorkflow } from './workflows.js';

// Rows per INSERT: 12 bindings a row stays far below PostgreSQL's 65,535 per statement.
const rowsPerInsert = 2_000;

/**
 * Inserts `workflowCount` copies of the (validated) workflow through the daemon's own SQL and
 * `eventCount` due events dealt round-robin over them, with the columns `insertEvent` writes, in one
 * transaction. The queue-depth triggers keep workflow_queue_depth right. Returns the workflow ids.
 */
export async function preloadPgWorkflowAndEvents(db: Knex, workflow: BenchWorkflow, eventCount: number, workflowCount = 1): Promise<string[]> {
  const data = validatedWorkflowData(workflow);
  const workflowIds = Array.from({ length: workflowCount }, () => randomUUID());
  const nowMs = Date.now();
  const nowIso = isoAt(nowMs);
  const sortKey = claimSortKey(defaultPriority, nowMs, priorityAgingMs);
  await db.transaction(async (trx) => {
    for (const [index, workflowId] of workflowIds.entries()) await insertWorkflow(trx, workflowId, benchWorkflowInput(workflow.name, data, index, workflowCount), nowIso);
    for (let first = 0; first < eventCount; first += rowsPerInsert) {
      const rows = Array.from({ length: Math.min(rowsPerInsert, eventCount - first) }, (_, offset) => ({
        workflow_id: workflowIds[(first + offset) % workflowIds.length],
        event_type: 'bench',
        event_data: JSON.stringify({ n: first + offset }),
        priority: defaultPriority,
        status: 'pending',
        source: 'api',
        run_at: nowMs,
        sort_key: sortKey,
        attempts: 0,
        max_attempts: maxAttempts,
        created_at: nowIso,
        updated_at: nowIso,
      }));
      await trx('event_queue').insert(rows);
    }
  });
  return workflowIds;
}
