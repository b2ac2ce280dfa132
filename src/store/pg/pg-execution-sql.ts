// SQL of a run's record on PostgreSQL: node logs, per-port results, loop iterations, progress snapshots
// and the reads behind `GET /api/v1/executions/:id[/results|/logs]`. The twin of
// store/sqlite/execution-sql.ts: the same rows, the same files (node-results.ts), the same views, with
// what pg hands back (timestamptz as Date, json parsed, bigint as text) turned into SQLite's shapes.
import fs from 'node:fs/promises';
import type { Json, PortValues } from '../../../workers/node-contract.js';
import { isoAt } from '../../domain/clock.js';
import type { ExecutionStatus, ExecutionView, NodeOutcomeRecord, NodeRunRecord, PayloadLimits } from '../../domain/execution.js';
import type { ExecutionIterationView, ExecutionListFilter, ExecutionLogView, ExecutionResultView, ExecutionSummary } from '../execution-store.js';
import { decodeContent, resultFileLocation, storePortValue, userEventOf } from '../node-results.js';
import { appendMetricHistory } from './pg-state-sql.js';
import { changes, isoOf, jsonText, rows, type PgRunner, type Row } from './pg-statements.js';

/** Logs that a node attempt started. */
export async function insertNodeStarted(db: PgRunner, executionId: string, nodeId: string, nodeType: string, attempt: number, nowMs: number): Promise<void> {
  await changes(
    db,
    `INSERT INTO execution_logs (execution_id, node_id, level, event, message, attempt, created_at)
     VALUES (?, ?, 'info', 'node_started', ?, ?, ?)`,
    [executionId, nodeId, `${nodeType} started`, attempt, isoAt(nowMs)],
  );
}

/** Records a node's outcome: one result row per output port when it succeeded, and a log row. */
export async function insertNodeOutcome(db: PgRunner, outcome: NodeOutcomeRecord, limits: PayloadLimits, resultsDir: string, nowMs: number): Promise<void> {
  const nowIso = isoAt(nowMs);
  if (outcome.outputs) await insertPortResults(db, outcome, outcome.outputs, limits, resultsDir, nowIso);
  if (outcome.nodeType === 'event_logger' && outcome.outputs) await insertUserEvent(db, outcome, outcome.outputs.logged, nowIso);
  if (outcome.nodeType === 'metric_tracker' && outcome.outputs?.track_history === true && outcome.workflowId) {
    await appendMetricHistory(db, outcome.workflowId, outcome.nodeId, outcome.outputs.current_metrics ?? null, nowMs);
  }
  const failed = outcome.error !== null;
  await changes(
    db,
    `INSERT INTO execution_logs (execution_id, node_id, level, event, message, data, attempt, duration_ms, created_at)
     VALUES (?, ?, ?, ?, ?, ?::json, ?, ?, ?)`,
    [
      outcome.executionId,
      outcome.nodeId,
      failed ? 'error' : 'info',
      failed ? 'node_failed' : 'node_completed',
      failed ? outcome.error!.message : `${outcome.nodeType} completed`,
      failed ? JSON.stringify({ code: outcome.error!.code, retryable: outcome.error!.retryable }) : null,
      outcome.attempt,
      Math.round(outcome.durationMs),
      nowIso,
    ],
  );
}

