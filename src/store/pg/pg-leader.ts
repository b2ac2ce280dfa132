// Leader election across daemons sharing one PostgreSQL database: the leader is whichever session
// holds a session advisory lock. The server releases the lock when that session ends, however it
// ends (stop, crash, SIGKILL, pg_terminate_backend), and a follower takes it on its next attempt.
//
// Invariant: this process never acts as leader without a live session holding the lock. We depose
// ourselves the moment the session reports an error or end, and on stop() we depose before we
// release, so from this process's view there is never a moment with two leaders.
import type { Clock } from '../../domain/clock.js';
import { systemClock } from '../../domain/clock.js';
import type { Logger } from '../../log.js';
import { coerceError } from '../../errors.js';
import { advisoryLockKey, advisoryUnlockSql, sessionAliveSql, tryAdvisoryLockSql } from './pg-coordination-sql.js';
import type { SessionClient, SessionConnector } from './pg-session-client.js';
import type { Sleeper } from '../../domain/interruptible-sleep.js';
import { sleepInterruptibly } from '../../domain/interruptible-sleep.js';

/** Why a leader stopped being leader. */
export type DeposeReason = 'connection-lost' | 'session-check-failed' | 'stopped';

/** What a leader election needs; effects and timing are injected. */
export interface LeaderElectionOptions {
  /** Opens the dedicated session that holds the lock (never a pooled connection). */
  connect: SessionConnector;
  /** The lock's name, e.g. 'tav:maintenance'; every daemon of a fleet uses the same one. */
  lockName: string;
  /** How often a follower tries to take the lock, and how often the leader proves its session alive. */
  retryIntervalMs: number;
  log: Logger;
  /** Called once each time this process becomes leader. */
  onElected?: () => void;
  /** Called once each time this process stops being leader, before the lock can pass to another. */
  onDeposed?: (reason: DeposeReason) => void;
  clock?: Clock;
  sleep?: Sleeper;
}

/** One candidate in a leader election; start() it on every daemon, exactly one becomes leader. */
export class LeaderElection {
  private readonly lockKey: string;
  private readonly clock: Clock;
  private readonly sleep: Sleeper;
  private readonly stopping = new AbortController();
  private session: SessionClient | null = null;
  private leader = false;
  private electedAtMs: number | null = null;
  private loopDone: Promise<void> | null = null;

  constructor(private readonly options: LeaderElectionOptions) {
    this.lockKey = advisoryLockKey(options.lockName);
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? sleepInterruptibly;
  }

  /** True while this process holds the lock on a live session. */
  get isLeader(): boolean {
    return this.leader;
  }

  /** Epoch ms this process last became leader, or null while it is not leader. */
  get leaderSince(): number | null {
    return this.electedAtMs;
  }

  /** Starts campaigning: tries now, then every retryIntervalMs while not leader. */
  start(): void {
    if (this.loopDone || this.stopping.signal.aborted) return;
    this.options.log.info('leader election started', { lockName: this.options.lockName });
    this.loopDone = this.campaign();
  }

  /** Stops campaigning; a leader deposes itself, releases the lock and closes its session. */
  async stop(): Promise<void> {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort();
    await this.loopDone;
    const session = this.session;
    this.session = null;
    if (!session) return;
    session.removeAllListeners('end');
    if (this.leader) {
      this.depose('stopped');
      // Ending the session releases the lock anyway; unlocking first hands over without waiting
      // for the backend to exit.
      await session.query(advisoryUnlockSql, [this.lockKey]).catch((err: unknown) => {
        this.options.log.warn('leader lock release failed', { lockName: this.options.lockName, error: describe(err) });
      });
    }
    await session.end().catch(() => undefined);
    this.options.log.info('leader election stopped', { lockName: this.options.lockName });
  }

  private async campaign(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      await this.attempt();
      await this.sleep(this.options.retryIntervalMs, this.stopping.signal);
    }
  }

  /** One pass: open a session if needed, then take the lock (follower) or prove the session alive (leader). */
  private async attempt(): Promise<void> {
    let session: SessionClient | null = this.session;
    try {
      session ??= await this.openSession();
      if (this.stopping.signal.aborted) return;
      if (this.leader) await session.query(sessionAliveSql);
      else await this.tryAcquire(session);
    } catch (err) {
      this.options.log.warn('leader election attempt failed', { lockName: this.options.lockName, error: describe(err) });
      if (session) this.loseSession(session, 'session-check-failed');
    }
  }

  private async openSession(): Promise<SessionClient> {
    const session = await this.options.connect();
    session.on('error', (err) => {
      this.options.log.warn('leader session error', { lockName: this.options.lockName, error: describe(err) });
      this.loseSession(session, 'connection-lost');
    });
    session.on('end', () => this.loseSession(session, 'connection-lost'));
    this.session = session;
    return session;
  }

  private async tryAcquire(session: SessionClient): Promise<void> {
    const { rows } = await session.query(tryAdvisoryLockSql, [this.lockKey]);
    // The session may have died while the answer was on its way; the server released the lock then.
    if (rows[0]?.acquired !== true || this.session !== session) return;
    this.leader = true;
    this.electedAtMs = this.clock.now();
    this.options.log.info('elected leader', { lockName: this.options.lockName });
    this.notify(() => this.options.onElected?.());
  }

  /** Forgets a dead session; if it held the lock we are no longer leader, effective immediately. */
  private loseSession(session: SessionClient, reason: DeposeReason): void {
    if (this.session !== session) return;
    this.session = null;
    if (this.leader) this.depose(reason);
    session.removeAllListeners('end');
    void session.end().catch(() => undefined);
  }

  private depose(reason: DeposeReason): void {
    this.leader = false;
    this.electedAtMs = null;
    this.options.log.info('deposed as leader', { lockName: this.options.lockName, reason });
    this.notify(() => this.options.onDeposed?.(reason));
  }

  /** Runs a caller's callback; its failure is the caller's to fix, never a reason to stop the election. */
  private notify(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.options.log.error('leader election callback failed', { lockName: this.options.lockName, error: describe(err) });
    }
  }
}

function describe(err: unknown): string {
  return coerceError(err).message;
}
