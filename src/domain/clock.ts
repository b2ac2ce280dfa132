// Time is injected so retry, backoff, lease and TTL logic can be tested without sleeping.

/** A source of the current time in epoch milliseconds. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** ISO-8601 text of an epoch-ms instant, the form every datetime column holds. */
export function isoAt(ms: number): string {
  return new Date(ms).toISOString();
}
