// A run's account of its nodes (what `executions.node_results` shows): each node's record, the outputs
// shared with templates, the first failure, and whether a node paused the run. It is saved as progress
// after every step, so a snapshot, a resumed attempt or a restart sees exactly what already finished.
import type { NodeError, PortValues } from '../../workers/node-contract.js';
import type { Clock } from '../domain/clock.js';
import { isoAt } from '../domain/clock.js';
import type { NodeRunRecord } from '../domain/execution.js';
import type { ExecutionStore } from '../store/store.js';
import type { GraphNode } from './graph.js';

/** A node failure and the node it happened in. */
export interface RunFailure {
  nodeId: string;
  error: NodeError;
}

/** The records of one run's nodes, and the run-wide facts they imply. */
export class RunRecords {
  /** Node id → record: one object, saved as progress, read by loops, and returned as the outcome's nodeResults. */
  readonly byNode: Record<string, NodeRunRecord> = {};
  /** Outputs of nodes with `share_output_to_variables`, which later configs render from (§3). */
  readonly variables = new Map<string, PortValues>();
  private failure: RunFailure | null = null;
  private pausedByNode = false;
  private unsaved = true;
  private readonly mode: 'sequential' | 'parallel';

  constructor(
    private readonly executionId: string,
    sequential: boolean,
    private readonly store: ExecutionStore,
    private readonly clock: Clock,
  ) {
    this.mode = sequential ? 'sequential' : 'parallel';
  }

  /** The first node failure of the run, or null. */
  get firstFailure(): RunFailure | null {
    return this.failure;
  }

  /** True once a node has paused the run for a person's answer. */
  get paused(): boolean {
    return this.pausedByNode;
  }

  /**
   * Writes every record as the execution's progress, unless nothing changed since the last save (a
   * finished node is saved before its successors start and again as its outputs are delivered); a
   * promise where the store makes it durable first (a fleet).
   */
  save(): void | Promise<void> {
    if (!this.unsaved) return;
    this.unsaved = false;
    return this.store.saveProgress(this.executionId, this.mode, this.byNode);
  }

  private put(nodeId: string, record: NodeRunRecord): void {
    this.byNode[nodeId] = record;
    this.unsaved = true;
  }

  /** Records a node's current attempt as it starts (node-attempts reports it, so snapshots show it running). */
  set(nodeId: string, record: NodeRunRecord): void {
    this.put(nodeId, record);
  }

  /** Records a node queued to run. */
  markPending(nodeId: string): void {
    this.put(nodeId, { status: 'pending', attempts: 0 });
  }

  /** Records a node that will not run because none of its dependencies delivered. */
  markSkipped(nodeId: string): void {
    this.put(nodeId, { status: 'skipped', attempts: 0 });
  }

  /** Records a node of an ended loop's body as skipped unless a pass already recorded it. */
  markSkippedIfUnrecorded(nodeId: string): void {
    if (!(nodeId in this.byNode)) this.put(nodeId, { status: 'skipped', attempts: 0 });
  }

  /** Records a node whose attempt the run's stop cut short. */
  markCancelled(nodeId: string, attempts: number): void {
    this.put(nodeId, { status: 'cancelled', attempts });
  }

  /** Records a finished node and keeps its outputs for templates when it shares them. */
  markCompleted(node: GraphNode, outputs: PortValues, record: NodeRunRecord): void {
    this.put(node.id, record);
    if (node.node.share_output_to_variables) this.variables.set(node.id, outputs);
  }

  /** Records a loop node's step (a pass starting or the loop ending) as completed now. */
  markLoopStep(nodeId: string, outputs: PortValues): void {
    this.put(nodeId, { status: 'completed', attempts: 1, completed_at: isoAt(this.clock.now()), outputs });
  }

  /** Records a failed node; the first failure is the one the outcome reports. */
  markFailed(node: GraphNode, error: NodeError, record: NodeRunRecord): void {
    this.put(node.id, record);
    this.failure ??= { nodeId: node.id, error };
  }

  /** Records a node waiting for a person and saves at once: the run may end before any other step. */
  markPaused(nodeId: string, record: NodeRunRecord): void {
    this.put(nodeId, record);
    this.pausedByNode = true;
    this.save();
  }
}
