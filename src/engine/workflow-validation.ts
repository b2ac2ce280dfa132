// Save-time validation (semantics §1): every problem is listed at once, so a client fixes its
// workflow in one round trip.
import type { ConfigType, NodeDefinition } from '../../workers/node-contract.js';
import { isRecord, type WorkflowData } from '../domain/workflow.js';
import { buildGraph, topologicalOrder, type GraphEdge } from './graph.js';
import { triggerProblems } from '../triggers/trigger-validation.js';

/** One thing wrong with a workflow, with where it is. */
export interface WorkflowProblem {
  path: string;
  message: string;
}

/** Node types that may close a cycle (the loop's back edge). */
const loopNodeTypes: ReadonlySet<string> = new Set(['while_loop']);

/** Lists every problem of a normalised workflow; an empty list means it can run. */
export function validateWorkflow(data: WorkflowData, definitionOf: (type: string) => NodeDefinition | undefined): WorkflowProblem[] {
  const problems: WorkflowProblem[] = [];
  if (data.nodes.length === 0) problems.push({ path: 'nodes', message: 'a workflow needs at least one node' });
  const seen = new Set<string>();
  data.nodes.forEach((node, i) => {
    const path = `nodes[${i}]`;
    if (!isRecord(node)) return problems.push({ path, message: 'a node must be an object' });
    if (typeof node.node_id !== 'string' || node.node_id === '') problems.push({ path: `${path}.node_id`, message: 'node_id is required' });
    else if (seen.has(node.node_id)) problems.push({ path: `${path}.node_id`, message: `duplicate node_id ${node.node_id}` });
    else seen.add(node.node_id);
    const definition = definitionOf(node.node_type);
    if (!definition) problems.push({ path: `${path}.node_type`, message: `unknown node type '${node.node_type}'` });
    else problems.push(...configProblems(node.config ?? {}, definition, path));
  });
  const byId = new Map(data.nodes.filter(isRecord).map((node) => [node.node_id, node]));
  data.connections.forEach((connection, i) => {
    const path = `connections[${i}]`;
    if (!isRecord(connection)) return problems.push({ path, message: 'a connection must be an object' });
    for (const end of ['source', 'target'] as const) {
      const nodeId = connection[`${end}_node_id`];
      const port = connection[`${end}_port`];
      const node = typeof nodeId === 'string' ? byId.get(nodeId) : undefined;
      if (!node) problems.push({ path: `${path}.${end}_node_id`, message: `${end} node '${String(nodeId)}' does not exist` });
      if (typeof port !== 'string' || port === '') problems.push({ path: `${path}.${end}_port`, message: `${end}_port is required` });
      else if (node && !portExists(node, port, end, definitionOf(node.node_type))) {
        problems.push({ path: `${path}.${end}_port`, message: `node '${node.node_id}' has no ${end === 'source' ? 'output' : 'input'} port '${port}'` });
      }
    }
  });
  // Trigger configs must be armable (a cron croner reads, an interval above 0, a known time zone).
  problems.push(...triggerProblems(data));
  if (problems.length === 0) problems.push(...cycleProblems(data, definitionOf));
  return problems;
}

function configProblems(config: unknown, definition: NodeDefinition, path: string): WorkflowProblem[] {
  if (!isRecord(config)) return [{ path: `${path}.config`, message: 'config must be an object' }];
  const problems: WorkflowProblem[] = [];
  for (const spec of definition.config) {
    const value = config[spec.name];
    // A `{source: …}` object or a template string is resolved at run time, whatever the declared type.
    if (value === undefined || value === null || isDeferred(value)) continue;
    if (!hasType(value, spec.type)) problems.push({ path: `${path}.config.${spec.name}`, message: `must be of type ${spec.type}` });
  }
  return problems;
}

function isDeferred(value: unknown): boolean {
  return (typeof value === 'string' && value.includes('{')) || (isRecord(value) && typeof value.source === 'string');
}

function hasType(value: unknown, type: ConfigType): boolean {
  switch (type) {
    case 'any':
      return true;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isRecord(value);
    case 'number':
      return typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)));
    default:
      return typeof value === type;
  }
}

function portExists(node: Record<string, unknown>, port: string, end: 'source' | 'target', definition: NodeDefinition | undefined): boolean {
  if (!definition) return true;
  const declared = end === 'source' ? node.output_ports : node.input_ports;
  if (Array.isArray(declared) && declared.some((entry) => (isRecord(entry) ? entry.name === port || entry.id === port : entry === port))) return true;
  const ports = end === 'source' ? definition.outputs : definition.inputs;
  // `output`/`input` name a node's default port (TAV's defaults when ports are left null).
  if (port === (end === 'source' ? 'output' : 'input')) return true;
  if (end === 'target' && (port === 'tools' || port === 'memory' || port === 'ui')) return true;
  return ports.some((spec) => spec.name === port);
}

function cycleProblems(data: WorkflowData, definitionOf: (type: string) => NodeDefinition | undefined): WorkflowProblem[] {
  const graph = buildGraph(data, definitionOf);
  const isLoopBackEdge = (edge: GraphEdge) => edge.targetPort === 'trigger' && loopNodeTypes.has(graph.nodes.get(edge.targetId)!.type);
  const { cyclic } = topologicalOrder(graph.nodes, isLoopBackEdge);
  return cyclic.length === 0 ? [] : [{ path: 'connections', message: `cycle not closed through a loop node, involving: ${cyclic.join(', ')}` }];
}
