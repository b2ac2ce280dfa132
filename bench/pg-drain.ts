// Drain benchmark on PostgreSQL: N events are already pending in a fresh schema when one or several
// daemons start on it; we time from the first claim (by any daemon) to the last finished_at, both
// from the rows the daemons wrote, so neither start-up nor the 50 ms end detection blurs the figure.
// The fleet's daemons start together, so the first to be ready works alone for a moment: that is
// part of a fleet's start, and the per-daemon counts show how the work was shared.
import type { BenchDaemon } from './daemon-process.js';
import { drainProblems } from './drain.js';
import { withPgFleet, type FleetOutcome } from './pg-fleet-session.js';
import { PgQueueProbe } from './pg-probe.js';
import { waitUntilFinished } from './queue-probe.js';
import type { BenchWorkflow } from './workflows.js';

/** One drain run on PostgreSQL. */
export interface PgDrainResult {
  events: number;
  /** First claim → last finished_at, ms. */
  windowMs: number;
  /** Completed events (= executions) per second of the window. */
  perSecond: number;
  completed: number;
  failed: number;
  executionsCompleted: number;
  nodesCompleted: number;
  /** Events each daemon completed, from its own metrics, in start order. */
  completedPerDaemon: number[];
  problems: string[];
}

/** Runs one drain of `events` pre-enqueued events, dealt over `workflowCount` copies of `workflow`, by `daemonCount` daemons. */
export async function runPgDrain(cliPath: string, label: string, workflow: BenchWorkflow, events: number, workflowCount: number, daemonCount: number): Promise<FleetOutcome<PgDrainResult>> {
  return withPgFleet(cliPath, label, workflow, events, workflowCount, daemonCount, async ({ daemons, db }) => {
    const probe = new PgQueueProbe(db);
    await waitUntilFinished(probe, events);
    const window = await probe.workWindow();
    const windowMs = window.lastFinishMs - window.firstClaimMs;
    const counts = await probe.statusCounts();
    const executions = await probe.executionCounts();
    const nodesCompleted = await probe.nodeCompletedCount();
    const completedPerDaemon = await completedByDaemon(daemons);
    const problems = drainProblems(events, workflow.nodes.length, counts, executions, nodesCompleted);
    // A daemon that ran nothing leaves a figure that is not the fleet's; say so rather than print it as one.
    if (daemonCount > 1) {
      for (const [i, n] of completedPerDaemon.entries()) if (n === 0) problems.push(`daemon ${i + 1} of ${daemonCount} completed no events`);
    }
    // More completions than completed rows would mean an event ran to completion twice.
    const reported = completedPerDaemon.reduce((sum, n) => sum + n, 0);
    if (reported !== counts.completed) problems.push(`the daemons report ${reported} completions, the queue ${counts.completed} completed events`);
    return {
      events,
      windowMs,
      perSecond: (counts.completed / windowMs) * 1000,
      completed: counts.completed,
      failed: counts.failed,
      executionsCompleted: executions.completed ?? 0,
      nodesCompleted,
      completedPerDaemon,
      problems,
    };
  });
}

// tav_events_finished_total{outcome="completed"} of each daemon. The daemons share the database's API
// keys, so whichever of them made the bootstrap key opens every daemon's /metrics.
async function completedByDaemon(daemons: BenchDaemon[]): Promise<number[]> {
  const key = daemons.map((daemon) => daemon.key).find((k) => k !== '');
  if (key === undefined) throw new Error('no daemon of the fleet wrote a bootstrap admin key');
  return Promise.all(
    daemons.map(async (daemon) => {
      const response = await fetch(`${daemon.baseUrl}/metrics`, { headers: { authorization: `Bearer ${key}` } });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}: ${text.slice(0, 200)}`);
      const match = /^tav_events_finished_total\{outcome="completed"\} (\d+)$/m.exec(text);
      return match ? Number(match[1]) : 0;
    }),
  );
}
