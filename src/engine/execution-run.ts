// One attempt of one execution: walks the graph (semantics §2, §5, §6), sends ready nodes to the pool
// (or to a main-thread handler), retries failed nodes, and records each node as it finishes. It decides
// nothing about the event; it returns how the run went.
import PQueue from 'p-queue';
import type { Json, NodeError, NodeIsolation, NodeResult, NodeTask, PortValues } from '../../workers/node-contract.js';
import type { BackoffPolicy } from '../domain/backoff.js';
import type { Clock } from '../domain/clock.js';
import { isoAt } from '../domain/clock.js';
import type { NodeRunRecord, PayloadLimits } from '../domain/execution.js';
import type { ExecutionStore } from '../store/store.js';
import { loopExitPort, type GraphEdge, type GraphNode, type WorkflowGraph } from './graph.js';
import { LoopTracker } from './loop-tracker.js';
import { runNodeAttempts, type NodeAttemptsContext } from './node-attempts.js';
import type { RunObserver } from '../domain/run-event.js';
import { blockedBranches } from './routing.js';

/** Runs one node task on the pool; never rejects. */
export type RunNode = (task: NodeTask, options: { isolation: NodeIsolation; signal: AbortSignal }) => Promise<NodeResult>;

/** A main-thread node's answer that the run must wait for a person: it holds nothing while it waits. */
export interface PausedNodeResult {
  paused: true;
  durationMs: number;
}

/** What a main-thread node answers: a result, or that the run pauses (email_approval). */
export type LocalNodeResult = NodeResult | PausedNodeResult;

/** Node types run on the main thread because their effect is a write of ours (state) — see LocalNodes. */
export interface LocalNodes {
  handles(nodeType: string): boolean;
  /** Runs the node and records its outcome in the same transaction as its effect. */
  run(task: NodeTask, startedAtMs: number): Promise<LocalNodeResult>;
}

/** Per-node retry policy; null turns retries off (`execution_config.retry_enabled: false`). */
export interface NodeRetryPolicy {
  maxRetries: number;
  backoff: BackoffPolicy;
}

/** What one run needs. */
export interface ExecutionRunInput {
  executionId: string;
  workflowId: string;
  graph: WorkflowGraph;
  trigger: Json;
  sequential: boolean;
  continueOnError: boolean;
  maxConcurrentNodes: number;
  defaultTimeoutMs: number;
  limits: PayloadLimits;
  retry: NodeRetryPolicy | null;
  /** Node records of earlier attempts: completed nodes are not run again, failed ones count on from their attempts. */
  previous: Map<string, NodeRunRecord>;
  /** Aborts the run (drain, cancel, workflow timeout). */
  signal: AbortSignal;
  /** Renders a node's config (templates, §3) from the trigger and the shared outputs so far. */
  renderConfig?: (node: GraphNode, variables: ReadonlyMap<string, PortValues>) => Record<string, Json>;
  local?: LocalNodes;
  observer?: RunObserver;
}

/** How the attempt ended. */
export interface ExecutionRunOutcome {
  /** `paused`: a node waits for a person; the nodes already running finished, no others started. */
  status: 'completed' | 'failed' | 'aborted' | 'paused';
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
  /** Nodes started (or skipped) in the current pass; a node starts at most once per pass. */
  private readonly started = new Set<string>();
  private readonly settled = new Set<string>();
  private readonly variables = new Map<string, PortValues>();
  private readonly queue: PQueue;
  private readonly abort = new AbortController();
  private readonly loops: LoopTracker;
  private readonly attempts: NodeAttemptsContext;
  private firstError: { nodeId: string; error: NodeError } | null = null;
  private stopped = false;
  private paused = false;
  private finish!: () => void;

