// The scenarios behind one interface: each run yields a printable line, its figures by key,
// the daemon's peak RSS and any problems, so run.ts can repeat, collect and summarise them alike.
import type { SessionOutcome } from './daemon-session.js';
import { runDrain } from './drain.js';
import { runHttpEnqueue } from './enqueue-http.js';
import { runLatency } from './latency.js';
import type { BenchOptions, ScenarioName } from './options.js';
import { pgDrain1, pgDrain3 } from './pg-scenarios.js';
import type { Target } from './report.js';
import { fanOutFanInWorkflow, oneNodeWorkflow } from './workflows.js';

/** What one run of a scenario produced. */
export interface RunRecord {
  line: string;
  figures: Record<string, number>;
  peakRssMb: number;
  problems: string[];
  daemonLines: string[];
  exitCode: number | null;
  foreignCores: number;
  daemonCores: number;
}

/** A figure a scenario reports, with its row in the summary. */
export interface FigureSpec {
  key: string;
  figure: string;
  decimals: number;
  target: Target | null;
}

/** A benchmark scenario. */
export interface Scenario {
  name: ScenarioName;
  title: (options: BenchOptions) => string;
  figures: FigureSpec[];
  /** One run against the daemon whose CLI is `cliPath`. */
  runOnce: (options: BenchOptions, cliPath: string) => Promise<RunRecord>;
}

const ms = (value: number) => `${value.toFixed(0)} ms`;

function record<T extends { problems: string[] }>(outcome: SessionOutcome<T>, line: string, figures: Record<string, number>): RunRecord {
  return { line, figures, peakRssMb: outcome.peakRssMb, problems: outcome.result.problems, daemonLines: outcome.daemonLines, exitCode: outcome.exitCode, foreignCores: outcome.foreignCores, daemonCores: outcome.daemonCores };
}

// A workflow runs at most 50 executions at once (max_concurrent_runs_per_workflow's ceiling), so the
// drains deal their events over this many copies of the workflow: the figure is the engine's, not
// one workflow's cap. bench-settings.ts lifts the global limit to 200 = 4 × 50.
const drainWorkflows = 4;

const drain1: Scenario = {
  name: 'drain1',
  title: (o) => `drain: ${o.drainEvents.toLocaleString('en-US')} pre-enqueued events over ${drainWorkflows} copies of a 1-node workflow (text_input)`,
  figures: [{ key: 'perSecond', figure: 'drain, 1-node workflow (events/s)', decimals: 0, target: { op: '>=', value: 10_000 } }],
  runOnce: async (o, cli) => {
    const outcome = await runDrain(cli, 'drain1', oneNodeWorkflow(), o.drainEvents, drainWorkflows);
    const r = outcome.result;
    return record(outcome, `${r.completed} completed, ${r.failed} failed in ${ms(r.windowMs)} → ${r.perSecond.toFixed(0)} events/s`, { perSecond: r.perSecond });
  },
};

const drain5: Scenario = {
  name: 'drain5',
  title: (o) => `drain: ${o.drainEvents.toLocaleString('en-US')} pre-enqueued events over ${drainWorkflows} copies of a 5-node fan-out/fan-in (text_input → 3× text_display → text_display)`,
  figures: [{ key: 'perSecond', figure: 'drain, 5-node fan-out/fan-in (executions/s)', decimals: 0, target: { op: '>=', value: 3_000 } }],
  runOnce: async (o, cli) => {
    const outcome = await runDrain(cli, 'drain5', fanOutFanInWorkflow(), o.drainEvents, drainWorkflows);
    const r = outcome.result;
    const line = `${r.executionsCompleted} executions (${r.nodesCompleted} nodes) completed, ${r.failed} failed in ${ms(r.windowMs)} → ${r.perSecond.toFixed(0)} executions/s (${((r.nodesCompleted / r.windowMs) * 1000).toFixed(0)} nodes/s)`;
    return record(outcome, line, { perSecond: r.perSecond });
  },
};

