// The state nodes (§7) run on the main thread: each is one writer operation that changes
// workflow_state and records the node's result together.
import type { Json, NodeResult, NodeTask } from '../../workers/node-contract.js';
import type { PayloadLimits } from '../domain/execution.js';
import type { StateOperation } from '../domain/state-operation.js';
import type { ExecutionStore } from '../store/store.js';
import type { LocalNodes } from './execution-run.js';
import { stateNodeTypes } from './local-node-definitions.js';

/** Local node handlers for one execution of `workflowId`. */
export function stateNodes(store: Pick<ExecutionStore, 'runStateNode'>, workflowId: string, limits: PayloadLimits): LocalNodes {
  return {
    handles: (nodeType) => stateNodeTypes.has(nodeType),
    run: (task, startedAtMs) => {
      const operation = toOperation(task, workflowId);
      if (typeof operation === 'string') return Promise.resolve(invalid(operation));
      return store.runStateNode(operation, { executionId: task.executionId, nodeId: task.nodeId, nodeType: task.nodeType, attempt: task.attempt, startedAtMs }, limits);
    },
  };
}

/** The operation a state node's task asks for, or the reason it is invalid. Ports win over config keys. */
function toOperation(task: NodeTask, workflowId: string): StateOperation | string {
  const pick = (name: string): Json | undefined => task.inputs[name] ?? task.config[name] ?? undefined;
  const key = pick('state_key');
  if (typeof key !== 'string' || key === '') return 'state_key is required';
  const namespaceValue = pick('namespace');
  const namespace = typeof namespaceValue === 'string' && namespaceValue !== '' ? namespaceValue : 'default';
  const base = { workflowId, namespace, key };
  switch (task.nodeType) {
    case 'state_get':
      return { kind: 'get', ...base, defaultValue: task.config.default_value ?? {} };
    case 'state_set': {
      const value = pick('state_value');
      if (value === undefined) return 'state_value is required';
      const ttl = Number(task.config.expires_in_seconds);
      return { kind: 'set', ...base, value, expiresInSeconds: Number.isFinite(ttl) && ttl > 0 ? ttl : null };
    }
    case 'state_update': {
      const updates = pick('updates');
      if (updates === undefined) return 'updates is required';
      const operation = task.config.operation === 'increment' ? 'increment' : 'merge';
      return { kind: 'update', ...base, updates, operation, createIfMissing: task.config.create_if_missing === true };
    }
    default:
      return { kind: 'delete', ...base };
  }
}

function invalid(message: string): NodeResult {
  return { ok: false, error: { code: 'invalid_config', message, retryable: false }, durationMs: 0 };
}
