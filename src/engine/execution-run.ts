// One attempt of one execution: walks the graph (semantics §2), sends ready nodes to the pool and
// records each node as it finishes. It decides nothing about the event; it returns how the run went.
import PQueue from 'p-queue';
import type { Json, NodeError, NodeIsolation, NodeResult, NodeTask, PortValues } from '../../workers/node-contract.js';
import type { Clock } from '../domain/clock.js';
import { isoAt } from '../domain/clock.js';
import type { NodeRunRecord } from '../domain/execution.js';
import type { ExecutionStore } from '../store/store.js';
import type { GraphNode, WorkflowGraph } from './graph.js';

/** Runs one node task on the pool; never rejects. */
export type RunNode = (task: NodeTask, options: { isolation: NodeIsolation; signal: AbortSignal }) => Promise<NodeResult>;

/** What one run needs. */
export interface ExecutionRunInput {
  executionId: string;
  graph: WorkflowGraph;
  trigger: Json;
  sequential: boolean;
  continueOnError: boolean;
  maxConcurrentNodes: number;
  defaultTimeoutMs: number;
  payloadMaxChars: number;
  attempt: number;
  /** Records of nodes finished by an earlier attempt: they are not run again. */
  finished: Map<string, NodeRunRecord>;
  /** Aborts the run (drain, workflow timeout, cancel). */
  signal: AbortSignal;
}

/** How the attempt ended. */
export interface ExecutionRunOutcome {
  status: 'completed' | 'failed' | 'aborted';
  nodeResults: Record<string, NodeRunRecord>;
  finalOutputs: Record<string, PortValues>;
  /** The failure that ended the run (stop_on_error), or the first failure (continue_on_error). */
  error: NodeError | null;
  failedNodeId: string | null;
}

const undelivered = 0;
const delivered = 1;
const dead = 2;

/** Walks one execution's graph to its end. */
export class ExecutionRun {
  private readonly records: Record<string, NodeRunRecord> = {};
  private readonly edgeState: Uint8Array;
  private readonly edgeValue: Array<Json | undefined>;
  private readonly unsettled = new Map<string, number>();
  private readonly queue: PQueue;
  private readonly abort = new AbortController();
  private settledNodes = 0;
  private firstError: { nodeId: string; error: NodeError } | null = null;
  private stopped = false;
  private finish!: () => void;

  constructor(
    private readonly input: ExecutionRunInput,
    private readonly runNode: RunNode,
    private readonly store: ExecutionStore,
    private readonly clock: Clock,
  ) {
    this.edgeState = new Uint8Array(input.graph.edges.length);
    this.edgeValue = new Array(input.graph.edges.length);
    this.queue = new PQueue({ concurrency: input.sequential ? 1 : input.maxConcurrentNodes });
  }

  /** Runs until every node has settled, a failure stops the run, or the signal aborts it. */
  async run(): Promise<ExecutionRunOutcome> {
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    const onAbort = () => this.stop();
    // A listener never fires for a signal that is already aborted: check first.
    if (this.input.signal.aborted) this.stop();
    this.input.signal.addEventListener('abort', onAbort, { once: true });
    const nodes = [...this.input.graph.nodes.values()];
    for (const node of nodes) this.unsettled.set(node.id, node.dependencyCount);
    if (nodes.length === 0) this.finish();
    // Sequential mode starts nodes in topological order; so does parallel mode when it must queue.
    for (const node of nodes.sort((a, b) => a.order - b.order)) if (node.dependencyCount === 0) this.settleInputs(node);
    await done;
    this.input.signal.removeEventListener('abort', onAbort);
    return this.outcome();
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue.clear();
    this.abort.abort();
    // Running nodes come back quickly once aborted; the run ends when the last of them has.
    void this.queue.onIdle().then(() => this.finish());
  }

  /** Called when every dependency edge of `node` has settled: run it, reuse it, or skip it. */
  private settleInputs(node: GraphNode): void {
    if (this.stopped) return;
    const previous = this.input.finished.get(node.id);
    if (previous) return this.complete(node, previous.outputs ?? {}, previous);
    const dependencies = node.incoming.filter((edge) => edge.dependency);
    if (dependencies.length > 0 && !dependencies.some((edge) => this.edgeState[edge.index] === delivered)) {
      this.records[node.id] = { status: 'skipped', attempts: 0 };
      return this.propagate(node, null);
    }
    this.records[node.id] = { status: 'pending', attempts: 0 };
    void this.queue.add(() => this.execute(node));
  }

