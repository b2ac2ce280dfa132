// Retention: what is deleted, in what order, and in batches small enough that the single writer is
// never held for long (each batch is one ordinary write operation, sharing group commits with the
// queue's own writes). Nothing of a pending, running or paused execution is ever deleted: every rule
// in the store requires the execution to be finished, and every delete re-checks it.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Clock } from '../domain/clock.js';
import { isoAt } from '../domain/clock.js';
import type { Logger } from '../log.js';
import type { AgedTable, DueRow, ExecutionRowTable, RetentionCutoffs, RetentionStore } from '../store/retention-store.js';
import type { RetentionSettings } from './retention-settings.js';
import { findStaleTempFiles, removeFiles, type TempFolder } from './temp-files.js';

/** What retention needs. */
export interface RetentionDeps {
  store: RetentionStore;
  /** Read at the start of each run. */
  settings: () => Promise<RetentionSettings>;
  /** Removes an upload's bytes (path relative to the data folder, as the files row holds it). */
  removeUpload(relativePath: string): Promise<void>;
  tempFolders: () => TempFolder[];
  clock: Clock;
  log: Logger;
  /** Rows per write operation; 500 unless given. */
  batchSize?: number;
}

/** Rows per table that a run removed (or, dry, would remove). */
export type RetentionTableCounts = Record<'executions' | AgedTable, number>;

/** The outcome of one run. */
export interface RetentionReport {
  dry_run: boolean;
  /** True when a stop request ended the run between batches. */
  interrupted: boolean;
  tables: RetentionTableCounts;
  disk: { result_files: number; upload_files: number; temp_files: number };
  total_rows: number;
  duration_ms: number;
  limits: { max_execution_history: number; result_storage_days: number; event_retention_days: number; audit_retention_days: number; upload_storage_days: number; temp_file_max_age_hours: number };
}

const executionRowTables: readonly ExecutionRowTable[] = ['execution_results', 'execution_logs', 'execution_iterations', 'email_interactions'];
const agedTables: readonly AgedTable[] = ['execution_results', 'execution_logs', 'execution_iterations', 'email_interactions', 'workflow_state', 'event_queue', 'audit_logs', 'files'];
// Executions per batch of their child rows: with up to `batchSize` rows per delete, a batch stays small.
const executionsPerBatch = 100;
// Ids read per finder call (a primary-key range scan).
const scanWindow = 5_000;
const dayMs = 86_400_000;

/** Runs retention once; `dryRun` counts what is due and changes nothing. */
export async function runRetention(deps: RetentionDeps, options: { dryRun: boolean; signal?: AbortSignal }): Promise<RetentionReport> {
  const started = deps.clock.now();
  const settings = await deps.settings();
  const run = new RetentionRun(deps, options.dryRun, options.signal);
  await run.trimHistory(settings.maxExecutionHistory);
  await run.deleteAged(cutoffsAt(started, settings));
  await run.deleteTempFiles(started - settings.tempFileMaxAgeMs);
  const report = run.report(settings, deps.clock.now() - started);
  logReport(deps.log, report);
  return report;
}

/** The instants before which each kind of row is due. */
export function cutoffsAt(nowMs: number, settings: RetentionSettings): RetentionCutoffs {
  return {
    now: isoAt(nowMs),
    resultsBefore: isoAt(nowMs - settings.resultStorageMs),
    eventsBefore: isoAt(nowMs - settings.eventRetentionMs),
    auditBefore: isoAt(nowMs - settings.auditRetentionMs),
    uploadsBefore: isoAt(nowMs - settings.uploadStorageMs),
  };
}

/** One run's progress and counts. */
class RetentionRun {
  private readonly tables: RetentionTableCounts = { executions: 0, execution_results: 0, execution_logs: 0, execution_iterations: 0, email_interactions: 0, workflow_state: 0, event_queue: 0, audit_logs: 0, files: 0 };
  private readonly disk = { result_files: 0, upload_files: 0, temp_files: 0 };
  private readonly batchSize: number;
  // Dry: executions the history step would delete, so their rows are not counted twice by age.
  private readonly surplus = new Set<string>();

  constructor(
    private readonly deps: RetentionDeps,
    private readonly dryRun: boolean,
    private readonly signal: AbortSignal | undefined,
  ) {
    this.batchSize = deps.batchSize ?? 500;
  }

  /** Deletes finished executions beyond the newest `keep` per workflow, with everything of theirs. */
  async trimHistory(keep: number): Promise<void> {
    const ids = await this.deps.store.findSurplusExecutions(keep);
    for (let i = 0; i < ids.length && !this.stopped; i += executionsPerBatch) {
      const chunk = ids.slice(i, i + executionsPerBatch);
      if (this.dryRun) await this.countExecutions(chunk);
      else await this.deleteExecutions(chunk);
    }
  }

