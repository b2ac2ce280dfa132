// SQL of a run's record: node logs, per-port results, progress snapshots and the reads behind
// `GET /api/v1/executions/:id[/results|/logs]`.
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type { Json, PortValues } from '../../../workers/node-contract.js';
import { isoAt } from '../../domain/clock.js';
import type { ExecutionStatus, ExecutionView, NodeOutcomeRecord, NodeRunRecord, PayloadLimits } from '../../domain/execution.js';
import type { ExecutionIterationView, ExecutionListFilter, ExecutionLogView, ExecutionResultView, ExecutionSummary } from '../store.js';
import { statement } from './connection.js';
import { appendMetricHistory } from './state-sql.js';
import { fromJsonColumn, toJsonColumn } from './json-columns.js';
import { decodeContent, resultFileLocation, storePortValue, userEventOf } from '../node-results.js';

/** Logs that a node attempt started. */
export function insertNodeStarted(db: Database.Database, executionId: string, nodeId: string, nodeType: string, attempt: number, nowMs: number): void {
  statement(
    db,
    `INSERT INTO execution_logs (execution_id, node_id, level, event, message, attempt, created_at)
     VALUES (?, ?, 'info', 'node_started', ?, ?, ?)`,
  ).run(executionId, nodeId, `${nodeType} started`, attempt, isoAt(nowMs));
}

