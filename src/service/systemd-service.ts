// The daemon's side of a systemd Type=notify service: READY=1 once the daemon is ready (migrated,
// listening, dispatching), STATUS= lines with queue depth and runs in flight, WATCHDOG=1 every
// WATCHDOG_USEC/2 but only while the dispatcher and writer make progress (so systemd restarts a wedged
// daemon), and STOPPING=1 when the drain begins. Without NOTIFY_SOCKET it does nothing.
import type { SystemdEnvironment } from '../config.js';
import type { Logger } from '../log.js';
import { openNotifier, type Notifier } from './systemd-notify.js';
import type { Clock } from '../domain/clock.js';
import { ProgressMonitor, type ProgressSources } from './progress-monitor.js';

/** What the status line reports. */
export interface ServiceStatus {
  queueDepth: number;
  inFlight: number;
  capacity: number;
}

/** What the integration reads from the daemon. */
export interface SystemdServiceDeps {
  env: SystemdEnvironment;
  /** This process's id: WATCHDOG_PID names the process the watchdog is meant for. */
  pid: number;
  isReady(): boolean;
  /** Read anew before each READY/STATUS line (the store's reads are asynchronous). */
  status(): Promise<ServiceStatus>;
  progress: ProgressSources;
  /** No progress for this long counts as wedged (see stallAfterMsFor). */
  stallAfterMs: number;
  clock: Clock;
  log: Logger;
  /** Injected by tests; by default libsystemd's sd_notify is loaded. */
  openNotifier?: (log: Logger) => Promise<Notifier | null>;
}

/** The running integration. */
export interface SystemdService {
  /** Tells systemd the drain has begun. */
  stopping(): void;
  /** Stops the timers and waits for queued messages to go out. */
  close(): Promise<void>;
}

// Often enough to follow the queue, rarely enough that counting it stays cheap on a large table.
const statusIntervalMs = 5_000;
const readyCheckMs = 50;

const inactive: SystemdService = { stopping: () => {}, close: async () => {} };

/** Starts the notify protocol if systemd asked for it (NOTIFY_SOCKET set). */
export async function startSystemdService(deps: SystemdServiceDeps): Promise<SystemdService> {
  if (!deps.env.notifySocket) return inactive;
  const notifier = await (deps.openNotifier ?? openNotifier)(deps.log);
  if (!notifier) return inactive;
  return new NotifyingService(deps, notifier, new ProgressMonitor(deps.progress, deps.clock, deps.stallAfterMs));
}

/** Period of WATCHDOG=1 pings in ms (half the timeout, as systemd advises), or null when off. */
export function watchdogIntervalMs(env: SystemdEnvironment, pid: number): number | null {
  if (env.watchdogUsec === null) return null;
  // A WATCHDOG_PID of another process means the watchdog was set up for it, not for us.
  if (env.watchdogPid !== null && env.watchdogPid !== pid) return null;
  return Math.max(1, Math.floor(env.watchdogUsec / 2_000));
}

class NotifyingService implements SystemdService {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly readyTimer: NodeJS.Timeout;
  private draining = false;
  private announced = false;
  private lastStatus = '';
  private withheld = false;
  // The last status read; lines are built from it so STOPPING=1 never waits on the store.
  private known: ServiceStatus | null = null;

  constructor(
    private readonly deps: SystemdServiceDeps,
    private readonly notifier: Notifier,
    private readonly progress: ProgressMonitor,
  ) {
    this.readyTimer = this.every(readyCheckMs, () => void this.announceWhenReady());
    void this.announceWhenReady();
  }

  stopping(): void {
    this.draining = true;
    this.notifier.send(`STOPPING=1\n${this.statusLine()}`);
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    await this.notifier.flush();
  }

  private async announceWhenReady(): Promise<void> {
    if (this.announced || this.draining || !this.deps.isReady()) return;
    this.announced = true;
    clearInterval(this.readyTimer);
    await this.readStatus();
    if (this.draining) return;
    this.lastStatus = this.statusLine();
    this.notifier.send(`READY=1\n${this.lastStatus}`);
    this.deps.log.info('systemd notified ready');
    // systemd arms the watchdog once start-up completes, i.e. at READY=1.
    const pingMs = watchdogIntervalMs(this.deps.env, this.deps.pid);
    if (pingMs !== null) this.every(pingMs, () => this.pingIfProgressing());
    this.every(statusIntervalMs, () => void this.readStatus().then(() => this.sendStatusIfChanged()));
  }

  private pingIfProgressing(): void {
    const verdict = this.progress.check();
    if (verdict.healthy) {
      if (this.withheld) this.deps.log.info('watchdog pings resumed');
      this.withheld = false;
      this.notifier.send('WATCHDOG=1');
      return;
    }
    // Logged on the change only; systemd restarts the daemon if this lasts a whole WatchdogSec.
    if (!this.withheld) this.deps.log.warn('watchdog pings withheld: no progress', { reasons: verdict.reasons });
    this.withheld = true;
  }

  private sendStatusIfChanged(): void {
    const line = this.statusLine();
    if (line === this.lastStatus) return;
    this.lastStatus = line;
    this.notifier.send(line);
  }

  private async readStatus(): Promise<void> {
    try {
      this.known = await this.deps.status();
    } catch (error) {
      // The store may already be closing; a status line is never worth an unhandled rejection.
      this.deps.log.debug('service status unavailable', { error: String(error) });
    }
  }

  private statusLine(): string {
    const state = this.draining ? 'draining' : 'ready';
    if (!this.known) return `STATUS=${state}`;
    const { queueDepth, inFlight, capacity } = this.known;
    return `STATUS=${state}: queue depth ${queueDepth}, in flight ${inFlight}/${capacity}`;
  }

  private every(ms: number, tick: () => void): NodeJS.Timeout {
    const timer = setInterval(tick, ms);
    // The daemon's lifetime is held by its server and signals, never by these timers.
    timer.unref();
    this.timers.push(timer);
    return timer;
  }
}