async function insertPortResults(db: PgRunner, outcome: NodeOutcomeRecord, outputs: PortValues, limits: PayloadLimits, resultsDir: string, nowIso: string): Promise<void> {
  for (const port in outputs) {
    const stored = storePortValue(outcome, port, outputs[port], limits, resultsDir);
    await changes(
      db,
      `INSERT INTO execution_results (execution_id, node_id, port_name, data_type, content, content_projection, byte_size, file_path, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [outcome.executionId, outcome.nodeId, port, stored.dataType, stored.content, stored.projection, stored.byteSize, stored.filePath, nowIso],
    );
  }
}

/** The row an event_logger node asks for, beside its own node_completed row. */
async function insertUserEvent(db: PgRunner, outcome: NodeOutcomeRecord, logged: Json | undefined, nowIso: string): Promise<void> {
  const event = userEventOf(logged);
  if (!event) return;
  await changes(
    db,
    `INSERT INTO execution_logs (execution_id, node_id, level, event, message, data, attempt, created_at) VALUES (?, ?, ?, ?, ?, ?::json, ?, ?)`,
    [outcome.executionId, outcome.nodeId, event.level, event.event, event.message, event.data, outcome.attempt, nowIso],
  );
}

/** Logs a node retry. */
export async function insertNodeRetry(db: PgRunner, executionId: string, nodeId: string, nextAttempt: number, waitMs: number, reason: string, nowMs: number): Promise<void> {
  await changes(
    db,
    `INSERT INTO execution_logs (execution_id, node_id, level, event, message, data, attempt, created_at)
     VALUES (?, ?, 'warn', 'node_retry', ?, ?::json, ?, ?)`,
    [executionId, nodeId, `retrying after ${waitMs} ms: ${reason}`, JSON.stringify({ wait_ms: waitMs }), nextAttempt, isoAt(nowMs)],
  );
}

/** Opens a loop pass's iteration row. */
export async function insertIterationStarted(db: PgRunner, executionId: string, loopNodeId: string, iteration: number, label: string, nowMs: number): Promise<void> {
  await changes(
    db,
    `INSERT INTO execution_iterations (execution_id, loop_node_id, iteration_number, iteration_index, iteration_value, status, started_at)
     VALUES (?, ?, ?, ?, ?::json, 'running', ?)`,
    [executionId, loopNodeId, iteration, iteration - 1, JSON.stringify({ label }), isoAt(nowMs)],
  );
}

/** Closes a loop pass's iteration row (the newest row of that pass, should a resumed run repeat it). */
export async function updateIterationFinished(
  db: PgRunner,
  executionId: string,
  loopNodeId: string,
  iteration: number,
  status: string,
  outputs: Json,
  error: string | null,
  nowMs: number,
): Promise<void> {
  await changes(
    db,
    `UPDATE execution_iterations SET status = ?, outputs = ?::json, error_message = ?, completed_at = ?
      WHERE id = (SELECT MAX(id) FROM execution_iterations WHERE execution_id = ? AND loop_node_id = ? AND iteration_number = ?)`,
    [status, jsonText(outputs), error, isoAt(nowMs), executionId, loopNodeId, iteration],
  );
}

/** Iteration rows of an execution, in order. */
export async function selectIterations(db: PgRunner, executionId: string): Promise<ExecutionIterationView[]> {
  const found = await rows(db, `SELECT * FROM execution_iterations WHERE execution_id = ? ORDER BY id`, [executionId]);
  return found.map((row) => ({
    id: Number(row.id),
    loop_node_id: row.loop_node_id as string,
    iteration_number: Number(row.iteration_number),
    iteration_value: jsonOf(row.iteration_value),
    status: row.status as string,
    started_at: isoOf(row.started_at),
    completed_at: isoOf(row.completed_at),
    outputs: jsonOf(row.outputs),
    error_message: (row.error_message as string | null) ?? null,
  }));
}

/** Writes the latest per-node snapshot of a running execution. */
export async function updateProgress(db: PgRunner, executionId: string, executionMode: string, nodeResults: Record<string, NodeRunRecord>, nowMs: number): Promise<void> {
  await changes(db, `UPDATE executions SET node_results = ?::json, execution_mode = ?, updated_at = ? WHERE id = ? AND status = 'running'`, [
    jsonText(nodeResults),
    executionMode,
    isoAt(nowMs),
    executionId,
  ]);
}

/** Node records of earlier attempts; completed ones get their outputs rebuilt from result rows. */
export async function selectPreviousNodes(db: PgRunner, executionId: string, resultsDir: string): Promise<Map<string, NodeRunRecord>> {
  const previous = new Map<string, NodeRunRecord>();
  const completed = new Map<string, NodeRunRecord>();
  const [row] = await rows(db, `SELECT node_results FROM executions WHERE id = ?`, [executionId]);
  const records = (row?.node_results ?? {}) as Record<string, NodeRunRecord>;
  for (const [nodeId, record] of Object.entries(records)) {
    const copy = record.status === 'completed' ? { ...record, outputs: {} } : record;
    previous.set(nodeId, copy);
    if (record.status === 'completed') completed.set(nodeId, copy);
  }
  if (completed.size === 0) return previous;
  const results = await rows(db, `SELECT node_id, port_name, data_type, content, file_path FROM execution_results WHERE execution_id = ? ORDER BY id`, [executionId]);
  for (const result of results) {
    const record = completed.get(result.node_id as string);
    if (!record) continue;
    // Content kept in a file (over payload_inline_max_bytes) is read back from it.
    const filePath = result.file_path as string | null;
    const content = (result.content as string | null) ?? (filePath ? await fs.readFile(resultFileLocation(resultsDir, filePath), 'utf8') : null);
    record.outputs![result.port_name as string] = decodeContent(result.data_type as string, content);
  }
  return previous;
}

/** A json column's value (pg parses it), null when the column is empty. */
function jsonOf<T = Json>(value: unknown): T | null {
  return value === undefined || value === null ? null : (value as T);
}

/** The columns every execution view has; the list leaves out the large JSON ones. */
function toExecutionSummary(row: Row): ExecutionSummary {
  return {
    id: row.id as string,
    workflow_id: row.workflow_id as string,
    event_id: row.event_id === null ? null : Number(row.event_id),
    status: row.status as ExecutionStatus,
    execution_source: (row.execution_source as string | null) ?? null,
    execution_mode: (row.execution_mode as string | null) ?? null,
    started_by: (row.started_by as string | null) ?? null,
    execution_metadata: jsonOf(row.execution_metadata),
    error_message: (row.error_message as string | null) ?? null,
    started_at: isoOf(row.started_at),
    completed_at: isoOf(row.completed_at),
    cancelled_at: isoOf(row.cancelled_at),
  };
}

/** One execution as the API shows it. */
export async function selectExecution(db: PgRunner, id: string): Promise<ExecutionView | null> {
  const [row] = await rows(db, `SELECT * FROM executions WHERE id = ?`, [id]);
  if (!row) return null;
  return {
    ...toExecutionSummary(row),
    trigger_data: jsonOf(row.trigger_data),
    node_results: jsonOf<Record<string, NodeRunRecord>>(row.node_results),
    final_outputs: jsonOf(row.final_outputs),
  };
}

/** A page of executions, newest first. */
export async function selectExecutions(db: PgRunner, filter: ExecutionListFilter): Promise<ExecutionSummary[]> {
  // Each optional filter is bound twice (`? IS NULL OR column = ?`); the casts give pg the parameter types.
  const workflowId = filter.workflowId ?? null;
  const status = filter.status ?? null;
  const source = filter.source ?? null;
  const from = filter.startedFrom ?? null;
  const to = filter.startedTo ?? null;
  const beforeId = filter.beforeId ?? null;
  const found = await rows(
    db,
    `SELECT id, workflow_id, event_id, status, execution_source, execution_mode, started_by, execution_metadata, error_message,
            started_at, completed_at, cancelled_at
       FROM executions
      WHERE (?::text IS NULL OR workflow_id = ?) AND (?::text IS NULL OR status = ?)
        AND (?::text IS NULL OR execution_source = ?) AND (?::timestamptz IS NULL OR started_at >= ?::timestamptz)
        AND (?::timestamptz IS NULL OR started_at < ?::timestamptz) AND (?::text IS NULL OR id < ?)
      ORDER BY id DESC LIMIT ?`,
    [workflowId, workflowId, status, status, source, source, from, from, to, to, beforeId, beforeId, filter.limit],
  );
  return found.map(toExecutionSummary);
}

/** Result rows of an execution in the order they were written. */
export async function selectResults(db: PgRunner, executionId: string): Promise<ExecutionResultView[]> {
  const found = await rows(db, `SELECT * FROM execution_results WHERE execution_id = ? ORDER BY id`, [executionId]);
  return found.map((row) => ({
    id: Number(row.id),
    node_id: row.node_id as string,
    port_name: row.port_name as string,
    data_type: row.data_type as string,
    content: decodeContent(row.data_type as string, row.content as string | null),
    content_projection: (row.content_projection as string | null) ?? null,
    byte_size: Number(row.byte_size),
    file_path: (row.file_path as string | null) ?? null,
    created_at: isoOf(row.created_at) ?? '',
  }));
}

/** Log rows of an execution, oldest first. */
export async function selectLogs(db: PgRunner, executionId: string, limit: number, afterId = 0): Promise<ExecutionLogView[]> {
  const found = await rows(db, `SELECT * FROM execution_logs WHERE execution_id = ? AND id > ? ORDER BY id LIMIT ?`, [executionId, afterId, limit]);
  return found.map((row) => ({
    id: Number(row.id),
    node_id: (row.node_id as string | null) ?? null,
    level: row.level as string,
    event: row.event as string,
    message: (row.message as string | null) ?? null,
    data: jsonOf(row.data),
    attempt: row.attempt === null ? null : Number(row.attempt),
    duration_ms: row.duration_ms === null ? null : Number(row.duration_ms),
    created_at: isoOf(row.created_at) ?? '',
  }));
}
