// The workflow format (semantics §1): TAV exports are accepted as they are, and normalised into one
// shape the engine plans from. Unknown keys are kept, never rejected.
import type { Json } from '../../workers/node-contract.js';

/** A node as stored in `workflow_data.nodes`. */
export interface WorkflowNode {
  node_id: string;
  node_type: string;
  name?: string;
  category?: string;
  config?: Record<string, Json>;
  input_ports?: Json;
  output_ports?: Json;
  share_output_to_variables?: boolean;
  variable_name?: string | null;
  timeout?: number;
  [extra: string]: unknown;
}

/** A connection as stored in `workflow_data.connections`. */
export interface WorkflowConnection {
  connection_id?: string;
  source_node_id: string;
  source_port: string;
  target_node_id: string;
  target_port: string;
  metadata?: Record<string, Json>;
  [extra: string]: unknown;
}

/** The whole of `workflow_data`. */
export interface WorkflowData {
  workflow_id?: string;
  name?: string;
  format_version?: string;
  nodes: WorkflowNode[];
  connections: WorkflowConnection[];
  canvas_objects?: Json[];
  global_config?: Record<string, Json>;
  variables?: Record<string, Json>;
  metadata?: Record<string, Json>;
  execution_config?: Record<string, Json>;
  [extra: string]: unknown;
}

/** Doc names of node types → the type ids TAV's code uses. */
export const nodeTypeAliases: Readonly<Record<string, string>> = {
  llm_chat: 'large_language_model',
  agent: 'ai_agent',
  loop_orchestrator: 'while_loop',
  ornode: 'or',
};

/** The canonical node type id for a type name that may be a doc alias. */
export function canonicalNodeType(type: string): string {
  return nodeTypeAliases[type] ?? type;
}

/** The current format version written into normalised workflows. */
export const workflowFormatVersion = '2.0.0';

/**
 * Brings a TAV export or a stored workflow into the canonical shape. Accepts the export form
 * `{id, name, description, nodes, connections, canvas_objects}` and the nested `{workflow_data}`
 * form. Structural problems are left for validation to report, all at once.
 */
export function normalizeWorkflowData(input: unknown): WorkflowData {
  const source = isRecord(input) && isRecord(input.workflow_data) ? input.workflow_data : input;
  const record = isRecord(source) ? source : {};
  const nodes = Array.isArray(record.nodes) ? record.nodes : [];
  const connections = Array.isArray(record.connections) ? record.connections : [];
  const { id, ...rest } = record;
  return {
    ...rest,
    workflow_id: typeof record.workflow_id === 'string' ? record.workflow_id : typeof id === 'string' ? id : undefined,
    format_version: typeof record.format_version === 'string' ? record.format_version : workflowFormatVersion,
    nodes: nodes.map((node) => (isRecord(node) ? normalizeNode(node) : (node as WorkflowNode))),
    connections: connections as WorkflowConnection[],
    canvas_objects: Array.isArray(record.canvas_objects) ? (record.canvas_objects as Json[]) : [],
    global_config: isRecord(record.global_config) ? (record.global_config as Record<string, Json>) : {},
    variables: isRecord(record.variables) ? (record.variables as Record<string, Json>) : {},
    metadata: isRecord(record.metadata) ? (record.metadata as Record<string, Json>) : {},
  };
}

function normalizeNode(node: Record<string, unknown>): WorkflowNode {
  const type = typeof node.node_type === 'string' ? node.node_type : typeof node.type === 'string' ? node.type : '';
  const nodeId = typeof node.node_id === 'string' ? node.node_id : typeof node.id === 'string' ? node.id : '';
  return { ...node, node_id: nodeId, node_type: canonicalNodeType(type), config: isRecord(node.config) ? (node.config as Record<string, Json>) : {} };
}

/** True for a plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
