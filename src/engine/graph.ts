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
  /** False for edges into data-only ports and for a loop's back edges (they re-trigger, not gate). */
  dependency: boolean;
  /** The decision branch this edge belongs to (semantics §5): `metadata.branch`, else from the port name. */
  branch: string;
  /** True for an edge that closes a loop on its `while_loop` node's `trigger` input. */
  backEdge: boolean;
}

/** A `while_loop` node, its body and the edges that close it. */
export interface GraphLoop {
  loopId: string;
  /** Nodes reachable from the loop's outputs other than exit_loop, up to the loop, and not after its exit. */
  body: Set<string>;
  backEdges: GraphEdge[];
}

/** Node types the runner treats as loop controllers. */
export const loopNodeTypes: ReadonlySet<string> = new Set(['while_loop']);

/** The output port of a loop node that fires once, when the loop ends. */
export const loopExitPort = 'exit_loop';

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
  /** Nodes with no outgoing dependency or back edge: their outputs are the run's final outputs. */
  sinks: string[];
  /** Loop nodes by id. */
  loops: Map<string, GraphLoop>;
  /** Loop id → of every node in some loop body, the innermost loop it belongs to. */
  loopOf: Map<string, string>;
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
    const edge: GraphEdge = {
      index,
      sourceId: connection.source_node_id,
      sourcePort: connection.source_port,
      targetId: connection.target_node_id,
      targetPort: connection.target_port,
      dependency: !dataOnlyPorts.has(connection.target_port),
      branch: edgeBranch(connection.source_port, connection.metadata),
      backEdge: false,
    };
    nodes.get(edge.sourceId)!.outgoing.push(edge);
    nodes.get(edge.targetId)!.incoming.push(edge);
    return edge;
  });
  const loops = findLoops(nodes);
  for (const node of nodes.values()) node.dependencyCount = node.incoming.filter((edge) => edge.dependency).length;
  topologicalOrder(nodes).ordered.forEach((id, order) => (nodes.get(id)!.order = order));
  // A loop body's last node feeds only the back edge: it hands on to the loop, so it is no sink.
  const sinks = [...nodes.values()].filter((node) => !node.outgoing.some((edge) => edge.dependency || edge.backEdge)).map((node) => node.id);
  const loopOf = new Map<string, string>();
  // Smaller bodies are inner loops: assign them last so a node maps to its innermost loop.
  for (const loop of [...loops.values()].sort((a, b) => b.body.size - a.body.size)) for (const id of loop.body) loopOf.set(id, loop.loopId);
  return { nodes, edges, sinks, loops, loopOf };
}

/** A connection's branch: `metadata.branch`, else true/false when the source port names one, else true. */
function edgeBranch(sourcePort: string, metadata: Record<string, unknown> | undefined): string {
  if (metadata && typeof metadata.branch === 'string' && metadata.branch !== '') return metadata.branch;
  const port = sourcePort.toLowerCase();
  if (port.includes('false')) return 'false';
  return 'true';
}

/**
 * Finds each loop's body and marks the edges that close it. A back edge stops being a dependency:
 * the loop node waits only for its way in, and the back edge re-triggers it for the next pass.
 */
function findLoops(nodes: Map<string, GraphNode>): Map<string, GraphLoop> {
  const loops = new Map<string, GraphLoop>();
  for (const loopNode of nodes.values()) {
    if (!loopNodeTypes.has(loopNode.type)) continue;
    const afterExit = reachable(nodes, loopNode.outgoing.filter((edge) => edge.sourcePort === loopExitPort), loopNode.id);
    const inBody = reachable(nodes, loopNode.outgoing.filter((edge) => edge.sourcePort !== loopExitPort), loopNode.id);
    const body = new Set([...inBody].filter((id) => !afterExit.has(id)));
    const backEdges = loopNode.incoming.filter((edge) => edge.targetPort === 'trigger' && body.has(edge.sourceId));
    for (const edge of backEdges) {
      edge.backEdge = true;
      edge.dependency = false;
    }
    loops.set(loopNode.id, { loopId: loopNode.id, body, backEdges });
  }
  return loops;
}

function reachable(nodes: Map<string, GraphNode>, start: GraphEdge[], stopAt: string): Set<string> {
  const seen = new Set<string>();
  const stack = start.map((edge) => edge.targetId);
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (id === stopAt || seen.has(id)) continue;
    seen.add(id);
    for (const edge of nodes.get(id)!.outgoing) stack.push(edge.targetId);
  }
  return seen;
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
