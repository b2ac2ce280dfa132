// What one execution attempt takes and gives back, and the ports it runs nodes through. Kept apart from
// the graph walk (execution-run.ts) so node handlers and the runner depend on the shapes, not the walk.
import type { Json, NodeError, NodeIsolation, NodeResult, NodeTask, PortValues } from '../../workers/node-contract.js';
import type { BackoffPolicy } from '../domain/backoff.js';
import type { NodeRunRecord, PayloadLimits } from '../domain/execution.js';
import type { RunObserver } from '../domain/run-event.js';
import type { GraphNode, WorkflowGraph } from './graph.js';

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
  /** Of those, AI nodes (see `usesAiProvider`) at once; absent means no limit of their own. */
  aiConcurrentLimit?: number;
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
