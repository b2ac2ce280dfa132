// Read-only view of the daemon's database while it runs: WAL lets this connection read beside the
// daemon's writer without taking its lock, so observing costs the daemon (almost) nothing.
import Database from 'better-sqlite3';

/** Events by status. */
export interface StatusCounts {
  pending: number;
  processing: number;
  completed: number;
  failed: number;
  cancelled: number;
  total: number;
}

/** The daemon's own timestamps bounding the work it did, epoch ms. */
export interface WorkWindow {
  firstClaimMs: number;
  lastFinishMs: number;
}

/** A read-only connection with the queries the scenarios poll. */
export class QueueProbe {
  private readonly db: Database.Database;

  constructor(dbPath: string) {
    this.db = new Database(dbPath, { readonly: true, fileMustExist: true });
  }

  /** Events by status right now. */
  statusCounts(): StatusCounts {
    const counts: StatusCounts = { pending: 0, processing: 0, completed: 0, failed: 0, cancelled: 0, total: 0 };
    for (const row of this.db.prepare(`SELECT status, COUNT(*) AS n FROM event_queue GROUP BY status`).all() as Array<{ status: keyof StatusCounts; n: number }>) {
      counts[row.status] = row.n;
      counts.total += row.n;
    }
    return counts;
  }

  /** How many events reached a final state (completed or failed). */
  finishedCount(): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM event_queue WHERE status IN ('completed', 'failed')`).get() as { n: number }).n;
  }

  /** First claim and last finish over all events, from the daemon's rows. */
  workWindow(): WorkWindow {
    const row = this.db.prepare(`SELECT MIN(processed_at) AS first, MAX(finished_at) AS last FROM event_queue`).get() as { first: string; last: string };
    return { firstClaimMs: Date.parse(row.first), lastFinishMs: Date.parse(row.last) };
  }

  /** Executions by status. */
  executionCounts(): Record<string, number> {
    const rows = this.db.prepare(`SELECT status, COUNT(*) AS n FROM executions GROUP BY status`).all() as Array<{ status: string; n: number }>;
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  }

  /** How many node attempts completed, over all executions. */
  nodeCompletedCount(): number {
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM execution_logs WHERE event = 'node_completed'`).get() as { n: number }).n;
  }

  /** Per event: its created_at and the first node_started of its execution, epoch ms (1 ms resolution). */
  enqueueToStart(): Map<number, { createdMs: number; startedMs: number }> {
    const rows = this.db
      .prepare(
        `SELECT e.id AS id, e.created_at AS created, MIN(l.created_at) AS started
           FROM event_queue e JOIN execution_logs l ON l.execution_id = e.execution_id AND l.event = 'node_started'
          GROUP BY e.id`,
      )
      .all() as Array<{ id: number; created: string; started: string }>;
    return new Map(rows.map((row) => [row.id, { createdMs: Date.parse(row.created), startedMs: Date.parse(row.started) }]));
  }

  /** Closes the connection. */
  close(): void {
    this.db.close();
  }
}

/** What waitUntilFinished polls: the SQLite probe here, or the PostgreSQL one (pg-probe.ts). */
export interface FinishedProbe {
  finishedCount(): number | Promise<number>;
  statusCounts(): StatusCounts | Promise<StatusCounts>;
}

/**
 * Polls until `expected` events are finished; throws when nothing moved for `stallMs` (a wedged
 * daemon should fail the run, not hang the benchmark). Resolves with the epoch ms it saw the end.
 */
export async function waitUntilFinished(probe: FinishedProbe, expected: number, options: { intervalMs?: number; stallMs?: number } = {}): Promise<number> {
  const intervalMs = options.intervalMs ?? 50;
  const stallMs = options.stallMs ?? 30_000;
  let last = -1;
  let lastMoveMs = Date.now();
  for (;;) {
    const finished = await probe.finishedCount();
    if (finished >= expected) return Date.now();
    if (finished !== last) {
      last = finished;
      lastMoveMs = Date.now();
    } else if (Date.now() - lastMoveMs > stallMs) {
      throw new Error(`queue stalled: ${finished}/${expected} finished, no progress for ${stallMs} ms; ${JSON.stringify(await probe.statusCounts())}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
