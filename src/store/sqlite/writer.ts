// The single writer: every write of the process is an operation queued here and applied on the one
// write connection. Operations that arrive together share one transaction (group commit), so a
// burst of enqueues or node results costs one commit instead of one each.
import type Database from 'better-sqlite3';
import type { Logger } from '../../log.js';

/** A write: runs synchronously inside the writer's transaction and returns its result. */
export type WriteOperation<T> = (db: Database.Database) => T;

interface Pending {
  apply: WriteOperation<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Bounds on one group commit. */
export interface WriterOptions {
  maxBatch: number;
  /** 0 = commit on the next turn of the event loop; more trades latency for larger batches. */
  maxDelayMs: number;
  log: Logger;
  /** Told after each group commit (metrics). */
  onCommit?: (batchSize: number, commitMs: number) => void;
}

/** Counters for observability and benchmarks. */
export interface WriterStats {
  commits: number;
  operations: number;
  lastBatchSize: number;
  lastCommitMs: number;
  /** Writes queued and not yet committed; the watchdog reads it with `commits` to spot a stuck writer. */
  pending: number;
}

/** Queues writes and commits them in groups; each caller is answered once its write is durable. */
export class Writer {
  private queue: Pending[] = [];
  private latest = new Map<string, WriteOperation<unknown>>();
  private scheduled = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  readonly stats: WriterStats = { commits: 0, operations: 0, lastBatchSize: 0, lastCommitMs: 0, pending: 0 };

  constructor(
    private readonly db: Database.Database,
    private readonly options: WriterOptions,
  ) {}

  /** Queues a write; resolves with its result after the transaction holding it has committed. */
  write<T>(apply: WriteOperation<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('writer is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ apply, resolve: resolve as (value: unknown) => void, reject });
      this.stats.pending = this.queue.length + this.latest.size;
      this.schedule();
    });
  }

  /**
   * Queues a write of which only the newest per `key` matters (e.g. an execution's progress
   * snapshot): within one group commit earlier ones with the same key are dropped. Applied after the
   * ordinary writes of the same group, so it never precedes the insert of the row it updates.
   */
  writeLatest(key: string, apply: WriteOperation<unknown>): void {
    if (this.closed) return;
    this.latest.set(key, apply);
    this.stats.pending = this.queue.length + this.latest.size;
    this.schedule();
  }

  /** Resolves once everything queued so far is committed. */
  flush(): Promise<void> {
    if (this.queue.length === 0 && this.latest.size === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses further writes, then commits what is queued. */
  async close(): Promise<void> {
    // Closed first: a write queued by code reacting to the last commit must fail, not land after close.
    this.closed = true;
    await this.flush();
  }

  /** True while the writer accepts writes. */
  get isOpen(): boolean {
    return !this.closed;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (this.options.maxDelayMs > 0) setTimeout(() => this.commitQueued(), this.options.maxDelayMs);
    else setImmediate(() => this.commitQueued());
  }

  private commitQueued(): void {
    this.scheduled = false;
    while (this.queue.length > 0 || this.latest.size > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      // Latest-only writes ride with the last chunk so they follow the rows they update.
      const latest = this.queue.length === 0 ? [...this.latest.values()] : [];
      if (this.queue.length === 0) this.latest.clear();
      this.commitBatch(batch, latest);
    }
    this.stats.pending = 0;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  private commitBatch(batch: Pending[], latest: WriteOperation<unknown>[]): void {
    const started = performance.now();
    const results: unknown[] = new Array(batch.length);
    try {
      this.db.transaction(() => {
        for (let i = 0; i < batch.length; i++) results[i] = batch[i]!.apply(this.db);
        for (const apply of latest) apply(this.db);
      })();
    } catch (error) {
      // One bad write must not sink the others: replay each alone so only the culprit fails.
      this.options.log.warn('group commit failed, replaying writes one by one', { error: String(error), batchSize: batch.length });
      this.commitOneByOne(batch, latest);
      return;
    }
    this.recordStats(batch.length + latest.length, started);
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]);
  }

  private commitOneByOne(batch: Pending[], latest: WriteOperation<unknown>[]): void {
    for (const pending of batch) {
      try {
        pending.resolve(this.db.transaction(() => pending.apply(this.db))());
      } catch (error) {
        pending.reject(error);
      }
    }
    for (const apply of latest) {
      try {
        this.db.transaction(() => apply(this.db))();
      } catch (error) {
        this.options.log.error('progress write failed', { error: String(error) });
      }
    }
  }

  private recordStats(size: number, started: number): void {
    this.stats.commits += 1;
    this.stats.operations += size;
    this.stats.lastBatchSize = size;
    this.stats.lastCommitMs = performance.now() - started;
    this.options.onCommit?.(size, this.stats.lastCommitMs);
  }
}
