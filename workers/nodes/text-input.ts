// text_input: a workflow's source of fixed (templated) text.
import type { NodeModule } from '../node-contract.js';

/** The text_input node: outputs its configured `text`. */
export const node: NodeModule = {
  definition: {
    type: 'text_input',
    category: 'input',
    description: 'Outputs the configured text (templates already rendered).',
    inputs: [{ name: 'input' }],
    outputs: [{ name: 'text' }],
    config: [{ name: 'text', type: 'string', default: '' }],
    isolation: 'batched',
  },
  run(task) {
    const text = task.config.text;
    return { text: typeof text === 'string' ? text : '' };
  },
};