  private async execute(node: GraphNode): Promise<void> {
    if (this.stopped) return;
    const attempt = this.input.attempt;
    const startedAtMs = this.clock.now();
    this.records[node.id] = { status: 'running', attempts: attempt, started_at: isoAt(startedAtMs) };
    this.store.recordNodeStarted(this.input.executionId, node.id, node.type, attempt);
    const task: NodeTask = {
      executionId: this.input.executionId,
      nodeId: node.id,
      nodeType: node.type,
      config: node.node.config ?? {},
      inputs: this.collectInputs(node),
      trigger: this.input.trigger,
      attempt,
      timeoutMs: nodeTimeoutMs(node, this.input.defaultTimeoutMs),
    };
    const result = await this.runNode(task, { isolation: node.definition.isolation, signal: this.abort.signal });
    if (this.stopped && !result.ok) return this.settleAborted(node);
    this.store.recordNodeOutcome(
      { executionId: this.input.executionId, nodeId: node.id, nodeType: node.type, attempt, startedAtMs, durationMs: result.durationMs, outputs: result.ok ? result.outputs : null, error: result.ok ? null : result.error },
      this.input.payloadMaxChars,
    );
    const record: NodeRunRecord = {
      status: result.ok ? 'completed' : 'failed',
      started_at: isoAt(startedAtMs),
      completed_at: isoAt(this.clock.now()),
      duration_ms: Math.round(result.durationMs),
      attempts: attempt,
      ...(result.ok ? { outputs: result.outputs } : { error: result.error }),
    };
    if (result.ok) this.complete(node, result.outputs, record);
    else this.fail(node, result.error, record);
  }

  private settleAborted(node: GraphNode): void {
    this.records[node.id] = { status: 'cancelled', attempts: this.input.attempt };
  }

  private complete(node: GraphNode, outputs: PortValues, record: NodeRunRecord): void {
    this.records[node.id] = record;
    this.propagate(node, outputs);
  }

  private fail(node: GraphNode, error: NodeError, record: NodeRunRecord): void {
    this.records[node.id] = record;
    this.firstError ??= { nodeId: node.id, error };
    if (!this.input.continueOnError) return this.stop();
    // continue_on_error: the failed node's dependents see dead inputs; other branches go on.
    this.propagate(node, null);
  }

  /** Delivers a finished node's outputs along its edges (or marks them dead) and settles its targets. */
  private propagate(node: GraphNode, outputs: PortValues | null): void {
    this.store.saveProgress(this.input.executionId, this.input.sequential ? 'sequential' : 'parallel', this.records);
    for (const edge of node.outgoing) {
      if (outputs === null) this.edgeState[edge.index] = dead;
      else {
        this.edgeState[edge.index] = delivered;
        this.edgeValue[edge.index] = portValue(outputs, edge.sourcePort);
      }
      if (!edge.dependency) continue;
      const left = this.unsettled.get(edge.targetId)! - 1;
      this.unsettled.set(edge.targetId, left);
      if (left === 0) this.settleInputs(this.input.graph.nodes.get(edge.targetId)!);
    }
    this.settledNodes += 1;
    if (this.settledNodes === this.input.graph.nodes.size) this.finish();
  }

  private collectInputs(node: GraphNode): PortValues {
    const inputs: PortValues = {};
    const counts = new Map<string, number>();
    for (const edge of node.incoming) counts.set(edge.targetPort, (counts.get(edge.targetPort) ?? 0) + 1);
    for (const edge of node.incoming) {
      if (this.edgeState[edge.index] !== delivered) continue;
      const value = this.edgeValue[edge.index] ?? null;
      // Several connections into one port collect into a list, in connection order.
      if (counts.get(edge.targetPort)! > 1) ((inputs[edge.targetPort] ??= []) as Json[]).push(value);
      else inputs[edge.targetPort] = value;
    }
    if (inputs.input === undefined && this.input.trigger !== null && this.input.trigger !== undefined) inputs.input = this.input.trigger;
    return inputs;
  }

  private outcome(): ExecutionRunOutcome {
    const finalOutputs: Record<string, PortValues> = {};
    for (const id of this.input.graph.sinks) {
      const record = this.records[id];
      if (record?.status === 'completed' && record.outputs) finalOutputs[id] = record.outputs;
    }
    const aborted = this.input.signal.aborted;
    const failed = this.firstError !== null && !this.input.continueOnError;
    return {
      status: aborted && !failed ? 'aborted' : failed ? 'failed' : 'completed',
      nodeResults: this.records,
      finalOutputs,
      error: this.firstError?.error ?? null,
      failedNodeId: this.firstError?.nodeId ?? null,
    };
  }
}

/** A node's own timeout (`timeout` seconds on the node) or the default. */
function nodeTimeoutMs(node: GraphNode, defaultTimeoutMs: number): number {
  const own = node.node.timeout;
  return typeof own === 'number' && own > 0 ? own * 1000 : defaultTimeoutMs;
}

/** The value a connection carries: the named port, or a lone output when the port is the generic `output`. */
function portValue(outputs: PortValues, port: string): Json {
  if (port in outputs) return outputs[port]!;
  const ports = Object.keys(outputs);
  return ports.length === 1 && port === 'output' ? outputs[ports[0]!]! : null;
}
