// The event queue on PostgreSQL, for several daemons on one database: the QueueStore semantics of
// store/sqlite/sqlite-queue.ts, asynchronous throughout (reads too), plus the lease upkeep a fleet
// needs: renewLeases (the heartbeat) and reclaimExpired (a dead daemon's work back to the queue).
//
// Per-workflow limit across daemons: a claim takes a transaction-scoped advisory lock per workflow
// (pg_try_advisory_xact_lock) before it counts that workflow's processing events, so two claimers
// never both see the last free slot. Why an advisory lock and not the workflow_queue_depth row:
// every enqueue and every finish of that workflow locks the counter row too, so claims would queue
// behind a busy enqueue stream; the advisory lock is only ever taken by claims, is released by the
// commit, and with the try form a claimer skips a workflow another daemon is claiming right now
// (that daemon takes its due events) instead of waiting, exactly as SKIP LOCKED skips rows. The
// count is exact because only claims raise `processing`, and every limited claim holds the lock.
import type { Knex } from 'knex';
import type { Clock } from '../../domain/clock.js';
import type { ClaimedEvent, EnqueueRequest, QueuedEvent } from '../../domain/event.js';
import type { ExecutionView } from '../../domain/execution.js';
import { AppError, queueFull } from '../../errors.js';
import type { EnqueueOutcome, EventListFilter, QueueDepth, QueueStore, RunFinish } from '../queue-store.js';
import * as control from './pg-queue-control-sql.js';
import { isUniqueViolation, retryOnConflict } from './pg-errors.js';
import * as executions from './pg-execution-sql.js';
import * as lease from './pg-lease-sql.js';
import * as claims from './pg-claim-sql.js';
import * as sql from './pg-queue-sql.js';

// An enqueue whose dedup holder finished between the insert and the lookup tries again, as does a
// requeue that raced a new event with its dedup key; twice is plenty.
const dedupRaceAttempts = 3;

