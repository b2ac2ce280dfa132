// The storage port of the event queue: enqueue, claim under a lease, finish an attempt, and the reads
// the API and the dispatcher make of the queue. Part of `Store` (store.ts).
import type { ClaimedEvent, EnqueueRequest, EventStatus, QueuedEvent } from '../domain/event.js';
import type { ExecutionStatus, ExecutionView, NodeRunRecord } from '../domain/execution.js';
import type { Json } from '../../workers/node-contract.js';

/** The result of an enqueue: the event, and whether it is new or an earlier one with the same dedup key. */
export interface EnqueueOutcome {
  event: QueuedEvent;
  created: boolean;
}

/** How a claimed event ends. Every one is applied only while the caller still holds the lease. */
export type EventOutcome =
  | { kind: 'completed' }
  | { kind: 'retry'; runAt: number; error: string }
  | { kind: 'failed'; error: string }
  | { kind: 'released' }
  /** Waits for a person's answer: not claimable, no lease, the attempt given back (email_approval). */
  | { kind: 'paused' };

/** The end of one attempt of a run: the execution's new state and the event's outcome, applied together. */
export interface RunFinish {
  eventId: number;
  leaseToken: string;
  executionId: string;
  executionStatus: ExecutionStatus;
  nodeResults: Record<string, NodeRunRecord>;
  finalOutputs: Json;
  errorMessage: string | null;
  /** Kept on the execution: which workflow structure the attempt ran (a retry compares it). */
  executionMetadata: Json;
  event: EventOutcome;
}

/** Filters for listing events. */
export interface EventListFilter {
  status?: EventStatus;
  workflowId?: string;
  limit: number;
  /** Events with an id below this one (pages go newest first). */
  beforeId?: number;
}

/** Queue depth as `GET /api/v1/queue` reports it. */
export interface QueueDepth {
  byStatus: Record<EventStatus, number>;
  pendingByPriority: Record<string, number>;
  oldestPendingCreatedAt: string | null;
  duePending: number;
}

/** The queue's storage. */
export interface QueueStore {
  /**
   * Commits an event (or finds the live one with its dedup key). With `maxPending`, a new event of a
   * workflow that already has that many pending ones is refused: rejects with AppError `queue_full` (429).
   */
  enqueue(request: EnqueueRequest, sortKey: number, maxPending?: number): Promise<EnqueueOutcome>;
  /**
   * Claims up to `limit` due events, most urgent first, at most `maxPerWorkflow` of one workflow
   * processing at once (no per-workflow limit without it), and creates (or reopens) their executions.
   * With `maxProcessing`, at most that many events are processing at once in all (the global limit):
   * on a database several daemons share it is counted there; on SQLite, where one daemon owns the
   * file, the dispatcher's capacity already bounds it and the argument is not needed.
   */
  claim(limit: number, owner: string, leaseMs: number, maxPerWorkflow?: number, maxProcessing?: number): Promise<ClaimedEvent[]>;
  /** Ends an attempt: execution row and event row change in one transaction. False if the lease was lost. */
  finishRun(finish: RunFinish): Promise<boolean>;
  /** Cancels a pending event; null when there is no such event, the event as it is otherwise. */
  cancelPendingEvent(id: number): Promise<{ cancelled: boolean; event: QueuedEvent } | null>;
  /** Cancels an execution that has not ended, and its event; null when missing, else whether it changed. */
  cancelExecution(executionId: string): Promise<{ execution: ExecutionView; changed: boolean } | null>;
  /** Puts a failed or cancelled execution's event back in the queue, keeping what finished nodes recorded. */
  requeueExecution(executionId: string, sortKeyAt: (priority: number, runAt: number) => number): Promise<boolean>;
  /** Returns events left `processing` by a dead process to `pending` without consuming an attempt; fails those orphaned for the max_attempts-th time. */
  rescueOrphans(): Promise<{ requeued: number; failed: number }>;
  getEvent(id: number): Promise<QueuedEvent | null>;
  listEvents(filter: EventListFilter): Promise<QueuedEvent[]>;
  queueDepth(): Promise<QueueDepth>;
  /** Epoch ms of the earliest future `run_at` among pending events, or null. */
  nextDueAt(): Promise<number | null>;
}
