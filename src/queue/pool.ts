// The worker-thread pool (the only Piscina import). Node bodies run here; whatever happens to a
// task — a throw, a crashed thread, a timeout, a cancel — comes back as a NodeResult value.
import { cpus } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { NodeIsolation, NodeResult, NodeTask } from '../../workers/node-contract.js';
import type { Logger } from '../log.js';

/** How the pool is sized and what its threads may use. */
export interface NodePoolOptions {
  threads: number;
  enableTestNodes: boolean;
  /** The data folder file nodes work in. */
  dataDir?: string;
  /** Plug-in folder the threads load node kinds from, when it exists. */
  pluginDir?: string;
  memoryLimitMb: number;
  log: Logger;
  /** Most node tasks sent in one message. */
  maxBatchSize?: number;
  /** Node bodies awaiting I/O share a thread; this many run on one thread at once. */
  tasksPerThread?: number;
}

/** How one node task should be sent. */
export interface RunOptions {
  /** Batched, shared or isolated: see NodeIsolation. */
  isolation: NodeIsolation;
  /** Cancels the task (execution cancelled or timed out as a whole). */
  signal?: AbortSignal;
}

interface Waiting {
  task: NodeTask;
  resolve(result: NodeResult): void;
}

const runnerUrl = new URL('../../workers/node-runner.js', import.meta.url).href;

/** The Piscina pool behind a NodeResult-returning `run`. */
export class NodePool {
  private readonly piscina: Piscina;
  private readonly log: Logger;
  private readonly maxBatchSize: number;
  private batch: Waiting[] = [];
  private flushScheduled = false;
  private closed = false;

  constructor(options: NodePoolOptions) {
    this.log = options.log;
    this.maxBatchSize = options.maxBatchSize ?? 64;
    this.piscina = new Piscina({
      filename: runnerUrl,
      minThreads: options.threads,
      maxThreads: options.threads,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      concurrentTasksPerWorker: options.tasksPerThread ?? 8,
      // A small young generation: node tasks are short-lived garbage, and a large one only inflates RSS.
      resourceLimits: { maxOldGenerationSizeMb: options.memoryLimitMb, maxYoungGenerationSizeMb: 8 },
      workerData: { enableTestNodes: options.enableTestNodes, dataDir: options.dataDir, pluginDir: options.pluginDir },
    });
    // A thread that dies with no task on it is reported here; without a listener it would end the process.
    this.piscina.on('error', (error: unknown) => this.log.error('worker thread failed', { error: String(error) }));
  }

  /** Runs one node task; never rejects. */
  run(task: NodeTask, options: RunOptions): Promise<NodeResult> {
    if (this.closed) return Promise.resolve(failure('pool_closed', 'the worker pool is closed', true, 0));
    if (options.signal?.aborted) return Promise.resolve(failure('cancelled', 'the node was cancelled', false, 0));
    if (options.isolation === 'isolated') return this.runAlone(task, options.signal);
    // A retry of a batched node travels on its own, so one slow task cannot hold a batch back twice.
    if (options.isolation === 'shared' || task.attempt > 1) return this.runShared(task, options.signal);
    return new Promise((resolve) => {
      this.batch.push({ task, resolve });
      if (this.batch.length >= this.maxBatchSize) this.flushBatch();
      else this.scheduleFlush();
    });
  }

  /** Thread count, tasks waiting for a thread, and how busy the threads are (0–1). */
  get stats(): { threads: number; queued: number; utilization: number; completed: number } {
    return { threads: this.piscina.threads.length, queued: this.piscina.queueSize, utilization: this.piscina.utilization, completed: this.piscina.completed };
  }

  /** True while tasks are accepted and threads exist. */
  get isUp(): boolean {
    return !this.closed && this.piscina.threads.length > 0;
  }

