// The common ground of the SQLite adapter's families (queue, executions, workflows, …): each family
// reads on the store's read connection and writes through its one Writer, so splitting the adapter by
// table family changes nothing about how it reads or writes.
import type Database from 'better-sqlite3';
import type { Clock } from '../../domain/clock.js';
import type { Logger } from '../../log.js';
import type { Writer } from './writer.js';

/** What the store shares with every family; the store owns (opens and closes) all of it. */
export interface SqliteContext {
  readDb: Database.Database;
  writer: Writer;
  clock: Clock;
  log: Logger;
  /** Where results too large to keep inline are written. */
  resultsDir: string;
}

/** The base of one family of the adapter: the shared connection, writer and clock under short names. */
export abstract class SqliteFamily {
  protected readonly readDb: Database.Database;
  protected readonly writer: Writer;
  protected readonly clock: Clock;
  protected readonly resultsDir: string;
  private readonly log: Logger;

  constructor(context: SqliteContext) {
    this.readDb = context.readDb;
    this.writer = context.writer;
    this.clock = context.clock;
    this.resultsDir = context.resultsDir;
    this.log = context.log;
  }

  /** A write nobody awaits (its order in the writer queue is what matters); a failure is logged, never lost silently. */
  protected fireAndForget(apply: (db: Database.Database) => unknown): void {
    // Reaching the catch means a bug (a constraint we violated): the run goes on, its record is incomplete.
    this.writer.write(apply).catch((error: unknown) => this.log.error('background write failed', { error: String(error) }));
  }
}
