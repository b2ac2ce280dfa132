// webhook_trigger: a source node. `POST /webhooks/:path` enqueues the delivery; when its event runs
// the workflow, this node hands on the delivery's body, headers (an allowlist) and query.
import type { NodeModule } from '../node-contract.js';
import { triggerField } from './trigger-data.js';

/** The webhook_trigger node: outputs the delivery's `body`, `headers` and `query`. */
export const node: NodeModule = {
  definition: {
    type: 'webhook_trigger',
    category: 'triggers',
    description: 'Fires on POST /webhooks/<path> while the workflow is monitoring (optional HMAC-SHA256 signature in X-TAV-Signature); outputs body, headers and query.',
    inputs: [],
    outputs: [{ name: 'body' }, { name: 'headers' }, { name: 'query' }],
    config: [
      { name: 'path', type: 'string', required: true },
      { name: 'secret', type: 'string' },
    ],
    isolation: 'batched',
  },
  run(task) {
    // A manual or API run carries no delivery: its whole event data stands for the body.
    return {
      body: triggerField(task.trigger, 'body', task.trigger ?? {}),
      headers: triggerField(task.trigger, 'headers', {}),
      query: triggerField(task.trigger, 'query', {}),
    };
  },
};
