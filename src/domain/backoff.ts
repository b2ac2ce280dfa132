// Retry waits, TAV's formula: min(retry_delay × backoff_multiplier^attempt, max_retry_delay).

/** The retry policy, in seconds as the settings table holds it. */
export interface BackoffPolicy {
  retryDelaySeconds: number;
  backoffMultiplier: number;
  maxRetryDelaySeconds: number;
}

/** Milliseconds to wait before the retry that follows failed attempt number `attempt` (1-based). */
export function retryDelayMs(policy: BackoffPolicy, attempt: number): number {
  const exponent = Math.max(0, attempt - 1);
  const seconds = Math.min(policy.retryDelaySeconds * policy.backoffMultiplier ** exponent, policy.maxRetryDelaySeconds);
  return Math.round(seconds * 1000);
}