/** The event queue on PostgreSQL, over a knex pool (client `pg`) pointed at the schema. */
export class PgQueue implements QueueStore {
  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
  ) {}

  // Every queue transaction is run again if PostgreSQL aborted it to break a deadlock (pg-errors.ts).
  private transact<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    return retryOnConflict(() => this.db.transaction(work));
  }

  /** Commits an event, or finds the live one with its dedup key; over `maxPending` rejects with `queue_full`. */
  async enqueue(request: EnqueueRequest, sortKey: number, maxPending?: number): Promise<EnqueueOutcome> {
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.transact(async (trx) => {
        if (maxPending !== undefined && Number.isFinite(maxPending)) {
          const pending = await sql.lockPendingCount(trx, request.workflowId);
          // A dedup hit is never refused: it adds nothing to the queue.
          const live = request.dedupKey === null ? null : await sql.selectLiveByDedup(trx, request.workflowId, request.dedupKey);
          if (live) return { event: live, created: false };
          if (pending >= maxPending) throw queueFull(maxPending);
        }
        const event = await sql.insertEvent(trx, request, sortKey, this.clock.now());
        if (event) return { event, created: true };
        const live = await sql.selectLiveByDedup(trx, request.workflowId, request.dedupKey as string);
        return live ? { event: live, created: false } : null;
      });
      if (outcome) return outcome;
      if (attempt >= dedupRaceAttempts) throw new AppError('enqueue_contended', 'the event kept racing another with the same dedup_key; try again', { status: 503, retryAfterSeconds: 1 });
    }
  }

  /**
   * Claims up to `limit` due events, most urgent first (sort_key, id), at most `maxPerWorkflow` of one
   * workflow processing at once across every daemon, and opens their executions.
   */
  claim(limit: number, owner: string, leaseMs: number, maxPerWorkflow = Number.POSITIVE_INFINITY, maxProcessing = Number.POSITIVE_INFINITY): Promise<ClaimedEvent[]> {
    if (limit <= 0) return Promise.resolve([]);
    const nowMs = this.clock.now();
    return this.transact(async (trx) => {
      if (Number.isFinite(maxProcessing)) {
        // The global limit across the fleet: counted in the database under one lock per schema.
        await claims.lockGlobalClaim(trx);
        limit = Math.min(limit, maxProcessing - (await claims.countAllProcessing(trx)));
        if (limit <= 0) return [];
      }
      const picked = Number.isFinite(maxPerWorkflow)
        ? await this.pickUnderLimit(trx, limit, maxPerWorkflow, nowMs)
        : await claims.lockDueEvents(trx, null, limit, nowMs);
      if (picked.length === 0) return [];
      await sql.lockDepthRows(trx, [...new Set(picked.map((event) => event.workflowId))]);
      return claims.markClaimed(trx, picked.map((event) => event.id), owner, leaseMs, nowMs);
    });
  }

  // Each workflow's first min(room, limit) due events, then the first `limit` of them all in claim
  // order. Workflows are visited most urgent first; once `limit` candidates are in hand, a workflow
  // whose most urgent event sorts after the last of them cannot contribute, so the visit stops.
  private async pickUnderLimit(trx: Knex.Transaction, limit: number, maxPerWorkflow: number, nowMs: number) {
    const candidates: Array<{ id: number; sortKey: number; workflowId: string }> = [];
    for (const waiting of await claims.selectWaitingWorkflows(trx, nowMs)) {
      if (candidates.length >= limit && waiting.firstSortKey > candidates[limit - 1]!.sortKey) break;
      if (!(await claims.tryLockWorkflowClaim(trx, waiting.workflowId))) continue;
      const room = Math.min(maxPerWorkflow - (await claims.countProcessing(trx, waiting.workflowId)), limit);
      if (room <= 0) continue;
      candidates.push(...(await claims.lockDueEvents(trx, waiting.workflowId, room, nowMs)));
      candidates.sort((a, b) => a.sortKey - b.sortKey || a.id - b.id);
    }
    return candidates.slice(0, limit);
  }

  /** The heartbeat: extends every lease `owner` holds by `leaseMs` from now; returns how many. */
  renewLeases(owner: string, leaseMs: number, eventIds?: number[]): Promise<number> {
    return lease.extendLeases(this.db, owner, leaseMs, this.clock.now(), eventIds);
  }

  /** Returns events whose lease expired to pending (attempt given back); fails those expired max_attempts times. */
  reclaimExpired(): Promise<{ requeued: number; failed: number }> {
    const nowMs = this.clock.now();
    return this.transact(async (trx) => {
      await sql.lockDepthRows(trx, await lease.selectExpiredWorkflows(trx, nowMs));
      return lease.requeueExpired(trx, nowMs);
    });
  }

  /**
   * Ends an attempt: event and execution change in one transaction, only while `finish.leaseToken`
   * still holds the event. False (and nothing changed) for a late writer whose lease was taken over.
   */
  finishRun(finish: RunFinish): Promise<boolean> {
    return this.transact((trx) => this.finishRunIn(trx, finish));
  }

  /** finishRun inside the caller's transaction (the store's writer commits many ends in one). */
  async finishRunIn(trx: Knex.Transaction, finish: RunFinish): Promise<boolean> {
    const nowMs = this.clock.now();
    if (finish.event.kind !== 'completed' && finish.event.kind !== 'failed') {
      // Back to pending moves the workflow's counter: take its lock first (the lock order of pg-queue-sql.ts).
      // A pause takes it too, before it looks for an open question: an answer takes the same lock
      // before it resumes, so the two cannot cross (the answer would find no paused event to resume,
      // and the pause would not have seen the answer).
      const workflowId = await sql.selectWorkflowOf(trx, finish.eventId);
      if (workflowId !== null) await sql.lockDepthRows(trx, [workflowId]);
    }
    // A pause holds only while a question is still open; one answered meanwhile puts the event back in line.
    const stillWaiting = finish.event.kind === 'paused' && (await sql.hasPendingInteraction(trx, finish.executionId));
    const outcome: RunFinish['event'] = finish.event.kind === 'paused' && !stillWaiting ? { kind: 'released' } : finish.event;
    if (finish.event.kind === 'paused') finish = { ...finish, executionStatus: stillWaiting ? 'paused' : 'pending' };
    if ((await sql.updateFinishedEvent(trx, finish, outcome, nowMs)) === 0) {
      if (finish.executionStatus === 'cancelled') await sql.recordCancelledAttempt(trx, finish, nowMs);
      return false;
    }
    await sql.updateFinishedExecution(trx, finish, nowMs);
    return true;
  }

  /** Cancels a pending event; null when there is no such event, the event as it is otherwise. */
  cancelPendingEvent(id: number): Promise<{ cancelled: boolean; event: QueuedEvent } | null> {
    const nowMs = this.clock.now();
    return this.transact(async (trx) => {
      const workflowId = await sql.selectWorkflowOf(trx, id);
      if (workflowId !== null) await sql.lockDepthRows(trx, [workflowId]);
      return sql.cancelPending(trx, id, nowMs);
    });
  }

  /** Cancels an execution that has not ended, and its event; null when missing, else whether it changed. */
  async cancelExecution(executionId: string): Promise<{ execution: ExecutionView; changed: boolean } | null> {
    const changed = await this.transact((trx) => control.cancelExecution(trx, executionId, this.clock.now()));
    const execution = await executions.selectExecution(this.db, executionId);
    return execution ? { execution, changed } : null;
  }

  /** Puts a failed or cancelled execution's event back in the queue, keeping what finished nodes recorded. */
  async requeueExecution(executionId: string, sortKeyAt: (priority: number, runAt: number) => number): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transact((trx) => control.requeueExecution(trx, executionId, sortKeyAt, this.clock.now()));
      } catch (error) {
        // An event with the same dedup key was enqueued between the check and the update: run again,
        // and the check names it (dedup_key_taken) as on SQLite.
        if (!isUniqueViolation(error) || attempt >= dedupRaceAttempts) throw error;
      }
    }
  }

  /**
   * Events left processing by a daemon that is gone. Other daemons share the database, so a processing
   * event may be a live daemon's: only those whose lease has expired are orphans (see reclaimExpired).
   */
  rescueOrphans(): Promise<{ requeued: number; failed: number }> {
    return this.reclaimExpired();
  }

  /** One event by id, or null. */
  getEvent(id: number): Promise<QueuedEvent | null> {
    return sql.selectEvent(this.db, id);
  }

  /** A page of events, newest first. */
  listEvents(filter: EventListFilter): Promise<QueuedEvent[]> {
    return control.selectEvents(this.db, filter);
  }

  /** Queue depth as `GET /api/v1/queue` reports it. */
  queueDepth(): Promise<QueueDepth> {
    return sql.selectQueueDepth(this.db, this.clock.now());
  }

  /** Epoch ms of the earliest future `run_at` among pending events, or null. */
  nextDueAt(): Promise<number | null> {
    return sql.selectNextDueAt(this.db, this.clock.now());
  }
}