/** Records a node's outcome: one result row per output port when it succeeded, and a log row. */
export function insertNodeOutcome(db: Database.Database, outcome: NodeOutcomeRecord, limits: PayloadLimits, resultsDir: string, nowMs: number): void {
  const nowIso = isoAt(nowMs);
  if (outcome.outputs) insertPortResults(db, outcome, outcome.outputs, limits, resultsDir, nowIso);
  if (outcome.nodeType === 'event_logger' && outcome.outputs) insertUserEvent(db, outcome, outcome.outputs.logged, nowIso);
  if (outcome.nodeType === 'metric_tracker' && outcome.outputs?.track_history === true && outcome.workflowId) {
    appendMetricHistory(db, outcome.workflowId, outcome.nodeId, outcome.outputs.current_metrics ?? null, nowMs);
  }
  const failed = outcome.error !== null;
  statement(
    db,
    `INSERT INTO execution_logs (execution_id, node_id, level, event, message, data, attempt, duration_ms, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    outcome.executionId,
    outcome.nodeId,
    failed ? 'error' : 'info',
    failed ? 'node_failed' : 'node_completed',
    failed ? outcome.error!.message : `${outcome.nodeType} completed`,
    failed ? JSON.stringify({ code: outcome.error!.code, retryable: outcome.error!.retryable }) : null,
    outcome.attempt,
    Math.round(outcome.durationMs),
    nowIso,
  );
}

function insertPortResults(db: Database.Database, outcome: NodeOutcomeRecord, outputs: PortValues, limits: PayloadLimits, resultsDir: string, nowIso: string): void {
  const insert = statement(
    db,
    `INSERT INTO execution_results (execution_id, node_id, port_name, data_type, content, content_projection, byte_size, file_path, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const port in outputs) {
    const stored = storePortValue(outcome, port, outputs[port], limits, resultsDir);
    insert.run(outcome.executionId, outcome.nodeId, port, stored.dataType, stored.content, stored.projection, stored.byteSize, stored.filePath, nowIso);
  }
}

/** The row an event_logger node asks for, beside its own node_completed row. */
function insertUserEvent(db: Database.Database, outcome: NodeOutcomeRecord, logged: Json | undefined, nowIso: string): void {
  const event = userEventOf(logged);
  if (!event) return;
  statement(
    db,
    `INSERT INTO execution_logs (execution_id, node_id, level, event, message, data, attempt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(outcome.executionId, outcome.nodeId, event.level, event.event, event.message, event.data, outcome.attempt, nowIso);
}

/** Logs a node retry. */
export function insertNodeRetry(db: Database.Database, executionId: string, nodeId: string, nextAttempt: number, waitMs: number, reason: string, nowMs: number): void {
  statement(
    db,
    `INSERT INTO execution_logs (execution_id, node_id, level, event, message, data, attempt, created_at)
     VALUES (?, ?, 'warn', 'node_retry', ?, ?, ?, ?)`,
  ).run(executionId, nodeId, `retrying after ${waitMs} ms: ${reason}`, JSON.stringify({ wait_ms: waitMs }), nextAttempt, isoAt(nowMs));
}

/** Opens a loop pass's iteration row. */
export function insertIterationStarted(db: Database.Database, executionId: string, loopNodeId: string, iteration: number, label: string, nowMs: number): void {
  statement(
    db,
    `INSERT INTO execution_iterations (execution_id, loop_node_id, iteration_number, iteration_index, iteration_value, status, started_at)
     VALUES (?, ?, ?, ?, ?, 'running', ?)`,
  ).run(executionId, loopNodeId, iteration, iteration - 1, JSON.stringify({ label }), isoAt(nowMs));
}

/** Closes a loop pass's iteration row (the newest row of that pass, should a resumed run repeat it). */
export function updateIterationFinished(
  db: Database.Database,
  executionId: string,
  loopNodeId: string,
  iteration: number,
  status: string,
  outputs: Json,
  error: string | null,
  nowMs: number,
): void {
  statement(
    db,
    `UPDATE execution_iterations SET status = ?, outputs = ?, error_message = ?, completed_at = ?
      WHERE id = (SELECT MAX(id) FROM execution_iterations WHERE execution_id = ? AND loop_node_id = ? AND iteration_number = ?)`,
  ).run(status, toJsonColumn(outputs), error, isoAt(nowMs), executionId, loopNodeId, iteration);
}

/** Iteration rows of an execution, in order. */
export function selectIterations(db: Database.Database, executionId: string): ExecutionIterationView[] {
  const rows = statement(db, `SELECT * FROM execution_iterations WHERE execution_id = ? ORDER BY id`).all(executionId) as Array<Record<string, unknown>>;
  return rows.map((row) => ({
    id: Number(row.id),
    loop_node_id: row.loop_node_id as string,
    iteration_number: Number(row.iteration_number),
    iteration_value: fromJsonColumn(row.iteration_value, null),
    status: row.status as string,
    started_at: (row.started_at as string | null) ?? null,
    completed_at: (row.completed_at as string | null) ?? null,
    outputs: fromJsonColumn(row.outputs, null),
    error_message: (row.error_message as string | null) ?? null,
  }));
}

/** Writes the latest per-node snapshot of a running execution. */
export function updateProgress(db: Database.Database, executionId: string, executionMode: string, nodeResults: Record<string, NodeRunRecord>, nowMs: number): void {
  statement(db, `UPDATE executions SET node_results = ?, execution_mode = ?, updated_at = ? WHERE id = ? AND status = 'running'`).run(
    toJsonColumn(nodeResults),
    executionMode,
    isoAt(nowMs),
    executionId,
  );
}

/** Node records of earlier attempts; completed ones get their outputs rebuilt from result rows. */
export function selectPreviousNodes(db: Database.Database, executionId: string, resultsDir: string): Map<string, NodeRunRecord> {
  const previous = new Map<string, NodeRunRecord>();
  const completed = new Map<string, NodeRunRecord>();
  const row = statement(db, `SELECT node_results FROM executions WHERE id = ?`).get(executionId) as { node_results: string | null } | undefined;
  const records = fromJsonColumn<Record<string, NodeRunRecord>>(row?.node_results, {});
  for (const [nodeId, record] of Object.entries(records)) {
    const copy = record.status === 'completed' ? { ...record, outputs: {} } : record;
    previous.set(nodeId, copy);
    if (record.status === 'completed') completed.set(nodeId, copy);
  }
  if (completed.size === 0) return previous;
  const results = statement(db, `SELECT node_id, port_name, data_type, content, file_path FROM execution_results WHERE execution_id = ? ORDER BY id`).all(
    executionId,
  ) as Array<Record<string, string | null>>;
  for (const result of results) {
    const record = completed.get(result.node_id!);
    if (!record) continue;
    // Content kept in a file (over payload_inline_max_bytes) is read back from it.
    const content = result.content ?? (result.file_path ? fs.readFileSync(resultFileLocation(resultsDir, result.file_path), 'utf8') : null);
    record.outputs![result.port_name!] = decodeContent(result.data_type!, content);
  }
  return previous;
}

/** The columns every execution view has; the list leaves out the large JSON ones. */
function toExecutionSummary(row: Record<string, unknown>): ExecutionSummary {
  return {
    id: row.id as string,
    workflow_id: row.workflow_id as string,
    event_id: row.event_id === null ? null : Number(row.event_id),
    status: row.status as ExecutionStatus,
    execution_source: (row.execution_source as string | null) ?? null,
    execution_mode: (row.execution_mode as string | null) ?? null,
    started_by: (row.started_by as string | null) ?? null,
    execution_metadata: fromJsonColumn(row.execution_metadata, null),
    error_message: (row.error_message as string | null) ?? null,
    started_at: (row.started_at as string | null) ?? null,
    completed_at: (row.completed_at as string | null) ?? null,
    cancelled_at: (row.cancelled_at as string | null) ?? null,
  };
}

/** One execution as the API shows it. */
export function selectExecution(db: Database.Database, id: string): ExecutionView | null {
  const row = statement(db, `SELECT * FROM executions WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
  if (!row) return null;
  return {
    ...toExecutionSummary(row),
    trigger_data: fromJsonColumn(row.trigger_data, null),
    node_results: fromJsonColumn(row.node_results, null),
    final_outputs: fromJsonColumn(row.final_outputs, null),
  };
}

/** A page of executions, newest first. */
export function selectExecutions(db: Database.Database, filter: ExecutionListFilter): ExecutionSummary[] {
  const rows = statement(
    db,
    `SELECT id, workflow_id, event_id, status, execution_source, execution_mode, started_by, execution_metadata, error_message,
            started_at, completed_at, cancelled_at
       FROM executions
      WHERE (@workflowId IS NULL OR workflow_id = @workflowId) AND (@status IS NULL OR status = @status)
        AND (@source IS NULL OR execution_source = @source) AND (@from IS NULL OR started_at >= @from)
        AND (@to IS NULL OR started_at < @to) AND (@beforeId IS NULL OR id < @beforeId)
      ORDER BY id DESC LIMIT @limit`,
  ).all({
    workflowId: filter.workflowId ?? null,
    status: filter.status ?? null,
    source: filter.source ?? null,
    from: filter.startedFrom ?? null,
    to: filter.startedTo ?? null,
    beforeId: filter.beforeId ?? null,
    limit: filter.limit,
  }) as Array<Record<string, unknown>>;
  return rows.map(toExecutionSummary);
}

/** Result rows of an execution in the order they were written. */
export function selectResults(db: Database.Database, executionId: string): ExecutionResultView[] {
  const rows = statement(db, `SELECT * FROM execution_results WHERE execution_id = ? ORDER BY id`).all(executionId) as Array<Record<string, unknown>>;
  return rows.map((row) => ({
    id: Number(row.id),
    node_id: row.node_id as string,
    port_name: row.port_name as string,
    data_type: row.data_type as string,
    content: decodeContent(row.data_type as string, row.content as string | null),
    content_projection: (row.content_projection as string | null) ?? null,
    byte_size: Number(row.byte_size),
    file_path: (row.file_path as string | null) ?? null,
    created_at: row.created_at as string,
  }));
}

/** Log rows of an execution, oldest first. */
export function selectLogs(db: Database.Database, executionId: string, limit: number, afterId = 0): ExecutionLogView[] {
  const rows = statement(db, `SELECT * FROM execution_logs WHERE execution_id = ? AND id > ? ORDER BY id LIMIT ?`).all(executionId, afterId, limit) as Array<
    Record<string, unknown>
  >;
  return rows.map((row) => ({
    id: Number(row.id),
    node_id: (row.node_id as string | null) ?? null,
    level: row.level as string,
    event: row.event as string,
    message: (row.message as string | null) ?? null,
    data: fromJsonColumn(row.data, null),
    attempt: row.attempt === null ? null : Number(row.attempt),
    duration_ms: row.duration_ms === null ? null : Number(row.duration_ms),
    created_at: row.created_at as string,
  }));
}
