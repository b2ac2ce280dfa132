// The workflows the benchmark runs, built from built-in nodes only (test nodes stay disabled).

/** A workflow definition as the API accepts it: `{nodes, connections}`. */
export interface BenchWorkflow {
  name: string;
  nodes: Array<{ node_id: string; node_type: string; name: string; config: Record<string, unknown> }>;
  connections: Array<{ source_node_id: string; source_port: string; target_node_id: string; target_port: string }>;
}

const node = (id: string, type: string, config: Record<string, unknown> = {}) => ({ node_id: id, node_type: type, name: id, config });
const link = (source: string, sourcePort: string, target: string, targetPort: string) => ({
  source_node_id: source,
  source_port: sourcePort,
  target_node_id: target,
  target_port: targetPort,
});

/** One text_input node: the cheapest possible execution. */
export function oneNodeWorkflow(): BenchWorkflow {
  return { name: 'bench one node', nodes: [node('input', 'text_input', { text: 'hello' })], connections: [] };
}

/**
 * text_input → three text_display → one text_display joining them. Three links into the join's
 * `text` port make it receive a list, which text_display stringifies.
 */
export function fanOutFanInWorkflow(): BenchWorkflow {
  return {
    name: 'bench fan out fan in',
    nodes: [node('src', 'text_input', { text: 'x' }), node('a', 'text_display'), node('b', 'text_display'), node('c', 'text_display'), node('join', 'text_display')],
    connections: [
      link('src', 'text', 'a', 'text'),
      link('src', 'text', 'b', 'text'),
      link('src', 'text', 'c', 'text'),
      link('a', 'text', 'join', 'text'),
      link('b', 'text', 'join', 'text'),
      link('c', 'text', 'join', 'text'),
    ],
  };
}
