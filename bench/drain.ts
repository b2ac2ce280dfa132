// Drain benchmark: N events are already pending when the daemon starts; we time from ready until
// the last one finishes. The window comes from the daemon's own timestamps (first claim, last
// finished_at), so the 50 ms polling that detects the end does not blur the figure.
import { QueueProbe, waitUntilFinished, type StatusCounts } from './queue-probe.js';
import { withDaemon, type SessionOutcome } from './daemon-session.js';
import type { BenchWorkflow } from './workflows.js';

/** One drain run. */
export interface DrainResult {
  events: number;
  nodesPerExecution: number;
  /** Ready (or first claim, if earlier) → last finished_at, ms. */
  windowMs: number;
  perSecond: number;
  completed: number;
  failed: number;
  executionsCompleted: number;
  nodesCompleted: number;
  problems: string[];
}

/** Runs one drain of `events` pre-enqueued events dealt over `workflowCount` copies of `workflow`. */
export async function runDrain(cliPath: string, label: string, workflow: BenchWorkflow, events: number, workflowCount: number): Promise<SessionOutcome<DrainResult>> {
  return withDaemon(cliPath, label, workflow, events, async ({ daemon }) => {
    const probe = new QueueProbe(daemon.dbPath);
    try {
      await waitUntilFinished(probe, events);
      const window = probe.workWindow();
      const start = Math.min(daemon.readyAtMs, window.firstClaimMs);
      const windowMs = window.lastFinishMs - start;
      const counts = probe.statusCounts();
      const executions = probe.executionCounts();
      const nodesCompleted = probe.nodeCompletedCount();
      const nodesPerExecution = workflow.nodes.length;
      const problems = drainProblems(events, nodesPerExecution, counts, executions, nodesCompleted);
      return {
        events,
        nodesPerExecution,
        windowMs,
        perSecond: (counts.completed / windowMs) * 1000,
        completed: counts.completed,
        failed: counts.failed,
        executionsCompleted: executions.completed ?? 0,
        nodesCompleted,
        problems,
      };
    } finally {
      probe.close();
    }
  }, workflowCount);
}

/** What a finished drain of `events` should show and did not: failures, missing events, executions or node runs. */
export function drainProblems(events: number, nodesPerExecution: number, counts: StatusCounts, executions: Record<string, number>, nodesCompleted: number): string[] {
  const problems: string[] = [];
  if (counts.failed > 0) problems.push(`${counts.failed} events failed`);
  if (counts.completed !== events) problems.push(`${counts.completed}/${events} events completed`);
  if ((executions.completed ?? 0) !== events) problems.push(`executions by status ${JSON.stringify(executions)}`);
  if (nodesCompleted !== events * nodesPerExecution) problems.push(`${nodesCompleted} node_completed logs, expected ${events * nodesPerExecution}`);
  return problems;
}
