// schedule_trigger: a source node. The schedule itself is armed by the trigger registry
// (src/triggers/); when its event runs the workflow, this node hands the event's payload on.
import type { NodeModule } from '../node-contract.js';

/** The schedule_trigger node: outputs the trigger payload (`triggered_at`, `execution_count`, …) as `signal`. */
export const node: NodeModule = {
  definition: {
    type: 'schedule_trigger',
    category: 'triggers',
    description: 'Fires on an interval (hours/minutes/seconds) or a cron expression in a time zone while the workflow is monitoring; outputs the trigger payload as signal.',
    inputs: [],
    outputs: [{ name: 'signal' }],
    config: [
      { name: 'interval_hours', type: 'number', default: 0 },
      { name: 'interval_minutes', type: 'number', default: 5 },
      { name: 'interval_seconds', type: 'number', default: 0 },
      { name: 'cron', type: 'string' },
      { name: 'timezone', type: 'string' },
    ],
    isolation: 'batched',
  },
  run(task) {
    // A manual run without data still gives downstream nodes a signal to start on.
    return { signal: task.trigger ?? {} };
  },
};