  /**
   * Stops the threads. Called once every run has settled: whatever a thread still does then belongs
   * to a node whose result nobody waits for (a cancelled shared task), so it is not waited for.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.flushBatch();
    await this.piscina.destroy();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushBatch();
    });
  }

  private flushBatch(): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    const tasks = batch.map((waiting) => waiting.task);
    // A batch holds only fast nodes; its limit is the tightest of theirs.
    const timeoutMs = Math.min(...tasks.map((task) => task.timeoutMs));
    const started = performance.now();
    let settled = false;
    // No Piscina signal: Piscina gives a task with a signal an idle thread of its own, so batches would
    // wait behind every shared task. The worker enforces each node's timeout; this timer is the backstop.
    const timer = setTimeout(() => {
      settled = true;
      this.log.error('a node batch ignored its timeout', { size: batch.length, timeoutMs });
      for (const waiting of batch) waiting.resolve(failure('timeout', `the node did not finish within ${waiting.task.timeoutMs} ms`, true, performance.now() - started));
    }, timeoutMs + hardTimeoutGraceMs);
    this.piscina.run({ tasks }).then(
      (results: NodeResult[]) => {
        clearTimeout(timer);
        if (settled) return;
        batch.forEach((waiting, i) => waiting.resolve(results[i] ?? failure('invalid_outputs', 'the worker returned no result', false, 0)));
      },
      (error: unknown) => {
        clearTimeout(timer);
        if (settled) return;
        // The batch died with its thread: give each node its own chance rather than blame them all.
        this.log.warn('node batch failed, running its tasks one by one', { error: String(error), size: batch.length, ms: performance.now() - started });
        for (const waiting of batch) this.runAlone(waiting.task).then(waiting.resolve);
      },
    );
  }

  /**
   * A task that honours its abort signal shares a thread (no Piscina signal: Piscina gives a task
   * with a signal a thread of its own). The worker enforces the timeout; if no answer comes even
   * after the grace, or the run is cancelled, the node is settled here and a late answer is dropped.
   */
  private runShared(task: NodeTask, cancel?: AbortSignal): Promise<NodeResult> {
    const started = performance.now();
    return new Promise((resolve) => {
      let settled = false;
      const settle = (result: NodeResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // Closed after the cancel message went out; the worker closes its end when the task ends.
        setImmediate(() => channel.port1.close());
        cancel?.removeEventListener('abort', onCancel);
        resolve(result);
      };
      // The worker cannot be terminated for one task it shares: the cancel travels on a port of its own.
      const channel = new MessageChannel();
      const onCancel = () => {
        channel.port1.postMessage('cancel');
        settle(failure('cancelled', 'the node was cancelled', false, performance.now() - started));
      };
      const timer = setTimeout(() => {
        this.log.error('a shared node ignored its timeout', { nodeType: task.nodeType, timeoutMs: task.timeoutMs });
        settle(failure('timeout', `the node did not finish within ${task.timeoutMs} ms`, true, performance.now() - started));
      }, task.timeoutMs + hardTimeoutGraceMs);
      cancel?.addEventListener('abort', onCancel, { once: true });
      this.piscina.run({ tasks: [task], cancelPort: channel.port2 }, { transferList: [channel.port2] }).then(
        (results: NodeResult[]) => settle(results[0] ?? failure('invalid_outputs', 'the worker returned no result', false, performance.now() - started)),
        // The thread died under a neighbour: give the task one run of its own.
        () => void this.runAlone(task, cancel, true).then(settle),
      );
    });
  }

  private async runAlone(task: NodeTask, cancel?: AbortSignal, isRetry = false): Promise<NodeResult> {
    // The worker enforces the timeout cooperatively; this hard limit, a little later, ends a thread
    // that ignores it (a node blocking its thread), and the pool replaces the thread.
    const timeout = abortAfter(task.timeoutMs + hardTimeoutGraceMs);
    const onCancel = () => timeout.abort();
    if (cancel?.aborted) timeout.abort();
    cancel?.addEventListener('abort', onCancel, { once: true });
    const started = performance.now();
    try {
      const [result] = (await this.piscina.run({ tasks: [task] }, { signal: timeout.signal })) as NodeResult[];
      return result ?? failure('invalid_outputs', 'the worker returned no result', false, performance.now() - started);
    } catch (error) {
      const durationMs = performance.now() - started;
      if (cancel?.aborted) return failure('cancelled', 'the node was cancelled', false, durationMs);
      if (timeout.timedOut) return failure('timeout', `the node did not finish within ${task.timeoutMs} ms`, true, durationMs);
      // The thread died under this task, or under a neighbour sharing the thread: one more try tells which.
      if (!isRetry && !this.closed) return this.runAlone(task, cancel, true);
      return failure('worker_crashed', `the worker thread running the node died: ${String(error)}`, true, durationMs);
    } finally {
      timeout.clear();
      cancel?.removeEventListener('abort', onCancel);
    }
  }
}

// Grace past a node's own timeout before its thread is terminated.
const hardTimeoutGraceMs = 1_000;

/** An abort controller fired by a timer that is cleared when the task ends (nothing outlives the task). */
function abortAfter(ms: number): { signal: AbortSignal; timedOut: boolean; abort(): void; clear(): void } {
  const controller = new AbortController();
  const handle = {
    signal: controller.signal,
    timedOut: false,
    abort: () => controller.abort(),
    clear: () => clearTimeout(timer),
  };
  const timer = setTimeout(() => {
    handle.timedOut = true;
    controller.abort();
  }, ms);
  return handle;
}

function failure(code: string, message: string, retryable: boolean, durationMs: number): NodeResult {
  return { ok: false, error: { code, message, retryable }, durationMs };
}

/** The default pool size: one thread per core. */
export function defaultThreadCount(): number {
  return Math.max(1, cpus().length);
}
