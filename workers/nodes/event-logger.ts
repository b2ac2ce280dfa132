// event_logger: records a business event; the engine writes the execution_logs row from `logged`.
import { NodeFailure } from '../node-contract.js';
import type { NodeModule } from '../node-contract.js';

const levels = ['info', 'warn', 'error', 'debug'];

/**
 * The event_logger node: outputs `success: true` and `logged {event_type, message, level, data}`,
 * where `data` is the `event_data` input (null when absent). 'warning' is read as 'warn'.
 */
export const node: NodeModule = {
  definition: {
    type: 'event_logger',
    category: 'monitoring',
    description: 'Logs an event with a type, message and level to the execution log.',
    inputs: [{ name: 'trigger' }, { name: 'event_data' }],
    outputs: [{ name: 'success' }, { name: 'logged' }],
    config: [
      { name: 'event_type', type: 'string', required: true },
      { name: 'message', type: 'string', required: true },
      { name: 'level', type: 'string', default: 'info' },
    ],
    isolation: 'batched',
  },
  run(task) {
    const given = String(task.config.level).trim().toLowerCase();
    const level = given === 'warning' ? 'warn' : given;
    if (!levels.includes(level)) throw new NodeFailure('invalid_config', `config "level" must be one of ${levels.join(', ')}`, false);
    return {
      success: true,
      logged: {
        event_type: String(task.config.event_type),
        message: String(task.config.message),
        level,
        data: task.inputs.event_data ?? null,
      },
    };
  },
};
