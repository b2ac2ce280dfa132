// A node's config as its task carries it: templates rendered (§3) against the trigger and the
// outputs of nodes that share them as variables.
import type { Json, PortValues } from '../../workers/node-contract.js';
import type { GraphNode, WorkflowGraph } from './graph.js';
import type { AiProvider } from './engine-settings.js';
import { renderConfig, variableKey } from './templates.js';

/** Node types that may call the configured AI provider (they get it as `__ai`). */
const aiNodeTypes: ReadonlySet<string> = new Set(['large_language_model', 'decision']);

/** True when running `node` calls the AI provider: an LLM node, or a decision in intelligent mode. */
export function usesAiProvider(node: GraphNode): boolean {
  return node.type === 'large_language_model' || (node.type === 'decision' && node.node.config?.evaluation_mode === 'intelligent');
}

/**
 * Renders `node`'s config; `shared` holds the outputs of finished sharing nodes by node id. AI nodes
 * also get the default provider as `__ai` (their own config keys win inside the worker).
 */
export function renderNodeConfig(node: GraphNode, shared: ReadonlyMap<string, PortValues>, graph: WorkflowGraph, trigger: Json, nowMs: number, ai: AiProvider | null): Record<string, Json> {
  const config = node.node.config ?? {};
  const variables: Record<string, Json> = {};
  for (const [nodeId, outputs] of shared) variables[variableKey(graph.nodes.get(nodeId)!.node)] = outputs;
  const rendered = renderConfig(config, { trigger, variables }, nowMs);
  return ai && aiNodeTypes.has(node.type) ? { ...rendered, __ai: ai } : rendered;
}
