// Loops wait between attempts (node retries, coordination); a stop, an abort or a lost connection
// must cut a wait short rather than leave a loop asleep for a whole interval.

/** Waits `ms`, or less if `signal` fires; resolves true when the full wait elapsed. Injected into loops. */
export type Sleeper = (ms: number, signal: AbortSignal) => Promise<boolean>;

/** The real-timer sleeper. */
export const sleepInterruptibly: Sleeper = (ms, signal) =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
