// The node types this daemon knows, as the main thread sees them: definitions only, never bodies.
import type { NodeDefinition } from '../../workers/node-contract.js';
import { nodeDefinitions } from '../../workers/nodes/index.js';
import fs from 'node:fs';
import { pluginDefinitions } from '../../workers/plugins.js';
import { canonicalNodeType, nodeTypeAliases } from '../domain/workflow.js';
import { localNodeDefinitions } from './local-node-definitions.js';

/** Looks node types up by id or doc alias. */
export class NodeCatalog {
  private readonly byType: Map<string, NodeDefinition>;

  /** `problems` are plug-ins that could not be loaded, reported by `GET /api/v1/nodes`. */
  constructor(
    definitions: NodeDefinition[],
    readonly problems: Array<{ file: string; message: string }> = [],
  ) {
    this.byType = new Map(definitions.map((definition) => [definition.type, definition]));
  }

  /** The definition of a node type, or undefined when unknown. */
  get(type: string): NodeDefinition | undefined {
    return this.byType.get(canonicalNodeType(type));
  }

  /** Every definition, sorted by type. */
  list(): NodeDefinition[] {
    return [...this.byType.values()].sort((a, b) => a.type.localeCompare(b.type));
  }
}

/** The built-in catalogue (worker nodes and main-thread nodes), with the test fixture nodes when enabled. */
export function builtinCatalog(includeTestNodes: boolean): NodeCatalog {
  return new NodeCatalog([...nodeDefinitions(includeTestNodes), ...localNodeDefinitions]);
}

/**
 * The built-in catalogue plus the plug-ins of `pluginDir` (when it exists). A plug-in that fails to
 * load, or names a type the engine already has, is listed as a problem and left out — never fatal.
 */
export async function catalogWithPlugins(includeTestNodes: boolean, pluginDir: string): Promise<NodeCatalog> {
  const builtins = [...nodeDefinitions(includeTestNodes), ...localNodeDefinitions];
  if (!fs.existsSync(pluginDir)) return new NodeCatalog(builtins);
  const { definitions, problems } = await pluginDefinitions(pluginDir);
  const taken = new Set([...builtins.map((definition) => definition.type), ...Object.keys(nodeTypeAliases)]);
  const accepted = definitions.filter((definition) => {
    if (!taken.has(definition.type)) return true;
    problems.push({ file: definition.type, message: `plug-in type '${definition.type}' is already a built-in node type or alias` });
    return false;
  });
  return new NodeCatalog([...builtins, ...accepted], problems);
}
