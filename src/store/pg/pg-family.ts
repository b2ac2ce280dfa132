// The common ground of the PostgreSQL adapter's families (queue, executions, workflows, …), the twin
// of store/sqlite/sqlite-family.ts: reads go straight to the pool, writes through the one PgWriter
// (in order, in groups), so the families differ from SQLite's only in their SQL.
import type { Knex } from 'knex';
import type { Clock } from '../../domain/clock.js';
import type { Logger } from '../../log.js';
import type { PgWriter } from './pg-writer.js';

/** What the store shares with every family; the store owns (opens and closes) all of it. */
export interface PgContext {
  /** The knex pool (client pg), its search_path set to the daemon's schema. */
  db: Knex;
  writer: PgWriter;
  clock: Clock;
  log: Logger;
  /** Where results too large to keep inline are written (each daemon's own disk). */
  resultsDir: string;
}

/** The base of one family of the adapter. */
export abstract class PgFamily {
  protected readonly db: Knex;
  protected readonly writer: PgWriter;
  protected readonly clock: Clock;
  protected readonly resultsDir: string;
  protected readonly log: Logger;

  constructor(context: PgContext) {
    this.db = context.db;
    this.writer = context.writer;
    this.clock = context.clock;
    this.resultsDir = context.resultsDir;
    this.log = context.log;
  }

  /** A write nobody awaits (its order in its execution's writer lane is what matters); a failure is logged. */
  protected fireAndForget(apply: (trx: Knex.Transaction) => Promise<unknown>, executionId?: string): void {
    this.writer.write(apply, executionId).catch((error: unknown) => this.log.error('background write failed', { error: String(error) }));
  }
}
