// Small workflows the tests run, built from the built-in and fixture nodes.

/** A node entry. */
export function node(nodeId: string, nodeType: string, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return { node_id: nodeId, node_type: nodeType, name: nodeId, config, ...extra };
}

/** A connection entry. */
export function link(source: string, sourcePort: string, target: string, targetPort: string) {
  return { source_node_id: source, source_port: sourcePort, target_node_id: target, target_port: targetPort };
}

/** A workflow body for POST /api/v1/workflows. */
export function workflowBody(name: string, nodes: unknown[], connections: unknown[] = [], extra: Record<string, unknown> = {}) {
  return { name, workflow_data: { nodes, connections }, ...extra };
}

/** One text_input node. */
export const oneNode = () => workflowBody('one node', [node('input', 'text_input', { text: 'hello' })]);

/** One node that takes `ms` milliseconds. */
export const slowNode = (ms: number) => workflowBody('slow', [node('slow', 'test_slow', { ms })]);

/** input → three parallel displays → one display collecting them (fan-out / fan-in). */
export const fanOutFanIn = () =>
  workflowBody(
    'fan out fan in',
    [node('src', 'text_input', { text: 'x' }), node('a', 'text_display'), node('b', 'text_display'), node('c', 'text_display'), node('join', 'test_echo')],
    [link('src', 'text', 'a', 'text'), link('src', 'text', 'b', 'text'), link('src', 'text', 'c', 'text'), link('a', 'text', 'join', 'input'), link('b', 'text', 'join', 'input'), link('c', 'text', 'join', 'input')],
  );
