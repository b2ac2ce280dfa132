// virtual_time: a simulated clock for loops: each iteration advances a fixed step from a start time.
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeModule } from '../node-contract.js';

const hoursPerUnit: Record<string, number> = { hour: 1, hours: 1, day: 24, days: 24, week: 168, weeks: 168 };
const weekdays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const msPerHour = 3_600_000;
// "YYYY-MM-DD", optionally with "HH:MM[:SS[.fff]]" after a space or T, optionally with Z or ±HH:MM.
const datetimePattern = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * The virtual_time node: virtual_datetime = start_datetime + (iteration_number − 1) × step, as
 * 'YYYY-MM-DD HH:MM:SS' in UTC (a start without an offset is read as UTC), with its epoch seconds,
 * weekday name and the step in hours.
 */
export const node: NodeModule = {
  definition: {
    type: 'virtual_time',
    category: 'simulation',
    description: 'Turns a loop iteration number into a simulated date and time.',
    inputs: [{ name: 'iteration_number', required: true }],
    outputs: [{ name: 'virtual_datetime' }, { name: 'virtual_timestamp' }, { name: 'virtual_day' }, { name: 'time_step_hours' }],
    config: [
      { name: 'start_datetime', type: 'string', default: '2025-01-01 00:00:00' },
      { name: 'time_step_value', type: 'number', default: 1 },
      { name: 'time_step_unit', type: 'string', default: 'hours' },
    ],
    isolation: 'batched',
  },
  run(task) {
    const iteration = readIteration(task.inputs.iteration_number);
    const startMs = parseStart(String(task.config.start_datetime));
    const unit = String(task.config.time_step_unit).trim().toLowerCase();
    const unitHours = hoursPerUnit[unit];
    if (unitHours === undefined) throw invalidConfig('config "time_step_unit" must be hours, days or weeks');
    const stepHours = Number(task.config.time_step_value) * unitHours;
    const at = new Date(startMs + (iteration - 1) * stepHours * msPerHour);
    if (Number.isNaN(at.getTime())) throw invalidConfig('the virtual time is out of range');
    return {
      virtual_datetime: at.toISOString().slice(0, 19).replace('T', ' '),
      virtual_timestamp: Math.floor(at.getTime() / 1000),
      virtual_day: weekdays[at.getUTCDay()]!,
      time_step_hours: stepHours,
    };
  },
};

// Accepts the while_loop's number, numeric text, or an object carrying `iteration_number`.
function readIteration(value: Json | undefined): number {
  const raw = typeof value === 'object' && value !== null && !Array.isArray(value) ? value.iteration_number : value;
  const number = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 1) {
    throw new NodeFailure('invalid_input', 'input "iteration_number" must be a whole number from 1', false);
  }
  return number;
}

function parseStart(text: string): number {
  const match = datetimePattern.exec(text.trim());
  if (!match) throw invalidConfig(`config "start_datetime" is not a date-time (YYYY-MM-DD HH:MM:SS): ${text}`);
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction = '', zone] = match;
  const offset = zone === undefined || zone.toUpperCase() === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2');
  const iso = `${year}-${month}-${day}T${hour}:${minute}:${second}${fraction}${offset}`;
  const ms = Date.parse(iso);
  // Date.parse rolls 2025-02-30 over to March; a round trip of the calendar date catches that.
  if (Number.isNaN(ms) || (offset === 'Z' && new Date(ms).toISOString().slice(0, 10) !== `${year}-${month}-${day}`)) {
    throw invalidConfig(`config "start_datetime" is not a valid date-time: ${text}`);
  }
  return ms;
}

function invalidConfig(message: string): NodeFailure {
  return new NodeFailure('invalid_config', message, false);
}
