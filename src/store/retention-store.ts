// The storage port retention works through (src/maintenance/retention.ts). Finding is done on a read
// connection; every delete goes through the single writer, a few hundred rows at a time, and repeats
// the finder's condition, so a row that came back to life in between (an execution re-queued, a state
// key set again) is never deleted.

/** Tables whose rows belong to one execution and go when it goes. */
export type ExecutionRowTable = 'execution_results' | 'execution_logs' | 'execution_iterations' | 'email_interactions';

/** Tables retention ages out row by row. */
export type AgedTable = 'execution_results' | 'execution_logs' | 'execution_iterations' | 'email_interactions' | 'workflow_state' | 'event_queue' | 'audit_logs' | 'files';

/** The instants (ISO-8601) before which rows are due; `now` for expiry columns. */
export interface RetentionCutoffs {
  now: string;
  resultsBefore: string;
  eventsBefore: string;
  auditBefore: string;
  uploadsBefore: string;
}

/** A row the finder found due. */
export interface DueRow {
  id: number;
  /** The execution it belongs to, where the table has one. */
  executionId: string | null;
  /** The file it names (a result stored outside the database, an upload), where the table has one. */
  filePath: string | null;
}

/** What one delete removed. */
export interface DeletedRows {
  deleted: number;
  /** File paths of the deleted rows (relative, as stored), for the caller to remove from disk. */
  filePaths: string[];
}

/** Retention's reads and guarded deletes. */
export interface RetentionStore {
  /** Finished executions beyond the newest `keep` of their workflow (by start time), oldest id first. */
  findSurplusExecutions(keep: number): Promise<string[]>;
  /** Rows of `table` belonging to these executions: how many, and how many name a file. */
  countExecutionRows(table: ExecutionRowTable, executionIds: string[]): Promise<{ rows: number; files: number }>;
  /** Deletes up to `limit` rows of `table` of these executions, only of those still finished. */
  deleteExecutionRows(table: ExecutionRowTable, executionIds: string[], limit: number): Promise<DeletedRows>;
  /** Deletes these executions where still finished; returns the ids deleted. */
  deleteExecutions(executionIds: string[]): Promise<string[]>;
  /** The lowest and highest id of `table`, or null when it is empty. */
  idRange(table: AgedTable): Promise<{ min: number; max: number } | null>;
  /**
   * Due rows of `table` with `afterId < id <= throughId`, by id. The caller keeps the window small, so
   * each call reads a bounded number of rows (the read is synchronous on the main thread).
   */
  findAged(table: AgedTable, cutoffs: RetentionCutoffs, afterId: number, throughId: number): Promise<DueRow[]>;
  /** Deletes those of `ids` that are still due. */
  deleteAged(table: AgedTable, ids: number[], cutoffs: RetentionCutoffs): Promise<DeletedRows>;
  /** Removes result files the deleted rows named, and the folders of deleted executions; returns files removed. */
  removeResultFiles(filePaths: string[], executionIds: string[]): Promise<number>;
}
