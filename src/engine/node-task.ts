// The task one node runs with (semantics §3): its config rendered from the trigger and shared outputs,
// the values its delivered edges carry, and its timeout.
import type { Json, NodeTask, PortValues } from '../../workers/node-contract.js';
import type { EdgeStates } from './edge-states.js';
import type { ExecutionRunInput } from './execution-run-contract.js';
import type { GraphNode } from './graph.js';

/** Builds the task for `node`'s next attempt; node-attempts sets the attempt number. */
export function buildNodeTask(input: ExecutionRunInput, node: GraphNode, edges: EdgeStates, variables: ReadonlyMap<string, PortValues>): NodeTask {
  return {
    executionId: input.executionId,
    nodeId: node.id,
    nodeType: node.type,
    config: input.renderConfig ? input.renderConfig(node, variables) : (node.node.config ?? {}),
    inputs: collectInputs(node, edges, input.trigger),
    trigger: input.trigger,
    attempt: 1,
    timeoutMs: nodeTimeoutMs(node, input.defaultTimeoutMs),
  };
}

/** The node's input ports from its delivered edges; the trigger fills an empty `input`. */
function collectInputs(node: GraphNode, edges: EdgeStates, trigger: Json): PortValues {
  const inputs: PortValues = {};
  const counts = new Map<string, number>();
  for (const edge of node.incoming) counts.set(edge.targetPort, (counts.get(edge.targetPort) ?? 0) + 1);
  for (const edge of node.incoming) {
    if (!edges.isDelivered(edge)) continue;
    const value = edges.valueOf(edge);
    // Several connections into one port collect into a list, in connection order.
    if (counts.get(edge.targetPort)! > 1) ((inputs[edge.targetPort] ??= []) as Json[]).push(value);
    else inputs[edge.targetPort] = value;
  }
  if (inputs.input === undefined && trigger !== null && trigger !== undefined) inputs.input = trigger;
  return inputs;
}

/** A node's own timeout (`timeout` seconds on the node) or the default. */
function nodeTimeoutMs(node: GraphNode, defaultTimeoutMs: number): number {
  const own = node.node.timeout;
  return typeof own === 'number' && own > 0 ? own * 1000 : defaultTimeoutMs;
}
