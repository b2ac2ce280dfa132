// or: joins up to four branches into one output. When it runs (on the first arrival for `first`,
// once every input has settled otherwise) is the engine's business; this body only picks or merges.
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeModule } from '../node-contract.js';

const ports = ['input1', 'input2', 'input3', 'input4'];
const strategies = ['priority', 'first', 'combine'];

/**
 * The or node: `first` outputs the first delivered input in port order, `priority` the first non-null
 * one, `combine` every delivered value as a list (merged into one object when all are plain objects).
 * `metadata.selected_input` names the chosen port, or lists the combined ports.
 */
export const node: NodeModule = {
  definition: {
    type: 'or',
    category: 'logic',
    description: 'Passes on one of up to four inputs (first, priority) or combines them.',
    inputs: ports.map((name) => ({ name })),
    outputs: [{ name: 'output' }, { name: 'metadata' }],
    config: [{ name: 'merge_strategy', type: 'string', default: 'priority' }],
    isolation: 'batched',
  },
  run(task) {
    const strategy = String(task.config.merge_strategy).trim().toLowerCase();
    if (!strategies.includes(strategy)) {
      throw new NodeFailure('invalid_config', `config "merge_strategy" must be one of ${strategies.join(', ')}`, false);
    }
    // An input that was not delivered is absent; a delivered null is present (and skipped by priority).
    const available = ports.filter((name) => task.inputs[name] !== undefined);
    const value = (name: string): Json => task.inputs[name] ?? null;
    let output: Json = null;
    let selected: Json = null;
    if (strategy === 'combine') {
      const values = available.map(value);
      // fromEntries defines keys rather than assigning them, so a "__proto__" key stays a plain key.
      output = values.length > 0 && values.every(isObject) ? Object.fromEntries(values.flatMap((v) => Object.entries(v))) : values;
      selected = available;
    } else {
      const chosen = strategy === 'first' ? available[0] : available.find((name) => value(name) !== null);
      if (chosen !== undefined) {
        output = value(chosen);
        selected = chosen;
      }
    }
    return { output, metadata: { merge_strategy: strategy, selected_input: selected, available_inputs: available } };
  },
};

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
