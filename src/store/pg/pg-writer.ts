// The PostgreSQL twin of store/sqlite/writer.ts: writes queued in order and committed in groups, one
// transaction per group. Why keep a writer on a database that takes concurrent writers: the runner
// records a node's start, its outcome and the run's progress without waiting (fire-and-forget), and
// those rows must land in the order they were made; and one commit (one fsync) per group instead of per
// write is what lets a busy daemon end hundreds of runs a second. Order matters only within an
// execution, so the writer runs a few lanes side by side, each execution's writes on one lane.
//
// Connection loss is not a write failure: a group that fails because the connection went away waits
// (backoff up to 5 s) and is committed again once the database answers, so nothing the runner recorded
// is dropped while PostgreSQL restarts. Any other failure replays the group one write at a time, so
// only the culprit fails — as on SQLite.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import type { Logger } from '../../log.js';
import { isConnectionError, retryOnConflict } from './pg-errors.js';

/** A write: runs inside the writer's transaction and resolves with its result. */
export type PgWriteOperation<T> = (trx: Knex.Transaction) => Promise<T>;

interface Pending {
  apply: PgWriteOperation<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Bounds on one group commit. */
export interface PgWriterOptions {
  maxBatch: number;
  log: Logger;
  /** Told after each group commit (metrics). */
  onCommit?: (batchSize: number, commitMs: number) => void;
  /** Told when a group commit meets a lost connection (readiness). */
  onConnectionLost?: (error: unknown) => void;
}

const firstRetryMs = 100;
const maxRetryMs = 5_000;

/** One lane: queues writes and commits them in groups, one transaction at a time, in order. */
class WriterLane {
  private queue: Pending[] = [];
  private latest = new Map<string, PgWriteOperation<unknown>>();
  private running: Promise<void> | null = null;
  private closed = false;
  readonly stats = { commits: 0, operations: 0, lastBatchSize: 0, lastCommitMs: 0, pending: 0 };

  constructor(
    private readonly db: Knex,
    private readonly options: PgWriterOptions,
  ) {}

  /** Queues a write; resolves with its result after the transaction holding it has committed. */
  write<T>(apply: PgWriteOperation<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('writer is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ apply, resolve: resolve as (value: unknown) => void, reject });
      this.kick();
    });
  }

  /** Queues a write of which only the newest per `key` matters; it rides after the ordinary writes. */
  writeLatest(key: string, apply: PgWriteOperation<unknown>): void {
    if (this.closed) return;
    this.latest.set(key, apply);
    this.kick();
  }

  /**
   * Resolves once everything queued so far is committed (or has failed). A no-op write queued behind
   * them marks the spot: waiting for the writer to go idle could wait for ever on a busy daemon.
   */
  async flush(): Promise<void> {
    if (!this.running && this.queue.length === 0 && this.latest.size === 0) return;
    if (this.closed) {
      while (this.running) await this.running;
      return;
    }
    await this.write(async () => undefined);
  }

  /** Refuses further writes, then commits what is queued. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running) await this.running;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  private kick(): void {
    this.stats.pending = this.queue.length + this.latest.size;
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      // A write queued while the last group committed starts the next drain.
      if (this.queue.length > 0 || this.latest.size > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    // One turn of the event loop lets writes made in the same tick join the first group.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length > 0 || this.latest.size > 0) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      const latest = this.queue.length === 0 ? [...this.latest.values()] : [];
      if (this.queue.length === 0) this.latest.clear();
      await this.commitBatch(batch, latest);
    }
    this.stats.pending = 0;
  }

  private async commitBatch(batch: Pending[], latest: PgWriteOperation<unknown>[]): Promise<void> {
    for (let retryMs = firstRetryMs; ; retryMs = Math.min(retryMs * 2, maxRetryMs)) {
      const started = performance.now();
      try {
        const results = await this.db.transaction(async (trx) => {
          const out: unknown[] = [];
          for (const pending of batch) out.push(await pending.apply(trx));
          for (const apply of latest) await apply(trx);
          return out;
        });
        this.recordStats(batch.length + latest.length, started);
        batch.forEach((pending, i) => pending.resolve(results[i]));
        return;
      } catch (error) {
        if (isConnectionError(error)) {
          if (retryMs === firstRetryMs) this.options.onConnectionLost?.(error);
          this.options.log.warn('database unreachable, group commit waits', { error: String(error), batchSize: batch.length, retryInMs: retryMs });
          await sleep(retryMs);
          continue;
        }
        this.options.log.warn('group commit failed, replaying writes one by one', { error: String(error), batchSize: batch.length });
        await this.commitOneByOne(batch, latest);
        return;
      }
    }
  }

  private async commitOneByOne(batch: Pending[], latest: PgWriteOperation<unknown>[]): Promise<void> {
    for (const pending of batch) {
      try {
        pending.resolve(await retryOnConflict(() => this.db.transaction((trx) => pending.apply(trx))));
      } catch (error) {
        pending.reject(error);
      }
    }
    for (const apply of latest) {
      try {
        await retryOnConflict(() => this.db.transaction((trx) => apply(trx)));
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

/**
 * The writer: `lanes` WriterLanes side by side. Order matters only among the writes of one execution
 * (a node's start, its outcome, the run's progress and end), so a write keyed by its execution always
 * takes that execution's lane, and unkeyed writes take lane 0. Why lanes: every statement is a round
 * trip to the server, and one lane alone caps a busy daemon at a few hundred runs a second.
 */
export class PgWriter {
  private readonly lanes: WriterLane[];

  constructor(db: Knex, options: PgWriterOptions & { lanes?: number }) {
    this.lanes = Array.from({ length: Math.max(1, options.lanes ?? 1) }, () => new WriterLane(db, options));
  }

  /** Queues a write on the lane of `key` (an execution id), lane 0 without one. */
  write<T>(apply: PgWriteOperation<T>, key?: string): Promise<T> {
    return this.laneOf(key).write(apply);
  }

  /** Queues a write of which only the newest per `latestKey` matters, on the lane of `key`. */
  writeLatest(latestKey: string, apply: PgWriteOperation<unknown>, key?: string): void {
    this.laneOf(key).writeLatest(latestKey, apply);
  }

  /** Resolves once everything queued so far on the lane of `key` is committed (or has failed). */
  flushFor(key: string): Promise<void> {
    return this.laneOf(key).flush().catch(() => undefined);
  }

  /** Resolves once everything queued so far, on every lane, is committed (or has failed). */
  async flush(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.flush()));
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.close()));
  }

  get isOpen(): boolean {
    return this.lanes[0]!.isOpen;
  }

  /** Counters summed over the lanes (the last batch is the largest lane's). */
  get stats() {
    const all = this.lanes.map((lane) => lane.stats);
    return {
      commits: all.reduce((n, stats) => n + stats.commits, 0),
      operations: all.reduce((n, stats) => n + stats.operations, 0),
      lastBatchSize: Math.max(...all.map((stats) => stats.lastBatchSize)),
      lastCommitMs: Math.max(...all.map((stats) => stats.lastCommitMs)),
      pending: all.reduce((n, stats) => n + stats.pending, 0),
    };
  }

  private laneOf(key: string | undefined): WriterLane {
    if (key === undefined || this.lanes.length === 1) return this.lanes[0]!;
    let hash = 0;
    for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) | 0;
    return this.lanes[Math.abs(hash) % this.lanes.length]!;
  }
}