  /**
   * Deletes rows past their age or expiry, table by table. Each table is read in id windows of
   * `scanWindow` rows, so no single read blocks the event loop for long, whatever the table's size.
   */
  async deleteAged(cutoffs: RetentionCutoffs): Promise<void> {
    for (const table of agedTables) {
      const range = await this.deps.store.idRange(table);
      if (!range) continue;
      for (let after = range.min - 1; after < range.max && !this.stopped; after += scanWindow) {
        const due = await this.deps.store.findAged(table, cutoffs, after, after + scanWindow);
        for (let i = 0; i < due.length && !this.stopped; i += this.batchSize) await this.handleDue(table, due.slice(i, i + this.batchSize), cutoffs);
        // Lets the queue's own work run between windows even when nothing here needed the writer.
        await yieldToEventLoop();
      }
    }
  }

  /** Removes temp files last modified before `beforeMs`. */
  async deleteTempFiles(beforeMs: number): Promise<void> {
    if (this.stopped) return;
    const stale = await findStaleTempFiles(this.deps.tempFolders(), beforeMs);
    this.disk.temp_files += this.dryRun ? stale.length : await removeFiles(stale);
  }

  report(settings: RetentionSettings, durationMs: number): RetentionReport {
    return {
      dry_run: this.dryRun,
      interrupted: this.stopped,
      tables: { ...this.tables },
      disk: { ...this.disk },
      total_rows: Object.values(this.tables).reduce((sum, n) => sum + n, 0),
      duration_ms: durationMs,
      limits: {
        max_execution_history: settings.maxExecutionHistory,
        result_storage_days: settings.resultStorageMs / dayMs,
        event_retention_days: settings.eventRetentionMs / dayMs,
        audit_retention_days: settings.auditRetentionMs / dayMs,
        upload_storage_days: settings.uploadStorageMs / dayMs,
        temp_file_max_age_hours: settings.tempFileMaxAgeMs / 3_600_000,
      },
    };
  }

  private async handleDue(table: AgedTable, due: DueRow[], cutoffs: RetentionCutoffs): Promise<void> {
    if (this.dryRun) {
      const counted = (executionRowTables as readonly string[]).includes(table) ? due.filter((row) => !this.surplus.has(row.executionId ?? '')) : due;
      this.tables[table] += counted.length;
      this.countFiles(table, counted.filter((row) => row.filePath !== null).length);
      return;
    }
    const deleted = await this.deps.store.deleteAged(table, due.map((row) => row.id), cutoffs);
    this.tables[table] += deleted.deleted;
    await this.removeFilesOf(table, deleted.filePaths);
  }

  private get stopped(): boolean {
    return this.signal?.aborted ?? false;
  }

  private async countExecutions(chunk: string[]): Promise<void> {
    for (const id of chunk) this.surplus.add(id);
    this.tables.executions += chunk.length;
    for (const table of executionRowTables) {
      const counted = await this.deps.store.countExecutionRows(table, chunk);
      this.tables[table] += counted.rows;
      this.countFiles(table, counted.files);
    }
  }

  private async deleteExecutions(chunk: string[]): Promise<void> {
    const filePaths: string[] = [];
    // Children first, a batch at a time; the execution row last, so a stop in between leaves a
    // smaller execution, never rows without their execution.
    for (const table of executionRowTables) {
      for (;;) {
        const deleted = await this.deps.store.deleteExecutionRows(table, chunk, this.batchSize);
        this.tables[table] += deleted.deleted;
        filePaths.push(...deleted.filePaths);
        if (deleted.deleted < this.batchSize || this.stopped) break;
      }
    }
    const deletedIds = this.stopped ? [] : await this.deps.store.deleteExecutions(chunk);
    this.tables.executions += deletedIds.length;
    this.disk.result_files += await this.deps.store.removeResultFiles(filePaths, deletedIds);
  }

  private async removeFilesOf(table: AgedTable, filePaths: string[]): Promise<void> {
    if (table === 'execution_results') this.disk.result_files += await this.deps.store.removeResultFiles(filePaths, []);
    if (table !== 'files') return;
    for (const filePath of filePaths) {
      try {
        await this.deps.removeUpload(filePath);
        this.disk.upload_files += 1;
      } catch (error) {
        // The row is gone already; bytes we may not touch stay and are reported, the run goes on.
        this.deps.log.warn('expired upload not removed from disk', { filePath, error: String(error) });
      }
    }
  }

  private countFiles(table: AgedTable, n: number): void {
    if (table === 'execution_results') this.disk.result_files += n;
    if (table === 'files') this.disk.upload_files += n;
  }
}

function logReport(log: Logger, report: RetentionReport): void {
  const removedAny = report.total_rows > 0 || Object.values(report.disk).some((n) => n > 0);
  const fields = { ...report.tables, ...report.disk, durationMs: report.duration_ms, interrupted: report.interrupted };
  if (report.dry_run) log.debug('retention dry run', fields);
  else if (removedAny) log.info('retention removed expired data', fields);
  else log.debug('retention found nothing due', { durationMs: report.duration_ms });
}
