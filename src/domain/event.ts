// The event queue's vocabulary: statuses, what an enqueue asks for, and the claim order.
import type { Json } from '../../workers/node-contract.js';

/**
 * Where an event is in its life. `pending` and `processing` are the active ones; `paused` waits for a
 * person (email_approval): not claimable, no lease, until an answer or expiry puts it back to pending.
 */
export type EventStatus = 'pending' | 'processing' | 'paused' | 'completed' | 'failed' | 'cancelled';

/** How an event entered the queue; becomes the execution's `execution_source`. */
export type EventSource = 'api' | 'manual' | 'schedule' | 'webhook' | 'file_polling';

/** Priorities run 1 (most urgent) to 5. */
export const minPriority = 1;
export const maxPriority = 5;
export const defaultPriority = 3;

/** A validated request to enqueue one event. */
export interface EnqueueRequest {
  workflowId: string;
  eventType: string;
  eventData: Json;
  priority: number;
  source: EventSource;
  /** Epoch ms before which the event must not run. */
  runAt: number;
  maxAttempts: number;
  dedupKey: string | null;
}

/** An event row as the application sees it. */
export interface QueuedEvent {
  id: number;
  workflowId: string;
  eventType: string;
  eventData: Json;
  priority: number;
  status: EventStatus;
  source: EventSource;
  runAt: number;
  attempts: number;
  maxAttempts: number;
  dedupKey: string | null;
  executionId: string | null;
  errorMessage: string | null;
  leaseToken: string | null;
  createdAt: string;
  processedAt: string | null;
  finishedAt: string | null;
}

/** What a claim hands the runner: the event, under a lease, with its execution already created. */
export interface ClaimedEvent {
  id: number;
  workflowId: string;
  eventData: Json;
  priority: number;
  attempts: number;
  maxAttempts: number;
  leaseToken: string;
  executionId: string;
  /** True when the execution existed before this claim (a retry or a rescued run). */
  resumed: boolean;
  enqueuedAtMs: number;
}

/**
 * The claim order key. Claims take the smallest key first, so within a priority the order is FIFO
 * (by run time), and a waiting event ages upward: each `agingMs` it waits is worth one priority
 * level, so a steady stream of urgent events cannot starve priority 5 for ever. Because the key is
 * fixed at enqueue time it can be indexed, and the claim never scans the whole queue.
 */
export function claimSortKey(priority: number, runAt: number, agingMs: number): number {
  return runAt + (priority - minPriority) * agingMs;
}
