// Whether a shared database answers, for /health/ready: the daemon keeps serving health while
// PostgreSQL is away, says why it is not ready, and is ready again once a ping gets through. The
// store's writer reports a lost connection the moment a commit meets one (markLost); the ping, on a
// short interval, is what notices the database is back.
import type { Knex } from 'knex';
import type { Logger } from '../log.js';
import { isConnectionError } from '../store/pg/pg-errors.js';

const pingIntervalMs = 1_000;

/** The database's reachability as the daemon last saw it. */
export class DatabaseHealth {
  private reachable = true;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pinging = false;

  constructor(
    private readonly db: Knex,
    private readonly log: Logger,
  ) {}

  get isReachable(): boolean {
    return this.reachable;
  }

  /** Why the database is not reachable, or null. */
  get problem(): string | null {
    return this.reachable ? null : `database unreachable: ${this.lastError ?? 'no answer'}`;
  }

  start(): void {
    this.timer = setInterval(() => void this.ping(), pingIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A query met a lost connection. */
  markLost(error: unknown): void {
    if (!isConnectionError(error)) return;
    if (this.reachable) this.log.error('database connection lost; retrying', { error: String(error) });
    this.reachable = false;
    this.lastError = error instanceof Error ? error.message : String(error);
  }

  private async ping(): Promise<void> {
    if (this.pinging) return;
    this.pinging = true;
    try {
      await this.db.raw('SELECT 1');
      if (!this.reachable) this.log.info('database reachable again');
      this.reachable = true;
      this.lastError = null;
    } catch (error) {
      if (this.reachable) this.log.error('database unreachable; retrying', { error: String(error) });
      this.reachable = false;
      this.lastError = error instanceof Error ? error.message : String(error);
    } finally {
      this.pinging = false;
    }
  }
}
