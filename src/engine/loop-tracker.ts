// Loop bookkeeping (semantics §6): each while_loop keeps its own counter, every pass writes one
// execution_iterations row, and a pass ends once its back edges and body have settled.
import type { Json, PortValues } from '../../workers/node-contract.js';
import type { NodeRunRecord } from '../domain/execution.js';
import type { ExecutionStore } from '../store/store.js';
import type { GraphEdge, GraphNode, WorkflowGraph } from './graph.js';

/** The pass number of a loop that has ended. */
const ended = Number.MAX_SAFE_INTEGER;

interface LoopState {
  /** The pass under way (1-based), 0 before the first. */
  pass: number;
  backSettled: number;
  backDelivered: boolean;
}

/** The next thing a loop node does. */
export type LoopStep = { kind: 'pass'; outputs: PortValues } | { kind: 'end'; outputs: PortValues };

/** Tracks every loop of one execution. */
export class LoopTracker {
  private readonly states = new Map<string, LoopState>();

  constructor(
    private readonly graph: WorkflowGraph,
    private readonly executionId: string,
    private readonly store: ExecutionStore,
  ) {
    for (const loopId of graph.loops.keys()) this.reset(loopId);
  }

  /** True for a while_loop node. */
  isLoop(nodeId: string): boolean {
    return this.graph.loops.has(nodeId);
  }

  /** True for loop nodes and the nodes of any loop body (they are never reused from an earlier attempt). */
  inAnyLoop(nodeId: string): boolean {
    return this.graph.loops.has(nodeId) || this.graph.loopOf.has(nodeId);
  }

  /** The innermost loop whose body holds the node. */
  loopOfNode(nodeId: string): string | undefined {
    return this.graph.loopOf.get(nodeId);
  }

  /** Forgets a loop's progress (a nested loop starts afresh on each pass of its outer loop). */
  reset(loopId: string): void {
    this.states.set(loopId, { pass: 0, backSettled: 0, backDelivered: false });
  }

  /** True from a loop's first pass until it ends (false before it starts, e.g. when it is skipped). */
  isUnderWay(loopId: string): boolean {
    const pass = this.states.get(loopId)!.pass;
    return pass > 0 && pass !== ended;
  }

  /** Starts the next pass, or ends the loop once max_iterations passes have run. */
  nextStep(node: GraphNode): LoopStep {
    const state = this.states.get(node.id)!;
    const max = maxIterations(node);
    const n = state.pass + 1;
    if (n > max) return { kind: 'end', outputs: this.finishLoop(node) };
    state.pass = n;
    state.backSettled = 0;
    state.backDelivered = false;
    const label = iterationLabel(node, n);
    this.store.recordIterationStarted(this.executionId, node.id, n, label);
    return { kind: 'pass', outputs: { iteration_number: n, iteration_label: label, max_iterations: max, continue_loop: n < max } };
  }

  /** Notes that a back edge settled in this pass. */
  noteBackEdge(edge: GraphEdge, wasDelivered: boolean): void {
    const state = this.states.get(edge.targetId)!;
    state.backSettled += 1;
    if (wasDelivered) state.backDelivered = true;
  }

  /** True once every back edge of the loop has settled in the current pass. */
  backEdgesSettled(loopId: string): boolean {
    const state = this.states.get(loopId)!;
    return state.pass > 0 && state.backSettled >= this.graph.loops.get(loopId)!.backEdges.length;
  }

  /** Closes the current pass's iteration row; true when the loop goes round again. */
  endPass(loopId: string, records: Record<string, NodeRunRecord>): boolean {
    const state = this.states.get(loopId)!;
    const body = this.graph.loops.get(loopId)!.body;
    const outputs: Record<string, Json> = {};
    let error: string | null = null;
    for (const id of body) {
      const record = records[id];
      if (record?.outputs) outputs[id] = record.outputs;
      if (record?.status === 'failed') error ??= `${id}: ${record.error?.message ?? 'failed'}`;
    }
    this.store.recordIterationFinished(this.executionId, loopId, state.pass, error ? 'failed' : 'completed', outputs, error);
    // A pass whose back edge ended dead (a decision chose the other way) is the last one.
    return state.backDelivered;
  }

  /** The exit_loop output of a loop that has ended. */
  finishLoop(node: GraphNode): PortValues {
    const state = this.states.get(node.id)!;
    const passes = state.pass;
    state.pass = ended;
    return { exit_loop: { iterations: passes } };
  }
}

function maxIterations(node: GraphNode): number {
  const value = Number(node.node.config?.max_iterations ?? 10);
  return Number.isFinite(value) && value >= 0 ? Math.floor(value) : 10;
}

function iterationLabel(node: GraphNode, n: number): string {
  const template = node.node.config?.iteration_label_template;
  return (typeof template === 'string' ? template : 'iteration_{n}').replaceAll('{n}', String(n));
}
