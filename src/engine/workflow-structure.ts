// A fingerprint of a workflow's structure (nodes and how they connect), so a retry can tell whether
// the recorded outputs of finished nodes still fit the workflow as it is now.
import { createHash } from 'node:crypto';
import type { WorkflowData } from '../domain/workflow.js';

/** SHA-256 over node ids and types and the connections, independent of order, names and layout. */
export function structureHash(data: WorkflowData): string {
  const nodes = data.nodes.map((node) => `${node.node_id}:${node.node_type}`).sort();
  const connections = data.connections.map((c) => `${c.source_node_id}.${c.source_port}>${c.target_node_id}.${c.target_port}`).sort();
  return createHash('sha256').update(JSON.stringify({ nodes, connections })).digest('hex');
}
