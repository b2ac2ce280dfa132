// The queue family of the SQLite adapter: enqueue, claim, finish and the queue's reads (QueueStore).
// enqueue/claim/finishRun are the hot path: each is exactly one writer operation, no extra awaits.
import type { EnqueueRequest } from '../../domain/event.js';
import { queueFull } from '../../errors.js';
import type { EventListFilter, QueueStore, RunFinish } from '../queue-store.js';
import * as queue from './event-queue-sql.js';
import * as executions from './execution-sql.js';
import { SqliteFamily } from './sqlite-family.js';

/** The event queue on SQLite. */
export class SqliteQueue extends SqliteFamily implements QueueStore {
  async enqueue(request: EnqueueRequest, sortKey: number, maxPending?: number) {
    // The refusal is a value inside the transaction (a throw would fail the whole group commit).
    const outcome = await this.writer.write((db) => queue.insertEvent(db, request, sortKey, this.clock.now(), maxPending));
    if ('full' in outcome) throw queueFull(maxPending ?? 0);
    return outcome;
  }

  claim(limit: number, owner: string, leaseMs: number, maxPerWorkflow = Number.POSITIVE_INFINITY) {
    return this.writer.write((db) => queue.claimEvents(db, limit, owner, leaseMs, this.clock.now(), maxPerWorkflow));
  }

  finishRun(finish: RunFinish) {
    return this.writer.write((db) => queue.finishRun(db, finish, this.clock.now()));
  }

  cancelPendingEvent(id: number) {
    return this.writer.write((db) => queue.cancelPendingEvent(db, id, this.clock.now()));
  }

  async cancelExecution(executionId: string) {
    const changed = await this.writer.write((db) => queue.cancelExecution(db, executionId, this.clock.now()));
    const execution = executions.selectExecution(this.readDb, executionId);
    return execution ? { execution, changed } : null;
  }

  requeueExecution(executionId: string, sortKeyAt: (priority: number, runAt: number) => number) {
    return this.writer.write((db) => queue.requeueExecution(db, executionId, sortKeyAt, this.clock.now()));
  }

  rescueOrphans() {
    return this.writer.write((db) => queue.rescueOrphans(db, this.clock.now()));
  }

  async getEvent(id: number) {
    return queue.selectEvent(this.readDb, id);
  }

  async listEvents(filter: EventListFilter) {
    return queue.selectEvents(this.readDb, filter);
  }

  async queueDepth() {
    return queue.selectQueueDepth(this.readDb, this.clock.now());
  }

  async nextDueAt() {
    return queue.selectNextDueAt(this.readDb, this.clock.now());
  }
}
