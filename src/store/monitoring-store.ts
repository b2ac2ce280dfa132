// The storage port of monitoring: which workflows have their triggers armed, and what each trigger
// has done so far (last fire, fire count), kept so both survive a restart. Part of `Store` (store.ts).

/** A workflow's monitoring state as its row holds it. */
export interface MonitoringRecord {
  workflowId: string;
  isActive: boolean;
  /** The workflow's `status` column: 'running' while monitoring, 'stopped' after a stop. */
  status: string;
  startedAt: string | null;
  stoppedAt: string | null;
  /** True iff started_at is set and stopped_at is not. */
  monitoring: boolean;
}

/** What one trigger node has done, persisted per (workflow, node). */
export interface TriggerState {
  /** Epoch ms of its last fire, or null when it never fired. */
  lastFiredAt: number | null;
  /** How many times it has fired. */
  executionCount: number;
}

/** Monitoring flags and trigger state. */
export interface MonitoringStore {
  /** Sets started_at = now, stopped_at = NULL, status = 'running' unless already monitoring; null when the workflow is missing. */
  startMonitoring(workflowId: string): Promise<MonitoringRecord | null>;
  /** Sets stopped_at = now, status = 'stopped' if monitoring; null when the workflow is missing. */
  stopMonitoring(workflowId: string): Promise<MonitoringRecord | null>;
  getMonitoring(workflowId: string): Promise<MonitoringRecord | null>;
  /** Ids of every workflow that is monitoring (active or not). */
  listMonitoringWorkflowIds(): Promise<string[]>;
  /** Each trigger node's state by node id; nodes that never fired are absent. */
  triggerStates(workflowId: string): Promise<Map<string, TriggerState>>;
  saveTriggerState(workflowId: string, nodeId: string, state: TriggerState): Promise<void>;
}
