// The retention family of the PostgreSQL adapter (RetentionStore), the twin of
// store/sqlite/sqlite-retention.ts: finders read the pool, each batched delete is one operation of the
// PgWriter, and the result files are removed as SQLite removes them (store/result-files.ts).
import { removeResultFiles } from '../result-files.js';
import type { AgedTable, ExecutionRowTable, RetentionCutoffs, RetentionStore } from '../retention-store.js';
import { PgFamily } from './pg-family.js';
import * as sql from './pg-retention-sql.js';

/** Retention's reads and guarded deletes on PostgreSQL. */
export class PgRetention extends PgFamily implements RetentionStore {
  findSurplusExecutions(keep: number) {
    return sql.selectSurplusExecutions(this.db, keep);
  }

  countExecutionRows(table: ExecutionRowTable, executionIds: string[]) {
    return sql.countExecutionRows(this.db, table, executionIds);
  }

  deleteExecutionRows(table: ExecutionRowTable, executionIds: string[], limit: number) {
    return this.writer.write((trx) => sql.deleteExecutionRows(trx, table, executionIds, limit));
  }

  deleteExecutions(executionIds: string[]) {
    return this.writer.write((trx) => sql.deleteExecutions(trx, executionIds));
  }

  idRange(table: AgedTable) {
    return sql.selectIdRange(this.db, table);
  }

  findAged(table: AgedTable, cutoffs: RetentionCutoffs, afterId: number, throughId: number) {
    return sql.selectAged(this.db, table, cutoffs, afterId, throughId);
  }

  deleteAged(table: AgedTable, ids: number[], cutoffs: RetentionCutoffs) {
    return this.writer.write((trx) => sql.deleteAged(trx, table, ids, cutoffs));
  }

  /** Each daemon removes the files under its own results folder; rows name them relative to its parent. */
  removeResultFiles(filePaths: string[], executionIds: string[]): Promise<number> {
    return removeResultFiles(this.resultsDir, filePaths, executionIds);
  }
}
