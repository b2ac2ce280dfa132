// A workflow's graph as the runner plans from it: nodes with their definitions, and edges split into
// dependencies and data-only links (semantics §2: `tools`, `memory` and `ui` ports wait for nothing).
import type { NodeDefinition } from '../../workers/node-contract.js';
import type { WorkflowData, WorkflowNode } from '../domain/workflow.js';

/** Target ports that carry data but create no dependency. */
export const dataOnlyPorts: ReadonlySet<string> = new Set(['tools', 'memory', 'ui']);

/** One connection. */
export interface GraphEdge {
  index: number;
  sourceId: string;
  sourcePort: string;
  targetId: string;
  targetPort: string;
  /** False for edges into data-only ports. */
  dependency: boolean;
}

/** One node with its edges. */
export interface GraphNode {
  id: string;
  type: string;
  node: WorkflowNode;
  definition: NodeDefinition;
  incoming: GraphEdge[];
  outgoing: GraphEdge[];
  /** Number of dependency edges into the node. */
  dependencyCount: number;
  /** Position in a stable topological order (sequential mode runs in this order). */
  order: number;
}

/** The planned graph of one workflow. */
export interface WorkflowGraph {
  nodes: Map<string, GraphNode>;
  edges: GraphEdge[];
  /** Nodes with no outgoing dependency edge: their outputs are the run's final outputs. */
  sinks: string[];
}

/** Builds the graph of a validated workflow. */
export function buildGraph(data: WorkflowData, definitionOf: (type: string) => NodeDefinition | undefined): WorkflowGraph {
  const nodes = new Map<string, GraphNode>();
  for (const node of data.nodes) {
    const definition = definitionOf(node.node_type);
    if (!definition) throw new Error(`unknown node type ${node.node_type}`);
    nodes.set(node.node_id, { id: node.node_id, type: node.node_type, node, definition, incoming: [], outgoing: [], dependencyCount: 0, order: 0 });
  }
  const edges = data.connections.map((connection, index): GraphEdge => {
    const edge = {
      index,
      sourceId: connection.source_node_id,
      sourcePort: connection.source_port,
      targetId: connection.target_node_id,
      targetPort: connection.target_port,
      dependency: !dataOnlyPorts.has(connection.target_port),
    };
    nodes.get(edge.sourceId)!.outgoing.push(edge);
    const target = nodes.get(edge.targetId)!;
    target.incoming.push(edge);
    if (edge.dependency) target.dependencyCount += 1;
    return edge;
  });
  topologicalOrder(nodes).ordered.forEach((id, order) => (nodes.get(id)!.order = order));
  const sinks = [...nodes.values()].filter((node) => !node.outgoing.some((edge) => edge.dependency)).map((node) => node.id);
  return { nodes, edges, sinks };
}

/**
 * Kahn's algorithm over dependency edges, ties broken by the order nodes appear in the workflow, so
 * the order is stable. Nodes on or behind a cycle come last, in file order, and are listed as `cyclic`.
 * `ignoreEdge` leaves edges out of the count (validation drops loop back edges with it).
 */
export function topologicalOrder(nodes: Map<string, GraphNode>, ignoreEdge: (edge: GraphEdge) => boolean = () => false): { ordered: string[]; cyclic: string[] } {
  const remaining = new Map<string, number>();
  for (const node of nodes.values()) remaining.set(node.id, node.incoming.filter((edge) => edge.dependency && !ignoreEdge(edge)).length);
  const ids = [...nodes.keys()];
  const ordered: string[] = [];
  const placed = new Set<string>();
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const id of ids) {
      if (placed.has(id) || remaining.get(id)! > 0) continue;
      placed.add(id);
      ordered.push(id);
      progressed = true;
      for (const edge of nodes.get(id)!.outgoing) {
        if (edge.dependency && !ignoreEdge(edge)) remaining.set(edge.targetId, remaining.get(edge.targetId)! - 1);
      }
    }
  }
  const cyclic = ids.filter((id) => !placed.has(id));
  return { ordered: [...ordered, ...cyclic], cyclic };
}
