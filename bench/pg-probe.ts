// The drain's view of a PostgreSQL schema while its daemons run: the same questions QueueProbe asks of
// the SQLite file, over the benchmark's own small pool.
import type { Knex } from 'knex';
import type { FinishedProbe, StatusCounts, WorkWindow } from './queue-probe.js';

type CountRow = { status: string; n: string | number };

/** Queries over one schema's event_queue, executions and execution_logs. */
export class PgQueueProbe implements FinishedProbe {
  constructor(private readonly db: Knex) {}

  /** Events by status right now. */
  async statusCounts(): Promise<StatusCounts> {
    const counts: StatusCounts = { pending: 0, processing: 0, completed: 0, failed: 0, cancelled: 0, total: 0 };
    for (const row of await this.rows<CountRow>(`SELECT status, COUNT(*) AS n FROM event_queue GROUP BY status`)) {
      counts[row.status as keyof StatusCounts] = Number(row.n);
      counts.total += Number(row.n);
    }
    return counts;
  }

  /** How many events reached a final state (completed or failed). */
  async finishedCount(): Promise<number> {
    const [row] = await this.rows<{ n: string }>(`SELECT COUNT(*) AS n FROM event_queue WHERE status IN ('completed', 'failed')`);
    return Number(row?.n ?? 0);
  }

  /** First claim and last finish over all events, from the rows the daemons wrote. */
  async workWindow(): Promise<WorkWindow> {
    const [row] = await this.rows<{ first: Date; last: Date }>(`SELECT MIN(processed_at) AS first, MAX(finished_at) AS last FROM event_queue`);
    return { firstClaimMs: row!.first.getTime(), lastFinishMs: row!.last.getTime() };
  }

  /** Executions by status. */
  async executionCounts(): Promise<Record<string, number>> {
    const rows = await this.rows<CountRow>(`SELECT status, COUNT(*) AS n FROM executions GROUP BY status`);
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
  }

  /** How many node attempts completed, over all executions. */
  async nodeCompletedCount(): Promise<number> {
    const [row] = await this.rows<{ n: string }>(`SELECT COUNT(*) AS n FROM execution_logs WHERE event = 'node_completed'`);
    return Number(row?.n ?? 0);
  }

  private async rows<T>(sql: string): Promise<T[]> {
    return ((await this.db.raw(sql)) as { rows: T[] }).rows;
  }
}
