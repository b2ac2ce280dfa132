// A node's config as its task carries it: templates rendered (§3) against the trigger and the
// outputs of nodes that share them as variables.
import type { Json, PortValues } from '../../workers/node-contract.js';
import type { GraphNode, WorkflowGraph } from './graph.js';
import { renderConfig, variableKey } from './templates.js';

/** Renders `node`'s config; `shared` holds the outputs of finished sharing nodes by node id. */
export function renderNodeConfig(node: GraphNode, shared: ReadonlyMap<string, PortValues>, graph: WorkflowGraph, trigger: Json, nowMs: number): Record<string, Json> {
  const config = node.node.config ?? {};
  const variables: Record<string, Json> = {};
  for (const [nodeId, outputs] of shared) variables[variableKey(graph.nodes.get(nodeId)!.node)] = outputs;
  return renderConfig(config, { trigger, variables }, nowMs);
}
