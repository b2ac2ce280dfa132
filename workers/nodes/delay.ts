// delay: holds a value back for a while, e.g. to pace calls to a rate-limited service.
import { setTimeout as sleep } from 'node:timers/promises';
import { NodeFailure } from '../node-contract.js';
import type { NodeModule } from '../node-contract.js';

// Node timers fire after 1 ms when asked for more than 2^31-1 ms, so longer waits are refused.
const maxDelayMs = 2 ** 31 - 1;

/** The delay node: waits `seconds` (abortable) and passes `input` through as `output`. */
export const node: NodeModule = {
  definition: {
    type: 'delay',
    category: 'flow',
    description: 'Waits the configured seconds, then passes its input through.',
    inputs: [{ name: 'input' }],
    outputs: [{ name: 'output' }],
    config: [{ name: 'seconds', type: 'number', default: 1 }],
    isolation: 'shared',
  },
  async run(task, { signal }) {
    const seconds = task.config.seconds;
    const ms = typeof seconds === 'number' ? seconds * 1000 : 1000;
    if (!(ms >= 0 && ms <= maxDelayMs)) {
      throw new NodeFailure('invalid_config', `config "seconds" must be between 0 and ${maxDelayMs / 1000}`, false);
    }
    await sleep(ms, undefined, { signal });
    return { output: task.inputs.input ?? null };
  },
};