const httpEnqueue: Scenario = {
  name: 'http',
  title: (o) => `HTTP enqueue: POST /api/v1/events over 16 workflows, ${o.httpConnections} keep-alive connections, ${o.httpDurationS} s, daemon running the events meanwhile`,
  figures: [{ key: 'perSecond', figure: 'HTTP enqueue, 50 connections (req/s)', decimals: 0, target: { op: '>=', value: 8_000 } }],
  runOnce: async (o, cli) => {
    const outcome = await runHttpEnqueue(cli, o.httpDurationS, o.httpConnections);
    const r = outcome.result;
    const line =
      `${r.ok2xx} × 2xx, ${r.non2xx} non-2xx, ${r.errors} errors in ${r.durationS.toFixed(1)} s → ${r.perSecond.toFixed(0)} req/s; ` +
      `latency p50 ${r.latencyP50Ms} ms p99 ${r.latencyP99Ms} ms; status codes ${JSON.stringify(r.statusCodes)}; ` +
      `backlog at load end ${r.atLoadEnd.pending + r.atLoadEnd.processing} (of ${r.atLoadEnd.total}), finished ${ms(r.backlogDrainMs)} later, ${r.failed} failed`;
    return record(outcome, line, { perSecond: r.perSecond });
  },
};

const latency: Scenario = {
  name: 'latency',
  title: (o) => `enqueue→node-start latency: open-loop ${o.latencyRatePerS} events/s for ${o.latencyDurationS} s after a ${o.latencyWarmupS} s warm-up (not measured); timestamps have 1 ms resolution`,
  figures: [
    { key: 'p50', figure: 'enqueue→start p50 (ms, 1 ms resolution)', decimals: 0, target: null },
    { key: 'p99', figure: 'enqueue→start p99 (ms, 1 ms resolution)', decimals: 0, target: { op: '<=', value: 5 } },
    { key: 'max', figure: 'enqueue→start max (ms, 1 ms resolution)', decimals: 0, target: null },
  ],
  runOnce: async (o, cli) => {
    const outcome = await runLatency(cli, o.latencyRatePerS, o.latencyDurationS, o.latencyWarmupS);
    const r = outcome.result;
    const p = (x: { p50: number; p99: number; max: number }) => `p50 ${x.p50} / p99 ${x.p99} / max ${x.max} ms`;
    const line =
      `${r.measured} measured of ${r.sent} sent at ${r.achievedRatePerS.toFixed(0)}/s (max send lag ${r.maxSendLagMs.toFixed(1)} ms), ${r.failed} failed; ` +
      `event created_at→node_started ${p(r.enqueueToStart)}; client send→node_started ${p(r.sendToStart)}; HTTP response ${p(r.httpResponse)}`;
    return record(outcome, line, { p50: r.enqueueToStart.p50, p99: r.enqueueToStart.p99, max: r.enqueueToStart.max });
  },
};

const httpIngest: Scenario = {
  name: 'ingest',
  title: (o) => `HTTP enqueue, ingestion only: the same load with events delayed by an hour, so the daemon only accepts and commits them`,
  figures: [{ key: 'perSecond', figure: 'HTTP enqueue, ingestion only (req/s)', decimals: 0, target: { op: '>=', value: 8_000 } }],
  runOnce: async (o, cli) => {
    const outcome = await runHttpEnqueue(cli, o.httpDurationS, o.httpConnections, true);
    const r = outcome.result;
    const line =
      `${r.ok2xx} × 2xx, ${r.non2xx} non-2xx, ${r.errors} errors in ${r.durationS.toFixed(1)} s → ${r.perSecond.toFixed(0)} req/s; ` +
      `latency p50 ${r.latencyP50Ms} ms p99 ${r.latencyP99Ms} ms; ${r.atLoadEnd.total} event rows committed`;
    return record(outcome, line, { perSecond: r.perSecond });
  },
};

/** Every scenario by name. */
export const scenarios: Record<ScenarioName, Scenario> = { drain1, drain5, http: httpEnqueue, ingest: httpIngest, latency, 'pg-drain1': pgDrain1, 'pg-drain3': pgDrain3 };
