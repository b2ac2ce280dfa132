// Node types the engine runs on the main thread: loop control (it steers the walk), state nodes
// (their effect is a write of ours, made in the same transaction as the node's result, §7) and
// email_approval (it pauses the run until a person answers, §8).
import type { NodeDefinition } from '../../workers/node-contract.js';

const trigger = { name: 'trigger' };
const stateKey = { name: 'state_key', type: 'string', required: true } as const;
const namespace = { name: 'namespace', type: 'string', default: 'default' } as const;

/** The human-in-the-loop node (§8): runs on the main thread, because pausing is the engine's business. */
export const approvalNodeDefinition: NodeDefinition = {
  type: 'email_approval',
  category: 'human',
  description: 'Pauses the run until a person approves or rejects the draft (link token, optional SMTP mail); expiry resumes it as expired.',
  inputs: [{ name: 'draft', required: true }, { name: 'smtp_config' }],
  outputs: [{ name: 'result' }, { name: 'final_draft' }],
  config: [
    { name: 'timeout_hours', type: 'number', default: 6 },
    { name: 'base_url', type: 'string' },
    { name: 'send_notification', type: 'boolean', default: false },
    { name: 'notification_email', type: 'string' },
    { name: 'credential_id', type: 'any' },
    { name: 'draft', type: 'any' },
  ],
  isolation: 'batched',
};

/** Definitions of the main-thread node types. */
export const localNodeDefinitions: NodeDefinition[] = [
  {
    type: 'while_loop',
    category: 'control',
    description: 'Runs its body again each time the back edge into `trigger` delivers, up to max_iterations passes; then fires exit_loop once.',
    inputs: [trigger, { name: 'iteration_data' }],
    outputs: [{ name: 'iteration_number' }, { name: 'max_iterations' }, { name: 'iteration_label' }, { name: 'continue_loop' }, { name: 'exit_loop' }],
    config: [
      { name: 'max_iterations', type: 'number', default: 10 },
      { name: 'iteration_label_template', type: 'string', default: 'iteration_{n}' },
    ],
    isolation: 'batched',
  },
  {
    type: 'state_get',
    category: 'state',
    description: 'Reads a value kept across executions of this workflow.',
    inputs: [trigger],
    outputs: [{ name: 'state_value' }, { name: 'state_version' }, { name: 'last_updated_at' }, { name: 'found' }, { name: 'not_found' }],
    config: [stateKey, namespace, { name: 'default_value', type: 'any', default: {} }],
    isolation: 'batched',
  },
  {
    type: 'state_set',
    category: 'state',
    description: 'Stores a value across executions, optionally expiring after expires_in_seconds.',
    inputs: [trigger, { name: 'state_value', required: true }],
    outputs: [{ name: 'success' }, { name: 'state_version' }],
    config: [stateKey, namespace, { name: 'expires_in_seconds', type: 'number' }],
    isolation: 'batched',
  },
  {
    type: 'state_update',
    category: 'state',
    description: 'Merges into or increments a stored value atomically (no update is ever lost).',
    inputs: [trigger, { name: 'state_key', required: true }, { name: 'updates', required: true }, { name: 'namespace' }],
    outputs: [{ name: 'success' }, { name: 'new_value' }, { name: 'state_version' }],
    config: [
      { name: 'state_key', type: 'string' },
      { name: 'updates', type: 'any' },
      namespace,
      { name: 'operation', type: 'string', default: 'merge' },
      { name: 'create_if_missing', type: 'boolean', default: false },
    ],
    isolation: 'batched',
  },
  {
    type: 'state_delete',
    category: 'state',
    description: 'Deletes a stored value.',
    inputs: [trigger],
    outputs: [{ name: 'deleted' }, { name: 'not_found' }],
    config: [stateKey, namespace],
    isolation: 'batched',
  },
  approvalNodeDefinition,
];

/** The state node types. */
export const stateNodeTypes: ReadonlySet<string> = new Set(['state_get', 'state_set', 'state_update', 'state_delete']);
