// TEST-ONLY, armed only with TAV_ENABLE_TEST_NODES=1 (like the test_* fixture nodes): SIGUSR2 wedges
// the dispatcher — its claims stop returning, as if the write path had lost them — while the event
// loop, the API and the pool stay alive; a second SIGUSR2 lets them return (empty) again. The systemd
// watchdog test uses it to show that pings stop when the dispatcher stalls although the process still
// answers HTTP, a wedge that a blocked event loop alone would not show. Never armed in production.
import type { Logger } from '../log.js';

/** Wraps a claim so that, in test mode, SIGUSR2 can hold it. Returns `claim` itself otherwise. */
export function wedgeableClaim<T>(enabled: boolean, claim: (limit: number) => Promise<T[]>, log: Logger): (limit: number) => Promise<T[]> {
  if (!enabled) return claim;
  let wedged = false;
  let held: Array<() => void> = [];
  process.on('SIGUSR2', () => {
    wedged = !wedged;
    log.warn('test wedge toggled', { wedged });
    if (wedged) return;
    const release = held;
    held = [];
    for (const resume of release) resume();
  });
  return (limit) => (wedged ? new Promise<T[]>((resolve) => held.push(() => resolve([]))) : claim(limit));
}
