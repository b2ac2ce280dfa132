// Prometheus metrics (prom-client): what an operator graphs and alerts on — queue depth and age,
// throughput, durations, retries, the writer's group commits, the pool, the event loop.
import client from 'prom-client';
import type { RunEvent, RunObserver } from '../domain/run-event.js';
import type { QueueDepth } from '../store/store.js';

/** Where the gauges read their values at scrape time. */
export interface MetricsSources {
  queueDepth(): Promise<QueueDepth>;
  nowMs(): number;
  pool(): { utilization: number; queued: number; threads: number };
  inFlight(): number;
}

/** The daemon's metrics registry and the hooks the hot paths call. */
export class Metrics implements RunObserver {
  readonly registry = new client.Registry();
  private readonly enqueued: client.Counter;
  private readonly refused: client.Counter<'reason' | 'source'>;
  private readonly finished: client.Counter<'outcome'>;
  private readonly executionSeconds: client.Histogram<'status'>;
  private readonly nodeSeconds: client.Histogram<'node_type' | 'ok'>;
  private readonly retries: client.Counter<'node_type'>;
  private readonly batchSize: client.Histogram;
  private readonly commitSeconds: client.Histogram;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    client.collectDefaultMetrics({ register: this.registry, prefix: 'tav_process_', eventLoopMonitoringPrecision: 10 });
    this.enqueued = new client.Counter({ name: 'tav_events_enqueued_total', help: 'Events accepted into the queue.', registers });
    this.refused = new client.Counter({
      name: 'tav_events_refused_total',
      help: 'Events refused at enqueue, by reason (queue_full) and source (api, manual, schedule, webhook, file_polling).',
      labelNames: ['reason', 'source'],
      registers,
    });
    this.finished = new client.Counter({ name: 'tav_events_finished_total', help: 'Event attempts that ended, by outcome (completed, failed, retry, released, paused).', labelNames: ['outcome'], registers });
    this.executionSeconds = new client.Histogram({
      name: 'tav_execution_duration_seconds',
      help: 'Duration of execution attempts, by final status.',
      labelNames: ['status'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120, 600],
      registers,
    });
    this.nodeSeconds = new client.Histogram({
      name: 'tav_node_duration_seconds',
      help: 'Duration of node attempts, by node type and success.',
      labelNames: ['node_type', 'ok'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.retries = new client.Counter({ name: 'tav_node_retries_total', help: 'Node attempts retried after a retryable failure.', labelNames: ['node_type'], registers });
    this.batchSize = new client.Histogram({ name: 'tav_writer_batch_size', help: 'Writes per group commit.', buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 2000], registers });
    this.commitSeconds = new client.Histogram({ name: 'tav_writer_commit_seconds', help: 'Time of one group commit.', buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5], registers });
    registerGauges(sources, registers);
  }

  /** An event was accepted. */
  eventEnqueued(): void {
    this.enqueued.inc();
  }

  /** An event was refused at enqueue (for a trigger, a dropped event). */
  eventRefused(reason: string, source: string): void {
    this.refused.inc({ reason, source });
  }

  /** An attempt ended: its event outcome and its execution status and duration. */
  attemptFinished(outcome: string, executionStatus: string, durationMs: number): void {
    this.finished.inc({ outcome });
    this.executionSeconds.observe({ status: executionStatus }, durationMs / 1000);
  }

  /** Counts node attempts and retries as they happen. */
  runEvent(event: RunEvent): void {
    if (event.type === 'node_finished') this.nodeSecondsFor(event.nodeType, event.ok).observe(event.durationMs / 1000);
    else if (event.type === 'node_retry') this.retries.inc({ node_type: event.nodeType });
  }

  // Label children are looked up once per node type: hashing labels on every node showed in profiles.
  private readonly nodeSecondsChildren = new Map<string, client.Histogram.Internal<'node_type' | 'ok'>>();

  private nodeSecondsFor(nodeType: string, ok: boolean): client.Histogram.Internal<'node_type' | 'ok'> {
    const key = ok ? `1${nodeType}` : `0${nodeType}`;
    let child = this.nodeSecondsChildren.get(key);
    if (!child) this.nodeSecondsChildren.set(key, (child = this.nodeSeconds.labels({ node_type: nodeType, ok: ok ? 'true' : 'false' })));
    return child;
  }

  /** The writer committed a group. */
  committed(batchSize: number, commitMs: number): void {
    this.batchSize.observe(batchSize);
    this.commitSeconds.observe(commitMs / 1000);
  }

  /** The text exposition format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

function registerGauges(sources: MetricsSources, registers: client.Registry[]): void {
  // Depth is read once per scrape and shared by the three gauges that need it.
  let depth: Promise<QueueDepth> | null = null;
  const readDepth = () => (depth ??= sources.queueDepth());
  new client.Gauge({
    name: 'tav_queue_depth',
    help: 'Events in the queue by status.',
    labelNames: ['status'],
    registers,
    async collect() {
      depth = null;
      for (const [status, count] of Object.entries((await readDepth()).byStatus)) this.set({ status }, count);
    },
  });
  new client.Gauge({
    name: 'tav_queue_pending_by_priority',
    help: 'Pending events by priority.',
    labelNames: ['priority'],
    registers,
    async collect() {
      for (const [priority, count] of Object.entries((await readDepth()).pendingByPriority)) this.set({ priority }, count);
    },
  });
  new client.Gauge({
    name: 'tav_queue_oldest_pending_age_seconds',
    help: 'Age of the oldest pending event (0 when none).',
    registers,
    async collect() {
      const oldest = (await readDepth()).oldestPendingCreatedAt;
      this.set(oldest === null ? 0 : Math.max(0, (sources.nowMs() - Date.parse(oldest)) / 1000));
    },
  });
  new client.Gauge({ name: 'tav_executions_in_flight', help: 'Executions running in this daemon.', registers, collect() { this.set(sources.inFlight()); } });
  new client.Gauge({ name: 'tav_pool_utilization', help: 'Share of worker-thread time spent running tasks (0-1).', registers, collect() { this.set(sources.pool().utilization); } });
  new client.Gauge({ name: 'tav_pool_queued_tasks', help: 'Node tasks waiting for a worker thread.', registers, collect() { this.set(sources.pool().queued); } });
  new client.Gauge({ name: 'tav_pool_threads', help: 'Worker threads.', registers, collect() { this.set(sources.pool().threads); } });
}
