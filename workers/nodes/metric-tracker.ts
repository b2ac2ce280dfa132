// metric_tracker: reduces a metrics object to its numeric fields; history is kept by the engine.
import type { Json, NodeModule } from '../node-contract.js';
import { readMetrics } from './metrics-input.js';

const numericText = /^\s*-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\s*$/i;

/**
 * The metric_tracker node: outputs `current_metrics` (numeric fields only; numeric text becomes a
 * number), `notes` naming each dropped field, and echoes `track_history` for the engine, which stores
 * the history.
 */
export const node: NodeModule = {
  definition: {
    type: 'metric_tracker',
    category: 'monitoring',
    description: 'Keeps the numeric fields of a metrics object as the current metrics.',
    inputs: [{ name: 'trigger' }, { name: 'metrics', required: true }],
    outputs: [{ name: 'success' }, { name: 'current_metrics' }, { name: 'track_history' }, { name: 'notes' }],
    config: [{ name: 'track_history', type: 'boolean', default: false }],
    isolation: 'batched',
  },
  run(task) {
    const metrics = readMetrics(task.inputs.metrics);
    const kept: Array<[string, number]> = [];
    const notes: string[] = [];
    for (const [name, value] of Object.entries(metrics)) {
      const number = numberOf(value);
      if (number === undefined) notes.push(`metric "${name}" is not a number and was dropped`);
      else kept.push([name, number]);
    }
    // Built with fromEntries so a metric named "__proto__" is kept as data.
    const current = Object.fromEntries(kept);
    return { success: true, current_metrics: current, track_history: task.config.track_history === true, notes };
  },
};

function numberOf(value: Json): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && numericText.test(value)) return Number(value);
  return undefined;
}
