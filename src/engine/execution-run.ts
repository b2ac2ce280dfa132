// One attempt of one execution: walks the graph (semantics §2, §5, §6), sends ready nodes to the pool
// (or to a main-thread handler), retries failed nodes, and records each node as it finishes. It decides
// nothing about the event; it returns how the run went. Around the walk: edge-states.ts (what each edge
// delivered), node-task.ts (a node's task), run-records.ts (node records and progress), run-outcome.ts
// (the result), loop-tracker.ts (loop passes) and node-attempts.ts (one node's attempts and retries).
import PQueue from 'p-queue';
import type { NodeError, PortValues } from '../../workers/node-contract.js';
import type { Clock } from '../domain/clock.js';
import type { NodeRunRecord } from '../domain/execution.js';
import type { ExecutionStore } from '../store/store.js';
import { EdgeStates } from './edge-states.js';
import type { ExecutionRunInput, ExecutionRunOutcome, RunNode } from './execution-run-contract.js';
import { loopExitPort, type GraphEdge, type GraphNode } from './graph.js';
import { LoopTracker } from './loop-tracker.js';
import { runNodeAttempts, type NodeAttemptsContext } from './node-attempts.js';
import { usesAiProvider } from './node-config.js';
import { buildNodeTask } from './node-task.js';
import { blockedBranches } from './routing.js';
import { buildRunOutcome } from './run-outcome.js';
import { RunRecords } from './run-records.js';

// Importers keep importing the run's shapes from here.
export type {
  ExecutionRunInput,
  ExecutionRunOutcome,
  LocalNodeResult,
  LocalNodes,
  NodeRetryPolicy,
  PausedNodeResult,
  RunNode,
} from './execution-run-contract.js';

/** Walks one execution's graph to its end. */
export class ExecutionRun {
  private readonly records: RunRecords;
  private readonly edges: EdgeStates;
  /** Dependency edges each node still waits for in the current pass. */
  private readonly unsettled = new Map<string, number>();
  /** Nodes started (or skipped) in the current pass; a node starts at most once per pass. */
  private readonly started = new Set<string>();
  private readonly settled = new Set<string>();
  private readonly queue: PQueue;
  /** ai_concurrent_limit: an AI node waits here first, so waiting for the provider holds no node slot. */
  private readonly aiGate: PQueue | null;
  private readonly abort = new AbortController();
  private readonly loops: LoopTracker;
  private readonly attempts: NodeAttemptsContext;
  private stopped = false;
  private finish!: () => void;

  constructor(
    private readonly input: ExecutionRunInput,
    runNode: RunNode,
    store: ExecutionStore,
    clock: Clock,
  ) {
    this.records = new RunRecords(input.executionId, input.sequential, store, clock);
    this.edges = new EdgeStates(input.graph.edges.length);
    this.queue = new PQueue({ concurrency: input.sequential ? 1 : input.maxConcurrentNodes });
    this.aiGate = input.aiConcurrentLimit === undefined ? null : new PQueue({ concurrency: input.aiConcurrentLimit });
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
      onAttemptStarted: (nodeId, record) => this.records.set(nodeId, record),
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
    return buildRunOutcome(this.records, this.input.graph.sinks, this.input.signal.aborted, this.input.continueOnError);
  }

