// SQL of workflow_state on PostgreSQL: the semantics of store/sqlite/state-sql.ts (the same outputs, the
// same versions, the same StateOperationError codes) for several daemons sharing one database.
//
// On SQLite one writer applies every operation, so a read-modify-write (an increment, a merge, a metric
// sample) always starts from the latest value. Here another daemon's writer may be at the same key, and
// a row lock cannot cover a key that does not exist yet; so a changing operation first takes a
// transaction-scoped advisory lock on its key, held to the commit of the writer's group, and operations
// on one key apply one after the other as they do on SQLite. A plain get takes no lock: it reads the
// latest committed value, and its access count is bumped by one atomic UPDATE.
import type { Json, PortValues } from '../../../workers/node-contract.js';
import { isoAt } from '../../domain/clock.js';
import { applyUpdate, StateOperationError, type StateOperation } from '../../domain/state-operation.js';
import { valueType, withMetricSample } from '../state-values.js';
import { changes, isoOf, rows, type PgRunner } from './pg-statements.js';

// The largest value of an integer column: ttl_seconds is informational (expires_at is what counts).
const maxTtlSeconds = 2_147_483_647;

interface StateRow {
  id: number;
  stateValue: Json;
  version: number;
  lastUpdatedAt: string | null;
}

type StateKey = Pick<StateOperation, 'workflowId' | 'namespace' | 'key'>;

/** Serialises the changing operations on one key across daemons until the transaction ends. */
async function lockKey(trx: PgRunner, op: StateKey): Promise<void> {
  // A hash collision only makes two keys wait for each other, never mixes their values.
  await rows(trx, `SELECT pg_advisory_xact_lock(hashtextextended(?, 0))`, [JSON.stringify(['tav.state', op.workflowId, op.namespace, op.key])]);
}

async function liveRow(db: PgRunner, op: StateKey, nowIso: string): Promise<StateRow | undefined> {
  // An expired value reads as not found; maintenance purges it later.
  const [row] = await rows(
    db,
    `SELECT id, state_value, version, updated_at, created_at FROM workflow_state
      WHERE workflow_id = ? AND namespace = ? AND state_key = ? AND (expires_at IS NULL OR expires_at > ?)`,
    [op.workflowId, op.namespace, op.key, nowIso],
  );
  if (!row) return undefined;
  // json comes back parsed; a SQL NULL reads as null, as SQLite's empty column does.
  return { id: Number(row.id), stateValue: (row.state_value ?? null) as Json, version: Number(row.version), lastUpdatedAt: isoOf(row.updated_at ?? row.created_at) };
}

async function upsert(db: PgRunner, op: StateKey, value: Json, expiresAt: string | null, ttlSeconds: number | null, nowIso: string): Promise<number> {
  // A fractional or huge TTL (SQLite keeps it as given) is stored as whole seconds an integer column can hold.
  const ttl = ttlSeconds === null ? null : Math.min(Math.ceil(ttlSeconds), maxTtlSeconds);
  const [row] = await rows(
    db,
    `INSERT INTO workflow_state (workflow_id, namespace, state_key, state_value, value_type, created_at, updated_at, ttl_seconds, expires_at, version)
     VALUES (?, ?, ?, ?::json, ?, ?, ?, ?, ?, 1)
     ON CONFLICT (workflow_id, namespace, state_key) DO UPDATE SET state_value = excluded.state_value, value_type = excluded.value_type,
       updated_at = excluded.updated_at, ttl_seconds = excluded.ttl_seconds, expires_at = excluded.expires_at,
       version = CASE WHEN workflow_state.expires_at IS NOT NULL AND workflow_state.expires_at <= ?::timestamptz THEN 1 ELSE workflow_state.version + 1 END
     RETURNING version`,
    [op.workflowId, op.namespace, op.key, JSON.stringify(value), valueType(value), nowIso, nowIso, ttl, expiresAt, nowIso],
  );
  return Number(row!.version);
}

/** Applies a state node's operation inside the writer's transaction and returns its outputs. */
export async function applyStateOperation(trx: PgRunner, op: StateOperation, nowMs: number): Promise<PortValues> {
  const nowIso = isoAt(nowMs);
  if (op.kind !== 'get') await lockKey(trx, op);
  const row = await liveRow(trx, op, nowIso);
  switch (op.kind) {
    case 'get': {
      if (row) await changes(trx, `UPDATE workflow_state SET accessed_at = ?, access_count = access_count + 1 WHERE id = ?`, [nowIso, row.id]);
      return {
        state_value: row ? row.stateValue : op.defaultValue,
        state_version: row ? row.version : 0,
        last_updated_at: row ? row.lastUpdatedAt : null,
        found: row !== undefined,
        not_found: row === undefined,
      };
    }
    case 'set': {
      const expiresAt = op.expiresInSeconds === null ? null : isoAt(nowMs + op.expiresInSeconds * 1000);
      return { success: true, state_version: await upsert(trx, op, op.value, expiresAt, op.expiresInSeconds, nowIso) };
    }
    case 'update': {
      // Thrown before any statement changed a row, and not a database error: the transaction stays usable.
      if (!row && !op.createIfMissing) throw new StateOperationError('state_not_found', `no state '${op.key}' in namespace '${op.namespace}'`);
      const next = applyUpdate(row ? row.stateValue : undefined, op.updates, op.operation);
      return { success: true, new_value: next, state_version: await upsert(trx, op, next, null, null, nowIso) };
    }
    case 'delete': {
      const deleted = (await changes(trx, `DELETE FROM workflow_state WHERE workflow_id = ? AND namespace = ? AND state_key = ?`, [op.workflowId, op.namespace, op.key])) > 0;
      return { deleted: deleted && row !== undefined, not_found: !deleted || row === undefined };
    }
  }
}

/**
 * Appends a metric_tracker's sample to its history, kept in workflow_state (namespace `metrics`,
 * key `history:<node id>`), so later executions and admins can read the series.
 */
export async function appendMetricHistory(trx: PgRunner, workflowId: string, nodeId: string, metrics: Json, nowMs: number): Promise<void> {
  const key: StateKey = { workflowId, namespace: 'metrics', key: `history:${nodeId}` };
  const nowIso = isoAt(nowMs);
  await lockKey(trx, key);
  const row = await liveRow(trx, key, nowIso);
  await upsert(trx, key, withMetricSample(row ? row.stateValue : [], metrics, nowIso), null, null, nowIso);
}
