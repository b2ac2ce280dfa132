// SQL of monitoring on PostgreSQL, the twin of store/sqlite/monitoring-sql.ts: the monitoring columns of
// `workflows`, and trigger state kept in `workflow_state` under a reserved namespace (one row per
// trigger node; deleted with the workflow).
import type { Knex } from 'knex';
import { isoAt } from '../../domain/clock.js';
import type { MonitoringRecord, TriggerState } from '../monitoring-store.js';
import { changes, isoOf, rows, type PgRunner, type Row } from './pg-statements.js';

/**
 * The workflow_state namespace trigger state lives in. Must equal SQLite's (store/sqlite/monitoring-sql.ts),
 * so a database copied from one backend to the other keeps its triggers' history.
 */
export const triggerStateNamespace = '__triggers';

const monitoringColumns = `id, is_active, status, monitoring_started_at, monitoring_stopped_at`;

function toMonitoringRecord(row: Row): MonitoringRecord {
  const startedAt = isoOf(row.monitoring_started_at);
  const stoppedAt = isoOf(row.monitoring_stopped_at);
  return {
    workflowId: row.id as string,
    isActive: row.is_active === true,
    status: (row.status as string | null) ?? 'na',
    startedAt,
    stoppedAt,
    monitoring: startedAt !== null && stoppedAt === null,
  };
}

/** The monitoring state of one workflow, or null when it does not exist. */
export async function selectMonitoring(db: PgRunner, workflowId: string): Promise<MonitoringRecord | null> {
  const found = await rows(db, `SELECT ${monitoringColumns} FROM workflows WHERE id = ?`, [workflowId]);
  return found[0] ? toMonitoringRecord(found[0]) : null;
}

/**
 * Starts monitoring unless it is on already (starting twice keeps the first start time). Two daemons
 * starting at once: the second UPDATE waits for the first's row lock, then re-tests its WHERE on the
 * committed row and changes nothing.
 */
export async function startMonitoring(trx: Knex.Transaction, workflowId: string, nowIso: string): Promise<MonitoringRecord | null> {
  await changes(
    trx,
    `UPDATE workflows SET monitoring_started_at = ?, monitoring_stopped_at = NULL, status = 'running'
      WHERE id = ? AND NOT (monitoring_started_at IS NOT NULL AND monitoring_stopped_at IS NULL)`,
    [nowIso, workflowId],
  );
  return selectMonitoring(trx, workflowId);
}

/** Stops monitoring if it is on. */
export async function stopMonitoring(trx: Knex.Transaction, workflowId: string, nowIso: string): Promise<MonitoringRecord | null> {
  await changes(
    trx,
    `UPDATE workflows SET monitoring_stopped_at = ?, status = 'stopped'
      WHERE id = ? AND monitoring_started_at IS NOT NULL AND monitoring_stopped_at IS NULL`,
    [nowIso, workflowId],
  );
  return selectMonitoring(trx, workflowId);
}

/** Ids of the workflows that are monitoring, in byte order (COLLATE "C", as SQLite orders text). */
export async function selectMonitoringWorkflowIds(db: PgRunner): Promise<string[]> {
  const found = await rows(
    db,
    `SELECT id FROM workflows WHERE monitoring_started_at IS NOT NULL AND monitoring_stopped_at IS NULL ORDER BY id COLLATE "C"`,
  );
  return found.map((row) => row.id as string);
}

/** Trigger state of a workflow's trigger nodes, by node id. */
export async function selectTriggerStates(db: PgRunner, workflowId: string): Promise<Map<string, TriggerState>> {
  const found = await rows(db, `SELECT state_key, state_value FROM workflow_state WHERE workflow_id = ? AND namespace = ?`, [workflowId, triggerStateNamespace]);
  const states = new Map<string, TriggerState>();
  for (const row of found) {
    // A json column, handed back parsed; a value that is not an object reads as "never fired".
    const value = (row.state_value ?? {}) as Record<string, unknown>;
    const lastFiredAt = typeof value.last_fired_at === 'string' ? Date.parse(value.last_fired_at) : NaN;
    const executionCount = Number(value.execution_count);
    states.set(row.state_key as string, {
      lastFiredAt: Number.isFinite(lastFiredAt) ? lastFiredAt : null,
      executionCount: Number.isInteger(executionCount) && executionCount > 0 ? executionCount : 0,
    });
  }
  return states;
}

/** Saves one trigger node's state (a row per node, replaced on each fire). */
export async function upsertTriggerState(trx: Knex.Transaction, workflowId: string, nodeId: string, state: TriggerState, nowIso: string): Promise<void> {
  const value = JSON.stringify({ last_fired_at: state.lastFiredAt === null ? null : isoAt(state.lastFiredAt), execution_count: state.executionCount });
  await changes(
    trx,
    `INSERT INTO workflow_state (workflow_id, namespace, state_key, state_value, value_type, created_at, updated_at, version)
     VALUES (?, ?, ?, ?::json, 'object', ?, ?, 1)
     ON CONFLICT (workflow_id, namespace, state_key) DO UPDATE SET state_value = excluded.state_value, updated_at = excluded.updated_at,
       version = workflow_state.version + 1`,
    [workflowId, triggerStateNamespace, nodeId, value, nowIso, nowIso],
  );
}
