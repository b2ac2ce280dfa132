// The maintenance commands' access to one SQLite file: reads on a read-only connection, writes (stuck
// repairs, reset, ANALYZE) through this process's single Writer, VACUUM on the write connection.
// A daemon may be running on the same file: every connection waits on its locks (busy timeout).
import fs from 'node:fs';
import type Database from 'better-sqlite3';
import type { Logger } from '../../log.js';
import { readMigrationNames } from './backup-sql.js';
import { openReadConnection, openWriteConnection } from './connection.js';
import { checkIntegrity, countRows, selectSchema, type TableCount, type TableSchema } from './inspection-sql.js';
import { deleteAllData } from './reset-sql.js';
import { repairStuckExecution, selectRunningExecutions, type RunningExecutionRow, type StuckRepair } from './stuck-sql.js';
import { Writer } from './writer.js';

/** What `tav check-db` reports about the database itself. */
export interface DatabaseInspection {
  tables: TableCount[];
  integrity: string[];
  migrations: string[] | null;
  pageSizeBytes: number;
  pageCount: number;
  freePages: number;
}

/** Maintenance access to an existing database file. */
export class SqliteMaintenance {
  private readDb: Database.Database | null = null;
  private writeDb: Database.Database | null = null;
  private writer: Writer | null = null;

  constructor(
    private readonly dbPath: string,
    private readonly log: Logger,
  ) {
    if (!fs.existsSync(dbPath)) throw new Error(`no database at ${dbPath}`);
  }

  /** Row counts, integrity, applied migrations and page usage. */
  inspect(options: { quick: boolean }): DatabaseInspection {
    const db = this.reader();
    const integrity = checkIntegrity(db, options.quick);
    return {
      tables: countRows(db),
      integrity,
      migrations: readMigrationNames(db),
      pageSizeBytes: Number(db.pragma('page_size', { simple: true })),
      pageCount: Number(db.pragma('page_count', { simple: true })),
      freePages: Number(db.pragma('freelist_count', { simple: true })),
    };
  }

  /** Tables with their columns, foreign keys and indexes. */
  schema(): TableSchema[] {
    return selectSchema(this.reader());
  }

  /** Every execution in `running` with its event. */
  runningExecutions(): RunningExecutionRow[] {
    return selectRunningExecutions(this.reader());
  }

  /** Applies a repair guarded by the rows as seen; false when they moved meanwhile. */
  repairStuck(seen: RunningExecutionRow, repair: StuckRepair, message: string, nowMs: number): Promise<boolean> {
    return this.write((db) => repairStuckExecution(db, seen, repair, message, nowMs));
  }

  /** Deletes all data but settings and the system user. */
  deleteAllData(systemUserId: number): Promise<Record<string, number>> {
    return this.write((db) => deleteAllData(db, systemUserId));
  }

  /** Refreshes the query planner's statistics. */
  analyze(): Promise<void> {
    return this.write((db) => void db.exec('ANALYZE'));
  }

  /**
   * Rewrites the file without free pages. Not through the Writer: VACUUM cannot run inside a
   * transaction, and this process makes no other write meanwhile.
   */
  vacuum(): void {
    const db = this.writeConnection();
    db.exec('VACUUM');
    // Hand the space back: fold the rewritten pages into the main file and shrink the WAL.
    db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** Commits what is queued and closes the connections. */
  async close(): Promise<void> {
    await this.writer?.close();
    this.readDb?.close();
    this.writeDb?.close();
  }

  private reader(): Database.Database {
    this.readDb ??= openReadConnection(this.dbPath);
    return this.readDb;
  }

  private writeConnection(): Database.Database {
    this.writeDb ??= openWriteConnection(this.dbPath, 'FULL');
    // A daemon's group commit may hold the write lock for a moment; VACUUM waits longer than it.
    this.writeDb.pragma('busy_timeout = 30000');
    return this.writeDb;
  }

  private write<T>(apply: (db: Database.Database) => T): Promise<T> {
    this.writer ??= new Writer(this.writeConnection(), { maxBatch: 100, maxDelayMs: 0, log: this.log });
    return this.writer.write(apply);
  }
}