  constructor(
    private readonly input: ExecutionRunInput,
    runNode: RunNode,
    private readonly store: ExecutionStore,
    private readonly clock: Clock,
  ) {
    this.edgeState = new Uint8Array(input.graph.edges.length);
    this.edgeValue = new Array(input.graph.edges.length);
    this.queue = new PQueue({ concurrency: input.sequential ? 1 : input.maxConcurrentNodes });
    this.loops = new LoopTracker(input.graph, input.executionId, store);
    this.attempts = {
      workflowId: input.workflowId,
      retry: input.retry,
      limits: input.limits,
      local: input.local,
      runNode,
      store,
      clock,
      signal: this.abort.signal,
      onAttemptStarted: (nodeId, record) => (this.records[nodeId] = record),
      observer: input.observer,
    };
  }

  /** Runs until every node has settled, a failure stops the run, or the signal aborts it. */
  async run(): Promise<ExecutionRunOutcome> {
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    const onAbort = () => this.stop();
    // A listener never fires for a signal that is already aborted: check first.
    if (this.input.signal.aborted) this.stop();
    this.input.signal.addEventListener('abort', onAbort, { once: true });
    const nodes = [...this.input.graph.nodes.values()].sort((a, b) => a.order - b.order);
    for (const node of nodes) this.unsettled.set(node.id, node.dependencyCount);
    if (nodes.length === 0) this.finish();
    // Sequential mode starts nodes in topological order; so does parallel mode when it must queue.
    for (const node of nodes) if (node.dependencyCount === 0) this.settleInputs(node);
    await done;
    this.input.signal.removeEventListener('abort', onAbort);
    return this.outcome();
  }

  private stop(): void {
    this.halt();
    // Running nodes come back quickly once aborted; the run ends when the last of them has.
    this.abort.abort();
  }

  /** Starts no more nodes; the run ends once those running have finished (a pause lets them finish). */
  private halt(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.queue.clear();
    void this.queue.onIdle().then(() => this.finish());
  }

  /** Called when every dependency edge of `node` has settled (or, for `or`/first, one delivered). */
  private settleInputs(node: GraphNode): void {
    if (this.stopped || this.started.has(node.id)) return;
    this.started.add(node.id);
    const previous = this.loops.inAnyLoop(node.id) ? undefined : this.input.previous.get(node.id);
    if (previous?.status === 'completed') return this.complete(node, previous.outputs ?? {}, previous);
    const dependencies = node.incoming.filter((edge) => edge.dependency);
    if (dependencies.length > 0 && !dependencies.some((edge) => this.edgeState[edge.index] === delivered)) {
      this.records[node.id] = { status: 'skipped', attempts: 0 };
      return this.propagate(node, null);
    }
    if (this.loops.isLoop(node.id)) return this.loopStep(node);
    this.records[node.id] = { status: 'pending', attempts: 0 };
    // Queued nodes start in the graph's stable topological order, not in the order their inputs
    // settled (which follows connection order): sequential mode promises that order (§2).
    void this.queue.add(() => this.execute(node), { priority: -node.order });
  }

  private async execute(node: GraphNode): Promise<void> {
    if (this.stopped) return;
    const before = this.loops.inAnyLoop(node.id) ? 0 : (this.input.previous.get(node.id)?.attempts ?? 0);
    const outcome = await runNodeAttempts(this.attempts, node, this.taskFor(node), before);
    if (outcome.kind === 'completed') this.complete(node, outcome.outputs, outcome.record);
    else if (outcome.kind === 'failed') this.fail(node, outcome.error, outcome.record);
    else if (outcome.kind === 'paused') this.pause(node, outcome.record);
    else this.records[node.id] = { status: 'cancelled', attempts: outcome.attempt };
  }

  /**
   * A node waits for a person: the run ends as `paused` once the nodes already running have finished
   * (their results are kept); the resumed run re-runs only what did not finish, this node included.
   */
  private pause(node: GraphNode, record: NodeRunRecord): void {
    this.records[node.id] = record;
    this.paused = true;
    this.store.saveProgress(this.input.executionId, this.input.sequential ? 'sequential' : 'parallel', this.records);
    this.halt();
  }

