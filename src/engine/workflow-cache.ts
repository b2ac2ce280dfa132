// Planned graphs by workflow id, so a busy workflow is parsed and planned once, not once per event.
// The API invalidates an entry when it changes or deletes the workflow (the only writer of workflows).
import type { WorkflowStore } from '../store/store.js';
import type { Json } from '../../workers/node-contract.js';
import { normalizeWorkflowData } from '../domain/workflow.js';
import { buildGraph, type WorkflowGraph } from './graph.js';
import { structureHash } from './workflow-structure.js';
import type { NodeCatalog } from './node-catalog.js';

/** What the runner needs of a workflow. */
export interface PlannedWorkflow {
  id: string;
  graph: WorkflowGraph;
  sequential: boolean;
  /** From the workflow's execution_config; null means "use the settings". */
  continueOnError: boolean | null;
  /** False when the workflow's execution_config says `retry_enabled: false`. */
  retryEnabled: boolean;
  /** Fingerprint of nodes and connections (see workflow-structure.ts). */
  structureHash: string;
}

const maxEntries = 1000;

/** Caches planned workflows. */
export class WorkflowCache {
  private readonly entries = new Map<string, PlannedWorkflow>();

  constructor(
    private readonly store: Pick<WorkflowStore, 'getWorkflow'>,
    private readonly catalog: NodeCatalog,
  ) {}

  /** The planned workflow if it is cached (the hot path's answer, without a turn of the event loop). */
  cached(workflowId: string): PlannedWorkflow | undefined {
    return this.entries.get(workflowId);
  }

  /** The planned workflow, or null when it no longer exists. */
  async get(workflowId: string): Promise<PlannedWorkflow | null> {
    const cached = this.entries.get(workflowId);
    if (cached) return cached;
    const record = await this.store.getWorkflow(workflowId);
    if (!record) return null;
    const data = normalizeWorkflowData(record.workflow_data);
    const config = { ...(data.execution_config ?? {}), ...record.execution_config } as Record<string, Json>;
    const planned: PlannedWorkflow = {
      id: workflowId,
      graph: buildGraph(data, (type) => this.catalog.get(type)),
      sequential: config.execution_mode === 'sequential' || config.mode === 'sequential',
      continueOnError: config.error_handling === undefined ? null : config.error_handling === 'continue_on_error',
      retryEnabled: config.retry_enabled !== false,
      structureHash: structureHash(data),
    };
    // Oldest entry out first: Map iteration follows insertion order.
    if (this.entries.size >= maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(workflowId, planned);
    return planned;
  }

  /** Forgets every workflow (changes may have been missed: a fleet's listener reconnected). */
  clear(): void {
    this.entries.clear();
  }

  /** Forgets a workflow after it changed. */
  invalidate(workflowId: string): void {
    this.entries.delete(workflowId);
  }
}
