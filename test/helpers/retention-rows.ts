// Rows planted straight into a test daemon's SQLite file, with timestamps in the past, so retention
// has something old to find without the test waiting days. A separate connection: WAL and the busy
// timeout let it write beside a running daemon.
import Database from 'better-sqlite3';

/** ISO time `days` days ago. */
export function daysAgo(days: number): string {
  return new Date(Date.now() - days * 86_400_000).toISOString();
}

/** Opens the file, runs `apply` in one transaction, closes it. */
export function withDb<T>(dbPath: string, apply: (db: Database.Database) => T): T {
  const db = new Database(dbPath);
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  try {
    return db.transaction(() => apply(db))();
  } finally {
    db.close();
  }
}

/** Rows of `table` matching `where` (a constant condition written by the test) with bound `params`. */
export function countRows(dbPath: string, table: string, where = '1 = 1', ...params: unknown[]): number {
  return withDb(dbPath, (db) => Number((db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${where}`).get(...params) as { n: number }).n));
}

/** Inserts an execution row. */
export function plantExecution(db: Database.Database, id: string, workflowId: string, status: string, startedAt: string): void {
  db.prepare(
    `INSERT INTO executions (id, workflow_id, status, execution_source, execution_mode, started_by, started_at, completed_at, updated_at)
     VALUES (?, ?, ?, 'api', 'parallel', 'system', ?, ?, ?)`,
  ).run(id, workflowId, status, startedAt, ['completed', 'failed', 'cancelled'].includes(status) ? startedAt : null, startedAt);
}

/** Inserts one result, one log and one iteration row of an execution, all dated `at`. */
export function plantExecutionRows(db: Database.Database, executionId: string, at: string): void {
  db.prepare(`INSERT INTO execution_results (execution_id, node_id, port_name, data_type, content, byte_size, created_at) VALUES (?, 'n', 'out', 'string', '"x"', 3, ?)`).run(executionId, at);
  db.prepare(`INSERT INTO execution_logs (execution_id, node_id, level, event, message, created_at) VALUES (?, 'n', 'info', 'node_completed', 'planted', ?)`).run(executionId, at);
  db.prepare(`INSERT INTO execution_iterations (execution_id, loop_node_id, iteration_number, status, started_at, completed_at) VALUES (?, 'loop', 0, 'completed', ?, ?)`).run(executionId, at, at);
}

/** Inserts an email interaction of an execution. */
export function plantInteraction(db: Database.Database, id: string, workflowId: string, executionId: string | null, status: string, createdAt: string, expiresAt: string | null): void {
  db.prepare(
    `INSERT INTO email_interactions (interaction_id, workflow_id, execution_id, node_id, interaction_type, status, created_at, expires_at)
     VALUES (?, ?, ?, 'approve', 'approval', ?, ?, ?)`,
  ).run(id, workflowId, executionId, status, createdAt, expiresAt);
}

/** Inserts an event row; returns its id. */
export function plantEvent(db: Database.Database, workflowId: string, status: string, executionId: string | null, at: string): number {
  const runAt = Date.parse(at);
  const finishedAt = ['completed', 'failed', 'cancelled'].includes(status) ? at : null;
  return Number(
    db
      .prepare(
        `INSERT INTO event_queue (workflow_id, event_type, source, priority, status, run_at, sort_key, execution_id, created_at, finished_at, updated_at)
         VALUES (?, 'planted', 'api', 3, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(workflowId, status, runAt, runAt, executionId, at, finishedAt, at).lastInsertRowid,
  );
}
