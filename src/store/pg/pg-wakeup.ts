// Wake-ups across daemons: enqueue sends a NOTIFY, every daemon LISTENs on a dedicated session and
// wakes its dispatcher at once. Polling stays the correctness floor: a notification lost while a
// listener is reconnecting only costs latency, so the listener retries with backoff and never fails
// the daemon.
import type { Knex } from 'knex';
import type { Logger } from '../../log.js';
import { coerceError } from '../../errors.js';
import { retryDelayMs } from '../../domain/backoff.js';
import { assertChannelName, listenStatement, notifyKnexSql, notifySql, sessionAliveSql } from './pg-coordination-sql.js';
import type { Queryable, SessionClient, SessionConnector, SessionNotification } from './pg-session-client.js';
import type { Sleeper } from '../../domain/interruptible-sleep.js';
import { sleepInterruptibly } from '../../domain/interruptible-sleep.js';

/** The channel enqueue notifies and dispatchers listen on. */
export const eventEnqueuedChannel = 'tav_event_enqueued';

/** Why a listener woke: a notification arrived, or it (re)connected and may have missed some. */
export type Wake = { source: 'notification'; workflowId?: string } | { source: 'connected' };

/**
 * Tells listening daemons an event was enqueued. Runs on whatever the caller passes; inside the
 * enqueue transaction PostgreSQL delivers it only on commit, so no daemon wakes for an uncommitted row.
 */
export async function notifyEnqueued(queryable: Queryable, workflowId?: string, channel = eventEnqueuedChannel): Promise<void> {
  assertChannelName(channel);
  await queryable.query(notifySql, [channel, workflowId ?? '']);
}

/** notifyEnqueued for a knex connection or transaction (the PostgreSQL store's enqueue path). */
export async function notifyEnqueuedVia(knex: Knex | Knex.Transaction, workflowId?: string, channel = eventEnqueuedChannel): Promise<void> {
  assertChannelName(channel);
  await knex.raw(notifyKnexSql, [channel, workflowId ?? '']);
}

/** Reconnect backoff: first wait, growth and ceiling, in milliseconds. */
export interface ReconnectBackoff {
  initialDelayMs: number;
  multiplier: number;
  maxDelayMs: number;
}

/** What a wake-up listener needs; effects and timing are injected. */
export interface WakeupListenerOptions {
  /** Opens the dedicated session that LISTENs (never a pooled connection). */
  connect: SessionConnector;
  channel?: string;
  /** Called for every notification and once after each (re)connect; must not throw. */
  onWake: (wake: Wake) => void;
  /** How often a connected listener proves its session alive, so a silent network loss is noticed. */
  checkIntervalMs: number;
  reconnect: ReconnectBackoff;
  log: Logger;
  sleep?: Sleeper;
}

/** Keeps one LISTEN session open, reconnecting with backoff, and turns notifications into wake-ups. */
export class WakeupListener {
  private readonly channel: string;
  private readonly sleep: Sleeper;
  private readonly stopping = new AbortController();
  private listening = false;
  private loopDone: Promise<void> | null = null;
  private lastErrorText: string | null = null;

  constructor(private readonly options: WakeupListenerOptions) {
    this.channel = options.channel ?? eventEnqueuedChannel;
    assertChannelName(this.channel);
    this.sleep = options.sleep ?? sleepInterruptibly;
  }

  /** True while a session is LISTENing; false while connecting or reconnecting. */
  get connected(): boolean {
    return this.listening;
  }

  /** The last connection failure's message, for readiness reasons; null once connected again. */
  get lastError(): string | null {
    return this.lastErrorText;
  }

  /** Connects in the background and keeps reconnecting until stop(). */
  start(): void {
    if (this.loopDone || this.stopping.signal.aborted) return;
    this.loopDone = this.listenUntilStopped();
  }

  /** Stops listening and closes the session. */
  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    await this.loopDone;
  }

  private async listenUntilStopped(): Promise<void> {
    let failures = 0;
    while (!this.stopping.signal.aborted) {
      const listened = await this.listenOnce();
      failures = listened ? 1 : failures + 1;
      if (this.stopping.signal.aborted) break;
      const delayMs = this.backoffMs(failures);
      this.options.log.info('wakeup listener reconnecting', { channel: this.channel, delayMs, attempt: failures });
      await this.sleep(delayMs, this.stopping.signal);
    }
  }

  /** One session's life: connect, LISTEN, wake, then check until it dies or we stop. True if it got as far as LISTEN. */
  private async listenOnce(): Promise<boolean> {
    const lost = new AbortController();
    const whileListening = AbortSignal.any([lost.signal, this.stopping.signal]);
    let session: SessionClient | null = null;
    let reachedListen = false;
    try {
      const opened = await this.options.connect();
      session = opened;
      opened.on('error', (err) => this.noteLoss(lost, err));
      opened.on('end', () => this.noteLoss(lost, new Error('connection ended')));
      opened.on('notification', (message) => this.deliver(message));
      await opened.query(listenStatement(this.channel, (name) => opened.escapeIdentifier(name)));
      reachedListen = true;
      if (whileListening.aborted) return true;
      this.listening = true;
      this.lastErrorText = null;
      this.options.log.info('wakeup listener connected', { channel: this.channel });
      // Notifications sent while we were not listening are gone; one wake makes the dispatcher look now.
      this.wake({ source: 'connected' });
      while (await this.sleep(this.options.checkIntervalMs, whileListening)) await opened.query(sessionAliveSql);
    } catch (err) {
      this.noteLoss(lost, err);
    } finally {
      this.listening = false;
      if (session) {
        session.removeAllListeners('end');
        session.removeAllListeners('notification');
        await session.end().catch(() => undefined);
      }
    }
    return reachedListen;
  }

  private deliver(message: SessionNotification): void {
    if (message.channel !== this.channel) return;
    this.wake(message.payload ? { source: 'notification', workflowId: message.payload } : { source: 'notification' });
  }

  private wake(wake: Wake): void {
    try {
      this.options.onWake(wake);
    } catch (err) {
      this.options.log.error('wakeup callback failed', { channel: this.channel, error: coerceError(err).message });
    }
  }

  private noteLoss(lost: AbortController, err: unknown): void {
    if (lost.signal.aborted || this.stopping.signal.aborted) return;
    // Not ready the moment the session fails, not only once the loop has cleaned up.
    this.listening = false;
    this.lastErrorText = coerceError(err).message;
    this.options.log.warn('wakeup listener lost its connection', { channel: this.channel, error: this.lastErrorText });
    lost.abort();
  }

  private backoffMs(attempt: number): number {
    const { initialDelayMs, multiplier, maxDelayMs } = this.options.reconnect;
    return retryDelayMs({ retryDelaySeconds: initialDelayMs / 1000, backoffMultiplier: multiplier, maxRetryDelaySeconds: maxDelayMs / 1000 }, attempt);
  }
}
