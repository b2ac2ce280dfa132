// The SQLite side of retention: finders on the read connection (a long scan never blocks a commit),
// deletes as ordinary operations of the single writer, and the result files this store wrote.
import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type Database from 'better-sqlite3';
import type { AgedTable, ExecutionRowTable, RetentionCutoffs, RetentionStore } from '../retention-store.js';
import * as sql from './retention-sql.js';
import type { WriteOperation } from './writer.js';

/** Retention on one SQLite file. */
export class SqliteRetention implements RetentionStore {
  /** Result file paths are stored relative to the folder holding the results folder (see execution-sql). */
  private readonly resultsBase: string;

  constructor(
    private readonly readDb: Database.Database,
    private readonly write: <T>(apply: WriteOperation<T>) => Promise<T>,
    private readonly resultsDir: string,
  ) {
    this.resultsBase = path.dirname(path.resolve(resultsDir));
  }

  findSurplusExecutions(keep: number) {
    return sql.selectSurplusExecutions(this.readDb, keep);
  }

  countExecutionRows(table: ExecutionRowTable, executionIds: string[]) {
    return sql.countExecutionRows(this.readDb, table, executionIds);
  }

  deleteExecutionRows(table: ExecutionRowTable, executionIds: string[], limit: number) {
    return this.write((db) => sql.deleteExecutionRows(db, table, executionIds, limit));
  }

  deleteExecutions(executionIds: string[]) {
    return this.write((db) => sql.deleteExecutions(db, executionIds));
  }

  idRange(table: AgedTable) {
    return sql.selectIdRange(this.readDb, table);
  }

  findAged(table: AgedTable, cutoffs: RetentionCutoffs, afterId: number, throughId: number) {
    return sql.selectAged(this.readDb, table, cutoffs, afterId, throughId);
  }

  deleteAged(table: AgedTable, ids: number[], cutoffs: RetentionCutoffs) {
    return this.write((db) => sql.deleteAged(db, table, ids, cutoffs));
  }

  async removeResultFiles(filePaths: string[], executionIds: string[]): Promise<number> {
    let removed = 0;
    const folders = new Set<string>();
    for (const filePath of filePaths) {
      const absolute = this.inside(path.resolve(this.resultsBase, filePath));
      if (!absolute) continue;
      await rm(absolute, { force: true });
      removed += 1;
      folders.add(path.dirname(absolute));
    }
    // An execution's folder goes with it; a folder emptied by age-based deletion goes when empty.
    for (const executionId of executionIds) {
      const folder = this.inside(path.join(this.resultsDir, executionId));
      if (folder) await rm(folder, { recursive: true, force: true });
    }
    for (const folder of folders) await rmdir(folder).catch(() => undefined);
    return removed;
  }

  /** The path when it lies inside the results folder; a tampered row must not reach anything else. */
  private inside(absolute: string): string | null {
    const relative = path.relative(path.resolve(this.resultsDir), absolute);
    return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? absolute : null;
  }
}
