// Enqueue→node-start latency at a steady rate. The sender is open-loop: event i is due at
// start + i/rate whatever the daemon does, so a slow answer cannot slow the load (no coordinated
// omission). Latency is read afterwards from the daemon's rows: event created_at → first
// node_started of its execution, both ISO timestamps with 1 ms resolution.
import http from 'node:http';
import { QueueProbe, waitUntilFinished } from './queue-probe.js';
import { withDaemon, type SessionOutcome } from './daemon-session.js';
import { percentile } from './stats.js';
import { oneNodeWorkflow } from './workflows.js';

/** Latency percentiles in ms. */
export interface Percentiles {
  p50: number;
  p99: number;
  max: number;
}

/** One latency run. */
export interface LatencyResult {
  sent: number;
  measured: number;
  achievedRatePerS: number;
  /** Worst lateness of a send against its schedule, ms (shows the generator kept up). */
  maxSendLagMs: number;
  /** Daemon rows: event created_at → node_started. */
  enqueueToStart: Percentiles;
  /** Client clock: request sent → node_started (adds HTTP parsing and the enqueue commit). */
  sendToStart: Percentiles;
  /** Client clock: request sent → response received. */
  httpResponse: Percentiles;
  failed: number;
  problems: string[];
}

interface Sent {
  index: number;
  sentAtMs: number;
  answeredAtMs: number;
  status: number;
  eventId: number | null;
}

/** Sends `ratePerS` events per second for `warmupS + durationS` seconds; the warm-up is not measured. */
export async function runLatency(cliPath: string, ratePerS: number, durationS: number, warmupS: number): Promise<SessionOutcome<LatencyResult>> {
  return withDaemon(cliPath, 'latency', oneNodeWorkflow(), 0, async ({ daemon, workflowId }) => {
    const warmupCount = Math.round(ratePerS * warmupS);
    const total = warmupCount + Math.round(ratePerS * durationS);
    const { sent, maxSendLagMs, elapsedMs } = await sendOpenLoop(daemon.baseUrl, daemon.key, workflowId, ratePerS, total);
    const probe = new QueueProbe(daemon.dbPath);
    try {
      await waitUntilFinished(probe, sent.filter((s) => s.eventId !== null).length);
      const rows = probe.enqueueToStart();
      const counts = probe.statusCounts();
      const measuredSends = sent.filter((s) => s.index >= warmupCount && s.eventId !== null && rows.has(s.eventId));
      const daemonSide = measuredSends.map((s) => rows.get(s.eventId!)!.startedMs - rows.get(s.eventId!)!.createdMs);
      const clientSide = measuredSends.map((s) => rows.get(s.eventId!)!.startedMs - s.sentAtMs);
      const httpSide = sent.filter((s) => s.index >= warmupCount).map((s) => s.answeredAtMs - s.sentAtMs);
      const problems: string[] = [];
      const rejected = sent.filter((s) => s.status < 200 || s.status > 299).length;
      if (rejected > 0) problems.push(`${rejected} requests without a 2xx answer`);
      if (counts.failed > 0) problems.push(`${counts.failed} events failed`);
      if (measuredSends.length !== total - warmupCount - rejected) problems.push(`${total - warmupCount - rejected - measuredSends.length} accepted events have no node_started row`);
      return {
        sent: total,
        measured: measuredSends.length,
        achievedRatePerS: (total / elapsedMs) * 1000,
        maxSendLagMs,
        enqueueToStart: summarize(daemonSide),
        sendToStart: summarize(clientSide),
        httpResponse: summarize(httpSide),
        failed: counts.failed,
        problems,
      };
    } finally {
      probe.close();
    }
  });
}

function summarize(values: number[]): Percentiles {
  if (values.length === 0) return { p50: NaN, p99: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1)! };
}

// A 1 ms timer sends every event whose scheduled time has come; Node timers fire late under load,
// so each tick catches up on everything due rather than sending one per tick.
async function sendOpenLoop(baseUrl: string, key: string, workflowId: string, ratePerS: number, total: number): Promise<{ sent: Sent[]; maxSendLagMs: number; elapsedMs: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL('/api/v1/events', baseUrl);
  const sent: Sent[] = [];
  const answers: Array<Promise<void>> = [];
  const intervalMs = 1000 / ratePerS;
  const start = performance.now();
  let next = 0;
  let maxSendLagMs = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      while (next < total && start + next * intervalMs <= now) {
        maxSendLagMs = Math.max(maxSendLagMs, now - (start + next * intervalMs));
        answers.push(postEvent(agent, url, key, workflowId, next).then((record) => void sent.push(record)));
        next += 1;
      }
      if (next >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  const elapsedMs = performance.now() - start;
  await Promise.all(answers);
  agent.destroy();
  return { sent, maxSendLagMs, elapsedMs };
}

function postEvent(agent: http.Agent, url: URL, key: string, workflowId: string, index: number): Promise<Sent> {
  const body = JSON.stringify({ workflow_id: workflowId, event_type: 'bench', event_data: { n: index } });
  return new Promise((resolve) => {
    const sentAtMs = Date.now();
    const request = http.request(
      url,
      { method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          let eventId: number | null = null;
          if (status >= 200 && status <= 299) eventId = Number((JSON.parse(text) as { id: number }).id);
          resolve({ index, sentAtMs, answeredAtMs: Date.now(), status, eventId });
        });
      },
    );
    request.on('error', () => resolve({ index, sentAtMs, answeredAtMs: Date.now(), status: 0, eventId: null }));
    request.end(body);
  });
}