  private taskFor(node: GraphNode): NodeTask {
    return {
      executionId: this.input.executionId,
      nodeId: node.id,
      nodeType: node.type,
      config: this.input.renderConfig ? this.input.renderConfig(node, this.variables) : (node.node.config ?? {}),
      inputs: this.collectInputs(node),
      trigger: this.input.trigger,
      attempt: 1,
      timeoutMs: nodeTimeoutMs(node, this.input.defaultTimeoutMs),
    };
  }

  /** A loop node's turn (§6): start the next pass, or end the loop. */
  private loopStep(node: GraphNode): void {
    const step = this.loops.nextStep(node);
    if (step.kind === 'end') return this.endLoop(node, step.outputs);
    this.records[node.id] = { status: 'completed', attempts: 1, completed_at: isoAt(this.clock.now()), outputs: step.outputs };
    this.propagate(node, step.outputs, (edge) => edge.sourcePort !== loopExitPort, false);
  }

  /**
   * Ends a loop: its body will not run again, so its nodes count as settled, keeping the records of
   * their last pass (or skipped when no pass ran) — without this the run never finished, as
   * checkPassEnd resets the body before the loop node learns that max_iterations is reached. Links
   * from the body to nodes after the loop settle now, with the last pass's values; then exit_loop fires.
   */
  private endLoop(node: GraphNode, outputs: PortValues): void {
    this.records[node.id] = { status: 'completed', attempts: 1, completed_at: isoAt(this.clock.now()), outputs };
    const loop = this.input.graph.loops.get(node.id)!;
    for (const id of loop.body) {
      this.records[id] ??= { status: 'skipped', attempts: 0 };
      this.settled.add(id);
    }
    const sources = [node, ...[...loop.body].map((id) => this.input.graph.nodes.get(id)!)];
    for (const edge of sources.flatMap((source) => source.outgoing)) {
      if (!edge.dependency || this.loopLeftBy(edge) !== node.id) continue;
      if (this.edgeState[edge.index] === undelivered) this.edgeState[edge.index] = dead;
      this.settleEdge(edge);
    }
    this.propagate(node, outputs, (edge) => edge.sourcePort === loopExitPort);
  }

  /**
   * The loop whose body a link leaves (from the body, or from the loop's pass outputs, to a node
   * outside the body): such a link delivers on every pass but settles once, when that loop ends.
   */
  private loopLeftBy(edge: GraphEdge): string | undefined {
    const loopId = this.loops.isLoop(edge.sourceId) && edge.sourcePort !== loopExitPort ? edge.sourceId : this.loops.loopOfNode(edge.sourceId);
    if (loopId === undefined || edge.targetId === loopId || this.input.graph.loops.get(loopId)!.body.has(edge.targetId)) return undefined;
    return loopId;
  }


  private complete(node: GraphNode, outputs: PortValues, record: NodeRunRecord): void {
    this.records[node.id] = record;
    if (node.node.share_output_to_variables) this.variables.set(node.id, outputs);
    this.propagate(node, outputs);
  }

  private fail(node: GraphNode, error: NodeError, record: NodeRunRecord): void {
    this.records[node.id] = record;
    this.firstError ??= { nodeId: node.id, error };
    if (!this.input.continueOnError) return this.stop();
    // continue_on_error: the failed node's dependents see dead inputs; other branches go on.
    this.propagate(node, null);
  }

