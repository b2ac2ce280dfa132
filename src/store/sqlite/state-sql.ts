// SQL of workflow_state. Every operation runs inside the writer's transaction, so an increment
// reads and writes the latest committed value: concurrent increments never lose an update.
import type Database from 'better-sqlite3';
import type { Json, PortValues } from '../../../workers/node-contract.js';
import { isoAt } from '../../domain/clock.js';
import { applyUpdate, StateOperationError, type StateOperation } from '../../domain/state-operation.js';
import { statement } from './connection.js';
import { fromJsonColumn } from './json-columns.js';
import { valueType, withMetricSample } from '../state-values.js';

interface StateRow {
  id: number;
  state_value: string | null;
  version: number;
  updated_at: string | null;
  created_at: string;
}

function liveRow(db: Database.Database, op: StateOperation, nowIso: string): StateRow | undefined {
  // An expired value reads as not found; maintenance purges it later.
  return statement(
    db,
    `SELECT id, state_value, version, updated_at, created_at FROM workflow_state
      WHERE workflow_id = ? AND namespace = ? AND state_key = ? AND (expires_at IS NULL OR expires_at > ?)`,
  ).get(op.workflowId, op.namespace, op.key, nowIso) as StateRow | undefined;
}

function upsert(db: Database.Database, op: StateOperation, value: Json, expiresAt: string | null, ttlSeconds: number | null, nowIso: string): number {
  const row = statement(
    db,
    `INSERT INTO workflow_state (workflow_id, namespace, state_key, state_value, value_type, created_at, updated_at, ttl_seconds, expires_at, version)
     VALUES (@workflowId, @namespace, @key, @value, @valueType, @now, @now, @ttl, @expiresAt, 1)
     ON CONFLICT (workflow_id, namespace, state_key) DO UPDATE SET state_value = excluded.state_value, value_type = excluded.value_type,
       updated_at = excluded.updated_at, ttl_seconds = excluded.ttl_seconds, expires_at = excluded.expires_at,
       version = CASE WHEN workflow_state.expires_at IS NOT NULL AND workflow_state.expires_at <= @now THEN 1 ELSE workflow_state.version + 1 END
     RETURNING version`,
  ).get({ workflowId: op.workflowId, namespace: op.namespace, key: op.key, value: JSON.stringify(value), valueType: valueType(value), now: nowIso, ttl: ttlSeconds, expiresAt }) as {
    version: number;
  };
  return row.version;
}

/** Applies a state node's operation and returns its outputs. */
export function applyStateOperation(db: Database.Database, op: StateOperation, nowMs: number): PortValues {
  const nowIso = isoAt(nowMs);
  const row = liveRow(db, op, nowIso);
  switch (op.kind) {
    case 'get': {
      if (row) statement(db, `UPDATE workflow_state SET accessed_at = ?, access_count = access_count + 1 WHERE id = ?`).run(nowIso, row.id);
      const found = row !== undefined;
      return {
        state_value: found ? fromJsonColumn(row.state_value, null) : op.defaultValue,
        state_version: found ? row.version : 0,
        last_updated_at: found ? (row.updated_at ?? row.created_at) : null,
        found,
        not_found: !found,
      };
    }
    case 'set': {
      const expiresAt = op.expiresInSeconds === null ? null : isoAt(nowMs + op.expiresInSeconds * 1000);
      return { success: true, state_version: upsert(db, op, op.value, expiresAt, op.expiresInSeconds, nowIso) };
    }
    case 'update': {
      if (!row && !op.createIfMissing) throw new StateOperationError('state_not_found', `no state '${op.key}' in namespace '${op.namespace}'`);
      const next = applyUpdate(row ? fromJsonColumn(row.state_value, null) : undefined, op.updates, op.operation);
      return { success: true, new_value: next, state_version: upsert(db, op, next, null, null, nowIso) };
    }
    case 'delete': {
      const deleted = statement(db, `DELETE FROM workflow_state WHERE workflow_id = ? AND namespace = ? AND state_key = ?`).run(op.workflowId, op.namespace, op.key).changes > 0;
      return { deleted: deleted && row !== undefined, not_found: !deleted || row === undefined };
    }
  }
}

/**
 * Appends a metric_tracker's sample to its history, kept in workflow_state (namespace `metrics`,
 * key `history:<node id>`), so later executions and admins can read the series.
 */
export function appendMetricHistory(db: Database.Database, workflowId: string, nodeId: string, metrics: Json, nowMs: number): void {
  const op: StateOperation = { kind: 'get', workflowId, namespace: 'metrics', key: `history:${nodeId}`, defaultValue: [] };
  const nowIso = isoAt(nowMs);
  const row = liveRow(db, op, nowIso);
  const history = row ? fromJsonColumn<Json[]>(row.state_value, []) : [];
  const next = withMetricSample(history, metrics, nowIso);
  upsert(db, op, next, null, null, nowIso);
}