  /** Stops the run: nothing new starts, and running nodes are aborted. */
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
    this.aiGate?.clear();
    void this.queue.onIdle().then(() => this.finish());
  }

  /** Called when every dependency edge of `node` has settled (or, for `or`/first, one delivered). */
  private settleInputs(node: GraphNode): void {
    if (this.stopped || this.started.has(node.id)) return;
    this.started.add(node.id);
    const previous = this.loops.inAnyLoop(node.id) ? undefined : this.input.previous.get(node.id);
    if (previous?.status === 'completed') return this.complete(node, previous.outputs ?? {}, previous);
    const dependencies = node.incoming.filter((edge) => edge.dependency);
    if (dependencies.length > 0 && !dependencies.some((edge) => this.edges.isDelivered(edge))) {
      this.records.markSkipped(node.id);
      return this.propagate(node, null);
    }
    if (this.loops.isLoop(node.id)) return this.loopStep(node);
    this.records.markPending(node.id);
    // Queued nodes start in the graph's stable topological order, not in the order their inputs
    // settled (which follows connection order): sequential mode promises that order (§2).
    const enqueue = () => this.queue.add(() => this.execute(node), { priority: -node.order });
    if (this.aiGate && usesAiProvider(node)) void this.aiGate.add(enqueue, { priority: -node.order });
    else void enqueue();
  }

  /** Runs a queued node's attempts and records how they ended. */
  private async execute(node: GraphNode): Promise<void> {
    if (this.stopped) return;
    const before = this.loops.inAnyLoop(node.id) ? 0 : (this.input.previous.get(node.id)?.attempts ?? 0);
    const task = buildNodeTask(this.input, node, this.edges, this.records.variables);
    const outcome = await runNodeAttempts(this.attempts, node, task, before);
    if (outcome.kind === 'completed') {
      // Where the store asks to be waited for (a fleet), the completion is durable before any
      // successor starts: a daemon that dies then repeats only what it was running.
      this.records.markCompleted(node, outcome.outputs, outcome.record);
      const saved = this.records.save();
      // SQLite returns nothing: no await, so the hot path keeps its pace there.
      if (saved) await saved;
      this.propagate(node, outcome.outputs);
    } else if (outcome.kind === 'failed') this.fail(node, outcome.error, outcome.record);
    else if (outcome.kind === 'paused') this.pause(node, outcome.record);
    else this.records.markCancelled(node.id, outcome.attempt);
  }

  /**
   * A node waits for a person: the run ends as `paused` once the nodes already running have finished
   * (their results are kept); the resumed run re-runs only what did not finish, this node included.
   */
  private pause(node: GraphNode, record: NodeRunRecord): void {
    this.records.markPaused(node.id, record);
    this.halt();
  }

  /** Records a finished node (or one an earlier attempt finished) and delivers its outputs. */
  private complete(node: GraphNode, outputs: PortValues, record: NodeRunRecord): void {
    this.records.markCompleted(node, outputs, record);
    this.propagate(node, outputs);
  }

  /** Records a failed node: stop_on_error stops the run; continue_on_error kills its outgoing edges. */
  private fail(node: GraphNode, error: NodeError, record: NodeRunRecord): void {
    this.records.markFailed(node, error, record);
    if (!this.input.continueOnError) return this.stop();
    // continue_on_error: the failed node's dependents see dead inputs; other branches go on.
    this.propagate(node, null);
  }

  /** A loop node's turn (§6): start the next pass, or end the loop. */
  private loopStep(node: GraphNode): void {
    const step = this.loops.nextStep(node);
    if (step.kind === 'end') return this.endLoop(node, step.outputs);
    this.records.markLoopStep(node.id, step.outputs);
    this.propagate(node, step.outputs, (edge) => edge.sourcePort !== loopExitPort, false);
  }

  /**
   * Ends a loop: its body will not run again, so its nodes count as settled, keeping the records of
   * their last pass (or skipped when no pass ran) — without this the run never finished, as
   * checkPassEnd resets the body before the loop node learns that max_iterations is reached. Links
   * from the body to nodes after the loop settle now, with the last pass's values; then exit_loop fires.
   */
  private endLoop(node: GraphNode, outputs: PortValues): void {
    this.records.markLoopStep(node.id, outputs);
    const loop = this.input.graph.loops.get(node.id)!;
    for (const id of loop.body) {
      this.records.markSkippedIfUnrecorded(id);
      this.settled.add(id);
    }
    const sources = [node, ...[...loop.body].map((id) => this.input.graph.nodes.get(id)!)];
    for (const edge of sources.flatMap((source) => source.outgoing)) {
      if (!edge.dependency || this.loopLeftBy(edge) !== node.id) continue;
      if (this.edges.isUndelivered(edge)) this.edges.kill(edge);
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

  /**
   * Delivers a finished node's outputs along its edges — dead where a decision blocked the branch or
   * the node produced nothing — and settles the targets. `only` limits which edges fire (a loop's
   * pass fires its body edges, its end fires exit_loop); a loop node settles only when its loop ends.
   */
  private propagate(node: GraphNode, outputs: PortValues | null, only?: (edge: GraphEdge) => boolean, settle = true): void {
    this.records.save();
    const blocked = outputs ? blockedBranches(outputs) : null;
    for (const edge of node.outgoing) {
      if (only && !only(edge)) continue;
      if (outputs === null || blocked?.has(edge.branch)) this.edges.kill(edge);
      else this.edges.deliver(edge, outputs);
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
    const firstArrival = this.edges.isDelivered(edge) && isFirstStrategyOr(target);
    if (left === 0 || firstArrival) this.settleInputs(target);
  }

  /** Counts a node as settled; the run finishes when every node has (loop bodies settle per pass). */
  private markSettled(nodeId: string): void {
    this.settled.add(nodeId);
    this.input.observer?.runEvent({ type: 'progress', executionId: this.input.executionId, settled: this.settled.size, total: this.input.graph.nodes.size });
    const loopId = this.loops.loopOfNode(nodeId);
    if (loopId) this.checkPassEnd(loopId);
    if (this.settled.size === this.input.graph.nodes.size) this.finish();
  }

  /** A back edge settled: the loop counts it, and the pass may now be over. */
  private onBackEdgeSettled(edge: GraphEdge): void {
    this.loops.noteBackEdge(edge, this.edges.isDelivered(edge));
    this.checkPassEnd(edge.targetId);
  }

  /** Once the back edges and every body node of the current pass have settled, run the next step. */
  private checkPassEnd(loopId: string): void {
    const loop = this.input.graph.loops.get(loopId)!;
    if (![...loop.body].every((id) => this.settled.has(id)) || !this.loops.backEdgesSettled(loopId)) return;
    const again = this.loops.endPass(loopId, this.records.byNode);
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
      for (const edge of rerun) this.edges.reset(edge);
      this.unsettled.set(id, rerun.filter((edge) => edge.dependency).length);
      if (this.loops.isLoop(id)) this.loops.reset(id);
    }
    for (const edge of loop.backEdges) this.edges.reset(edge);
  }
}

/** An `or` node with the `first` strategy runs as soon as one input is delivered (§5). */
function isFirstStrategyOr(node: GraphNode): boolean {
  return node.type === 'or' && node.node.config?.merge_strategy === 'first';
}