  /**
   * Delivers a finished node's outputs along its edges — dead where a decision blocked the branch or
   * the node produced nothing — and settles the targets. `only` limits which edges fire (a loop's
   * pass fires its body edges, its end fires exit_loop); a loop node settles only when its loop ends.
   */
  private propagate(node: GraphNode, outputs: PortValues | null, only?: (edge: GraphEdge) => boolean, settle = true): void {
    this.store.saveProgress(this.input.executionId, this.input.sequential ? 'sequential' : 'parallel', this.records);
    const blocked = outputs ? blockedBranches(outputs) : null;
    for (const edge of node.outgoing) {
      if (only && !only(edge)) continue;
      if (outputs === null || blocked?.has(edge.branch)) this.edgeState[edge.index] = dead;
      else {
        this.edgeState[edge.index] = delivered;
        this.edgeValue[edge.index] = portValue(outputs, edge.sourcePort);
      }
      if (edge.backEdge) {
        this.onBackEdgeSettled(edge);
        continue;
      }
      if (!edge.dependency) continue;
      // Leaving the body of a loop under way: the value is kept, and the link settles when the loop ends (endLoop).
      const leftLoop = this.loopLeftBy(edge);
      if (leftLoop !== undefined && this.loops.isUnderWay(leftLoop)) continue;
      this.settleEdge(edge);
    }
    if (settle) this.markSettled(node.id);
  }

  /** Counts a settled dependency link against its target, which starts once all have settled. */
  private settleEdge(edge: GraphEdge): void {
    const left = this.unsettled.get(edge.targetId)! - 1;
    this.unsettled.set(edge.targetId, left);
    const target = this.input.graph.nodes.get(edge.targetId)!;
    const firstArrival = this.edgeState[edge.index] === delivered && isFirstStrategyOr(target);
    if (left === 0 || firstArrival) this.settleInputs(target);
  }

  private markSettled(nodeId: string): void {
    this.settled.add(nodeId);
    this.input.observer?.runEvent({ type: 'progress', executionId: this.input.executionId, settled: this.settled.size, total: this.input.graph.nodes.size });
    const loopId = this.loops.loopOfNode(nodeId);
    if (loopId) this.checkPassEnd(loopId);
    if (this.settled.size === this.input.graph.nodes.size) this.finish();
  }

  private onBackEdgeSettled(edge: GraphEdge): void {
    this.loops.noteBackEdge(edge, this.edgeState[edge.index] === delivered);
    this.checkPassEnd(edge.targetId);
  }

  /** Once the back edges and every body node of the current pass have settled, run the next step. */
  private checkPassEnd(loopId: string): void {
    const loop = this.input.graph.loops.get(loopId)!;
    if (![...loop.body].every((id) => this.settled.has(id)) || !this.loops.backEdgesSettled(loopId)) return;
    const again = this.loops.endPass(loopId, this.records);
    const loopNode = this.input.graph.nodes.get(loopId)!;
    if (again) {
      this.resetBody(loopId);
      return this.loopStep(loopNode);
    }
    // A dead back edge ends the loop: the body stays settled as this last pass left it.
    this.endLoop(loopNode, this.loops.finishLoop(loopNode));
  }

  /**
   * Makes the body runnable again: edges from the loop and from inside the body undelivered, body
   * nodes waiting for them. Edges from outside the loop keep what they delivered once.
   */
  private resetBody(loopId: string): void {
    const loop = this.input.graph.loops.get(loopId)!;
    const inside = (edge: GraphEdge) => edge.sourceId === loopId || loop.body.has(edge.sourceId);
    for (const id of loop.body) {
      const node = this.input.graph.nodes.get(id)!;
      this.started.delete(id);
      this.settled.delete(id);
      const rerun = node.incoming.filter((edge) => inside(edge));
      for (const edge of rerun) this.edgeState[edge.index] = undelivered;
      this.unsettled.set(id, rerun.filter((edge) => edge.dependency).length);
      if (this.loops.isLoop(id)) this.loops.reset(id);
    }
    for (const edge of loop.backEdges) this.edgeState[edge.index] = undelivered;
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
      status: aborted && !failed ? 'aborted' : failed ? 'failed' : this.paused ? 'paused' : 'completed',
      nodeResults: this.records,
      finalOutputs,
      error: this.firstError?.error ?? null,
      failedNodeId: this.firstError?.nodeId ?? null,
    };
  }
}

/** An `or` node with the `first` strategy runs as soon as one input is delivered (§5). */
function isFirstStrategyOr(node: GraphNode): boolean {
  return node.type === 'or' && node.node.config?.merge_strategy === 'first';
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
