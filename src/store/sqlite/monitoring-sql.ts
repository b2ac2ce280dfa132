// SQL of monitoring: the monitoring columns of `workflows`, and trigger state kept in
// `workflow_state` under a reserved namespace (one row per trigger node; deleted with the workflow).
import type Database from 'better-sqlite3';
import { isoAt } from '../../domain/clock.js';
import type { MonitoringRecord, TriggerState } from '../monitoring-store.js';
import { statement } from './connection.js';
import { fromBooleanColumn, fromJsonColumn } from './json-columns.js';

/** The workflow_state namespace trigger state lives in; state nodes of the workflow could read it, never need to. */
export const triggerStateNamespace = '__triggers';

const monitoringColumns = `id, is_active, status, monitoring_started_at, monitoring_stopped_at`;

function toMonitoringRecord(row: Record<string, unknown>): MonitoringRecord {
  const startedAt = (row.monitoring_started_at as string | null) ?? null;
  const stoppedAt = (row.monitoring_stopped_at as string | null) ?? null;
  return {
    workflowId: row.id as string,
    isActive: fromBooleanColumn(row.is_active),
    status: (row.status as string | null) ?? 'na',
    startedAt,
    stoppedAt,
    monitoring: startedAt !== null && stoppedAt === null,
  };
}

/** The monitoring state of one workflow, or null when it does not exist. */
export function selectMonitoring(db: Database.Database, workflowId: string): MonitoringRecord | null {
  const row = statement(db, `SELECT ${monitoringColumns} FROM workflows WHERE id = ?`).get(workflowId) as Record<string, unknown> | undefined;
  return row ? toMonitoringRecord(row) : null;
}

/** Starts monitoring unless it is on already (starting twice keeps the first start time). */
export function startMonitoring(db: Database.Database, workflowId: string, nowMs: number): MonitoringRecord | null {
  statement(
    db,
    `UPDATE workflows SET monitoring_started_at = ?, monitoring_stopped_at = NULL, status = 'running'
      WHERE id = ? AND NOT (monitoring_started_at IS NOT NULL AND monitoring_stopped_at IS NULL)`,
  ).run(isoAt(nowMs), workflowId);
  return selectMonitoring(db, workflowId);
}

/** Stops monitoring if it is on. */
export function stopMonitoring(db: Database.Database, workflowId: string, nowMs: number): MonitoringRecord | null {
  statement(
    db,
    `UPDATE workflows SET monitoring_stopped_at = ?, status = 'stopped'
      WHERE id = ? AND monitoring_started_at IS NOT NULL AND monitoring_stopped_at IS NULL`,
  ).run(isoAt(nowMs), workflowId);
  return selectMonitoring(db, workflowId);
}

/** Ids of the workflows that are monitoring. */
export function selectMonitoringWorkflowIds(db: Database.Database): string[] {
  const rows = statement(db, `SELECT id FROM workflows WHERE monitoring_started_at IS NOT NULL AND monitoring_stopped_at IS NULL ORDER BY id`).all() as Array<{ id: string }>;
  return rows.map((row) => row.id);
}

/** Trigger state of a workflow's trigger nodes, by node id. */
export function selectTriggerStates(db: Database.Database, workflowId: string): Map<string, TriggerState> {
  const rows = statement(db, `SELECT state_key, state_value FROM workflow_state WHERE workflow_id = ? AND namespace = ?`).all(workflowId, triggerStateNamespace) as Array<{
    state_key: string;
    state_value: string | null;
  }>;
  const states = new Map<string, TriggerState>();
  for (const row of rows) {
    const value = fromJsonColumn<Record<string, unknown>>(row.state_value, {});
    const lastFiredAt = typeof value.last_fired_at === 'string' ? Date.parse(value.last_fired_at) : NaN;
    const executionCount = Number(value.execution_count);
    states.set(row.state_key, { lastFiredAt: Number.isFinite(lastFiredAt) ? lastFiredAt : null, executionCount: Number.isInteger(executionCount) && executionCount > 0 ? executionCount : 0 });
  }
  return states;
}

/** Saves one trigger node's state (a row per node, replaced on each fire). */
export function upsertTriggerState(db: Database.Database, workflowId: string, nodeId: string, state: TriggerState, nowMs: number): void {
  const value = JSON.stringify({ last_fired_at: state.lastFiredAt === null ? null : isoAt(state.lastFiredAt), execution_count: state.executionCount });
  statement(
    db,
    `INSERT INTO workflow_state (workflow_id, namespace, state_key, state_value, value_type, created_at, updated_at, version)
     VALUES (@workflowId, @namespace, @nodeId, @value, 'object', @now, @now, 1)
     ON CONFLICT (workflow_id, namespace, state_key) DO UPDATE SET state_value = excluded.state_value, updated_at = excluded.updated_at,
       version = workflow_state.version + 1`,
  ).run({ workflowId, namespace: triggerStateNamespace, nodeId, value, now: isoAt(nowMs) });
}
