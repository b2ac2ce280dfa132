// The SQLite side of retention: finders on the read connection (a long scan never blocks a commit),
// deletes as ordinary operations of the single writer, and the result files this store wrote.
import type Database from 'better-sqlite3';
import { removeResultFiles } from '../result-files.js';
import type { AgedTable, ExecutionRowTable, RetentionCutoffs, RetentionStore } from '../retention-store.js';
import * as sql from './retention-sql.js';
import type { WriteOperation } from './writer.js';

/** Retention on one SQLite file. */
export class SqliteRetention implements RetentionStore {
  constructor(
    private readonly readDb: Database.Database,
    private readonly write: <T>(apply: WriteOperation<T>) => Promise<T>,
    private readonly resultsDir: string,
  ) {}

  async findSurplusExecutions(keep: number) {
    return sql.selectSurplusExecutions(this.readDb, keep);
  }

  async countExecutionRows(table: ExecutionRowTable, executionIds: string[]) {
    return sql.countExecutionRows(this.readDb, table, executionIds);
  }

  deleteExecutionRows(table: ExecutionRowTable, executionIds: string[], limit: number) {
    return this.write((db) => sql.deleteExecutionRows(db, table, executionIds, limit));
  }

  deleteExecutions(executionIds: string[]) {
    return this.write((db) => sql.deleteExecutions(db, executionIds));
  }

  async idRange(table: AgedTable) {
    return sql.selectIdRange(this.readDb, table);
  }

  async findAged(table: AgedTable, cutoffs: RetentionCutoffs, afterId: number, throughId: number) {
    return sql.selectAged(this.readDb, table, cutoffs, afterId, throughId);
  }

  deleteAged(table: AgedTable, ids: number[], cutoffs: RetentionCutoffs) {
    return this.write((db) => sql.deleteAged(db, table, ids, cutoffs));
  }

  removeResultFiles(filePaths: string[], executionIds: string[]): Promise<number> {
    return removeResultFiles(this.resultsDir, filePaths, executionIds);
  }
}
