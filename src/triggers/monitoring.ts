// Monitoring as the API drives it: start and stop a workflow's triggers (state kept in its row so the
// triggers re-arm after a restart), report their status, re-arm after a change, take webhook deliveries.
import { isoAt } from '../domain/clock.js';
import { parseWebhook, triggerNodesOf, type TriggerNode } from '../domain/trigger-config.js';
import { normalizeWorkflowData } from '../domain/workflow.js';
import { AppError, conflict, notFound } from '../errors.js';
import type { MonitoringRecord, MonitoringStore } from '../store/monitoring-store.js';
import type { WorkflowStore } from '../store/store.js';
import type { TriggerRegistry, TriggerStatus } from './trigger-registry.js';
import { triggerProblems } from './trigger-validation.js';
import { receiveWebhook, type WebhookDelivery } from './webhook-receiver.js';

/** A workflow's monitoring as `GET …/monitoring/status` answers it. */
export interface MonitoringStatus {
  workflow_id: string;
  monitoring: boolean;
  status: string;
  is_active: boolean;
  started_at: string | null;
  stopped_at: string | null;
  triggers: TriggerStatus[];
}

/** What the HTTP API may ask of the triggers. */
export interface TriggerControl {
  /** Starts monitoring (idempotent); 404 missing, 409 no trigger node / inactive / webhook path taken, 400 bad config. */
  startMonitoring(workflowId: string): Promise<MonitoringStatus>;
  /** Stops monitoring (idempotent); 404 when the workflow is missing. */
  stopMonitoring(workflowId: string): Promise<MonitoringStatus>;
  monitoringStatus(workflowId: string): Promise<MonitoringStatus>;
  /** Re-arms (or disarms) a workflow after it was updated or deleted. */
  workflowChanged(workflowId: string): Promise<void>;
  /** Checks and enqueues one webhook delivery; resolves with the new event's id. */
  receiveWebhook(path: string, delivery: WebhookDelivery): Promise<{ eventId: number }>;
}

/** What monitoring needs. */
export interface MonitoringDeps {
  store: Pick<WorkflowStore, 'getWorkflow'> & Pick<MonitoringStore, 'startMonitoring' | 'stopMonitoring' | 'getMonitoring'>;
  registry: TriggerRegistry;
  /** Told after this daemon changed a workflow's triggers, so the other daemons of a fleet follow. */
  announce?: (workflowId: string) => void;
}

/** Builds the API's control over monitoring and webhooks. */
export function createTriggerControl(deps: MonitoringDeps): TriggerControl {
  const { store, registry } = deps;

  const triggerNodes = async (workflowId: string): Promise<TriggerNode[]> => {
    const workflow = await store.getWorkflow(workflowId);
    if (!workflow) throw notFound('workflow', workflowId);
    return triggerNodesOf(normalizeWorkflowData(workflow.workflow_data));
  };

  const statusOf = async (record: MonitoringRecord): Promise<MonitoringStatus> => {
    const armed = registry.statusOf(record.workflowId);
    const triggers = armed ?? (await Promise.all((await triggerNodes(record.workflowId)).map(async (node) => unarmedStatus(node, await registry.stateOf(record.workflowId, node.nodeId)))));
    return { workflow_id: record.workflowId, monitoring: record.monitoring, status: record.status, is_active: record.isActive, started_at: record.startedAt, stopped_at: record.stoppedAt, triggers };
  };

  const monitoringStatus = async (workflowId: string): Promise<MonitoringStatus> => {
    const record = await store.getMonitoring(workflowId);
    if (!record) throw notFound('workflow', workflowId);
    return statusOf(record);
  };

  return {
    async startMonitoring(workflowId) {
      const workflow = await store.getWorkflow(workflowId);
      if (!workflow) throw notFound('workflow', workflowId);
      const data = normalizeWorkflowData(workflow.workflow_data);
      const nodes = triggerNodesOf(data);
      if (nodes.length === 0) throw conflict('no_trigger_nodes', 'the workflow has no trigger node (schedule_trigger, webhook_trigger or file_polling_trigger) to monitor');
      if (!workflow.is_active) throw conflict('workflow_inactive', 'the workflow is inactive; set is_active to true before monitoring it');
      const problems = triggerProblems(data);
      if (problems.length > 0) throw new AppError('invalid_trigger_config', `the workflow has ${problems.length} trigger problem(s)`, { status: 400, details: problems });
      for (const path of webhookPaths(nodes)) {
        const owner = registry.webhookOwner(path);
        if (owner !== null && owner !== workflowId) throw conflict('webhook_path_taken', `webhook path '${path}' is already used by monitoring workflow ${owner}`);
      }
      const before = await store.getMonitoring(workflowId);
      const record = await store.startMonitoring(workflowId);
      if (!record) throw notFound('workflow', workflowId);
      // Starting twice keeps the triggers as they are (a folder watch re-armed would forget what it saw).
      if (!before?.monitoring || registry.statusOf(workflowId) === null) await registry.refresh(workflowId);
      deps.announce?.(workflowId);
      return statusOf(record);
    },

    async stopMonitoring(workflowId) {
      const record = await store.stopMonitoring(workflowId);
      if (!record) throw notFound('workflow', workflowId);
      await registry.refresh(workflowId);
      deps.announce?.(workflowId);
      return statusOf(record);
    },

    monitoringStatus,

    async workflowChanged(workflowId) {
      await registry.refresh(workflowId);
      deps.announce?.(workflowId);
    },

    receiveWebhook: (path, delivery) => receiveWebhook(registry, path, delivery),
  };
}

function webhookPaths(nodes: TriggerNode[]): string[] {
  return nodes.map((node) => (node.kind === 'webhook' ? parseWebhook(node.config) : null)).flatMap((spec) => (spec !== null && typeof spec !== 'string' ? [spec.path] : []));
}

function unarmedStatus(node: TriggerNode, state: { lastFiredAt: number | null; executionCount: number }): TriggerStatus {
  return {
    node_id: node.nodeId,
    kind: node.kind,
    armed: false,
    next_fire_at: null,
    last_fired_at: state.lastFiredAt === null ? null : isoAt(state.lastFiredAt),
    execution_count: state.executionCount,
  };
}
