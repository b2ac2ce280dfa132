// The node types this daemon knows, as the main thread sees them: definitions only, never bodies.
import type { NodeDefinition } from '../../workers/node-contract.js';
import { nodeDefinitions } from '../../workers/nodes/index.js';
import { canonicalNodeType } from '../domain/workflow.js';
import { localNodeDefinitions } from './local-node-definitions.js';

/** Looks node types up by id or doc alias. */
export class NodeCatalog {
  private readonly byType: Map<string, NodeDefinition>;

  constructor(definitions: NodeDefinition[]) {
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
