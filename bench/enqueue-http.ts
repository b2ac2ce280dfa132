// HTTP enqueue benchmark: autocannon with keep-alive connections POSTs small events for a fixed
// time while the daemon also runs them, as it would in production. autocannon runs in this process,
// so on a 2-core machine the load generator competes with the daemon for CPU; the figure is a floor.
import autocannon from 'autocannon';
import { QueueProbe, waitUntilFinished, type StatusCounts } from './queue-probe.js';
import { withDaemon, type SessionOutcome } from './daemon-session.js';
import { oneNodeWorkflow } from './workflows.js';

/** One HTTP load run. */
export interface HttpResult {
  durationS: number;
  ok2xx: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  perSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Event rows in the database when the load stopped, by status. */
  atLoadEnd: StatusCounts;
  /** After the load: how long the daemon took to finish the backlog, ms. */
  backlogDrainMs: number;
  failed: number;
  problems: string[];
}

// Events are spread over this many workflows: one workflow may hold at most 10,000 pending events
// (max_queue_depth_per_workflow's ceiling), and a 10 s load at the target rate sends more than that.
export const workflowCount = 16;

/**
 * Runs one load of `durationS` seconds with `connections` keep-alive clients. With `ingestOnly` the
 * events are delayed by an hour, so the daemon only accepts and commits them (the ingestion path alone).
 */
export async function runHttpEnqueue(cliPath: string, durationS: number, connections: number, ingestOnly = false): Promise<SessionOutcome<HttpResult>> {
  return withDaemon(cliPath, 'http', oneNodeWorkflow(), 0, async ({ daemon, workflowIds }) => {
    const result = await autocannon({
      url: `${daemon.baseUrl}/api/v1/events`,
      method: 'POST',
      connections,
      pipelining: 1,
      duration: durationS,
      headers: { authorization: `Bearer ${daemon.key}`, 'content-type': 'application/json' },
      // Each connection cycles through these, so the load spreads evenly over the workflows.
      requests: workflowIds.map((id) => ({
        method: 'POST' as const,
        body: JSON.stringify({ workflow_id: id, event_type: 'bench', event_data: { order: 42, sku: 'A-1' }, ...(ingestOnly ? { delay_ms: 3_600_000 } : {}) }),
      })),
    });
    // Requests cut off when the run ended may still commit; let them land before counting rows.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const probe = new QueueProbe(daemon.dbPath);
    try {
      const atLoadEnd = probe.statusCounts();
      const loadEndMs = Date.now();
      // Every 2xx promised a durable event, so every one must be in the table and must finish.
      // Delayed (ingest-only) events are not due: there is no backlog to wait for.
      const doneMs = ingestOnly ? loadEndMs : await waitUntilFinished(probe, atLoadEnd.total, { stallMs: 30_000 });
      const final = probe.statusCounts();
      const problems: string[] = [];
      if (result.non2xx > 0) problems.push(`${result.non2xx} non-2xx responses`);
      if (result.errors > 0) problems.push(`${result.errors} connection errors (${result.timeouts} timeouts)`);
      if (atLoadEnd.total < result['2xx']) problems.push(`${result['2xx']} accepted but ${atLoadEnd.total} event rows`);
      if (final.failed > 0) problems.push(`${final.failed} events failed`);
      return {
        durationS: result.duration,
        ok2xx: result['2xx'],
        non2xx: result.non2xx,
        errors: result.errors,
        timeouts: result.timeouts,
        statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, stat]) => [code, Number(stat.count)])),
        perSecond: result['2xx'] / result.duration,
        latencyP50Ms: result.latency.p50,
        latencyP99Ms: result.latency.p99,
        atLoadEnd,
        backlogDrainMs: doneMs - loadEndMs,
        failed: final.failed,
        problems,
      };
    } finally {
      probe.close();
    }
  }, workflowCount);
}
