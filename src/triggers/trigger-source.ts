// The contract between the trigger registry and each kind of trigger (schedule, file polling). A
// trigger only ever enqueues events: the dispatcher stays the one place that runs work.
import type { Json } from '../../workers/node-contract.js';

/** Something that fires on its own once started: a schedule, a folder watch. */
export interface TriggerSource {
  /** Begins firing; called once. */
  start(): void;
  /** Stops firing; resolves when no further emit will be made. */
  stop(): Promise<void>;
}

/**
 * Enqueues one event for the trigger's workflow with `eventData` as its payload. Resolves true once
 * the event is durable, false when it was refused (the workflow's queue is full); the registry has
 * already logged and counted a refusal, so a trigger only decides what a refusal means for it (a
 * file poller leaves the file to be picked up again, a schedule just waits for its next tick).
 */
export type TriggerEmit = (eventData: Json, options?: { dedupKey?: string }) => Promise<boolean>;
