// The sd_notify transport. Node has no AF_UNIX datagram sockets, so we call libsystemd's own
// sd_notify() through koffi (a maintained FFI whose prebuilt binaries come from the npm registry: no
// compiler, no install script). libsystemd is the reference implementation: it reads NOTIFY_SOCKET,
// handles path and abstract ('@…') names, and sends from this process, so NotifyAccess=main holds.
// Spawning systemd-notify instead would need NotifyAccess=all and races the child's exit; unix-dgram
// cannot address abstract names. Both koffi and libsystemd.so.0 are optional: when either is missing
// the daemon runs without notify and logs why.
import type { Logger } from '../log.js';

/** Sends state changes to the service manager. */
export interface Notifier {
  /** Queues one message: newline-separated KEY=VALUE assignments (`READY=1`, `STATUS=…`). */
  send(state: string): void;
  /** Resolves once every queued message has been handed to the socket. */
  flush(): Promise<void>;
}

/** Sends one message; resolves with sd_notify's result (> 0 sent, 0 no socket, < 0 −errno). */
export type SendState = (state: string) => Promise<number>;

/** Loads libsystemd's sd_notify; null, with the reason logged, when it cannot be loaded. */
export async function openNotifier(log: Logger): Promise<Notifier | null> {
  try {
    const { default: koffi } = await import('koffi');
    const library = koffi.load('libsystemd.so.0');
    const sdNotify = library.func('int sd_notify(int unset_environment, const char *state)');
    // Off the main thread: a datagram send blocks while the manager's queue is full, and a slow
    // manager must not stall the event loop.
    const sendState: SendState = (state) =>
      new Promise((resolve, reject) => sdNotify.async(0, state, (error: unknown, result: number) => (error ? reject(error) : resolve(result))));
    return new NotifyQueue(sendState, log);
  } catch (error) {
    log.warn('systemd notify unavailable, running without it', { reason: error instanceof Error ? error.message : String(error) });
    return null;
  }
}

// Only the newest copy of these is worth sending: a manager that reads slowly must not grow the queue.
const replaceable = new Set(['WATCHDOG', 'STATUS']);

/** Sends messages one at a time, in order, keeping only the newest waiting ping and status line. */
export class NotifyQueue implements Notifier {
  private readonly waiting: string[] = [];
  private sending = false;
  private idleWaiters: Array<() => void> = [];
  private lastProblem: string | null = null;

  constructor(
    private readonly sendState: SendState,
    private readonly log: Logger,
  ) {}

  send(state: string): void {
    const key = state.slice(0, state.indexOf('='));
    const index = replaceable.has(key) ? this.waiting.findIndex((queued) => queued.startsWith(`${key}=`)) : -1;
    if (index >= 0) this.waiting[index] = state;
    else this.waiting.push(state);
    void this.pump();
  }

  flush(): Promise<void> {
    if (!this.sending) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    while (this.waiting.length > 0) {
      const state = this.waiting.shift()!;
      this.report(await this.sendState(state).catch((error: unknown) => String(error)));
    }
    this.sending = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }

  // Logged once per change, not per message: a broken socket would otherwise log every ping.
  private report(result: number | string): void {
    const problem = typeof result === 'string' ? result : result < 0 ? `errno ${-result}` : result === 0 ? 'NOTIFY_SOCKET not set' : null;
    if (problem === this.lastProblem) return;
    if (problem) this.log.warn('systemd notify failed', { reason: problem });
    else this.log.info('systemd notify delivered again');
    this.lastProblem = problem;
  }
}
