// Trigger node configs (semantics §11), parsed once and checked at save time: a workflow whose trigger
// could never fire (a cron croner cannot read, an interval of 0 s, an unknown time zone) is refused
// with 400 when it is created or updated, not discovered when monitoring starts.
import { Cron } from 'croner';
import type { Json } from '../../workers/node-contract.js';
import { isRecord, type WorkflowData } from './workflow.js';

/** The kinds of trigger; each is also the `source` (execution_source) of the events it enqueues. */
export type TriggerKind = 'schedule' | 'webhook' | 'file_polling';

/** Trigger node type → its kind. */
export const triggerNodeKinds: Readonly<Record<string, TriggerKind>> = Object.freeze({
  schedule_trigger: 'schedule',
  webhook_trigger: 'webhook',
  file_polling_trigger: 'file_polling',
});

/** One trigger node of a workflow. */
export interface TriggerNode {
  nodeId: string;
  kind: TriggerKind;
  config: Record<string, Json>;
}

/** When a schedule fires: every `intervalMs`, or on a cron pattern read in `timezone` (null: the daemon's zone). */
export type ScheduleSpec = { type: 'interval'; intervalMs: number } | { type: 'cron'; cron: string; timezone: string | null };

/** A config key that is wrong, and why. */
export interface TriggerConfigProblem {
  key: string;
  message: string;
}

/** A webhook's path and optional shared secret. */
export interface WebhookSpec {
  path: string;
  secret: string | null;
}

// One URL segment, so `/webhooks/:path` names it; letters, digits and . _ ~ - only.
const webhookPathPattern = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;
const intervalKeys = ['interval_hours', 'interval_minutes', 'interval_seconds'] as const;
const minimumIntervalMs = 1_000;

/** The trigger nodes of a workflow, in file order. */
export function triggerNodesOf(data: WorkflowData): TriggerNode[] {
  const triggers: TriggerNode[] = [];
  for (const node of data.nodes) {
    const kind = isRecord(node) ? triggerNodeKinds[node.node_type] : undefined;
    if (kind && typeof node.node_id === 'string') triggers.push({ nodeId: node.node_id, kind, config: isRecord(node.config) ? node.config : {} });
  }
  return triggers;
}

/** Every problem of a schedule or webhook trigger's config (file polling is checked by its poller's parser). */
export function triggerConfigProblems(kind: Exclude<TriggerKind, 'file_polling'>, config: Record<string, Json>): TriggerConfigProblem[] {
  const spec = kind === 'schedule' ? parseSchedule(config) : parseWebhook(config);
  if (typeof spec !== 'string') return [];
  return [{ key: kind === 'webhook' ? 'path' : config.cron ? 'cron' : 'interval_seconds', message: spec }];
}

/**
 * The schedule a schedule_trigger's config describes, or why it has none. A non-empty `cron` wins over
 * the interval. Better than TAV: the 5-minute default applies only when no interval key is given at
 * all, so `{interval_seconds: 30}` means 30 s, not 5 min 30 s.
 */
export function parseSchedule(config: Record<string, Json>): ScheduleSpec | string {
  const cron = config.cron;
  if (cron !== undefined && cron !== null && cron !== '') {
    if (typeof cron !== 'string') return 'cron must be a string';
    const timezone = config.timezone === undefined || config.timezone === null || config.timezone === '' ? null : config.timezone;
    if (timezone !== null && (typeof timezone !== 'string' || !isKnownTimeZone(timezone))) return `unknown time zone '${String(timezone)}'`;
    try {
      if (new Cron(cron.trim(), { timezone: timezone ?? undefined }).nextRun() === null) return `cron '${cron}' never fires`;
    } catch (error) {
      return `cron '${cron}' cannot be read: ${(error as Error).message}`;
    }
    return { type: 'cron', cron: cron.trim(), timezone };
  }
  const given = intervalKeys.some((key) => config[key] !== undefined && config[key] !== null && config[key] !== '');
  const hours = given ? toNumber(config.interval_hours) : 0;
  const minutes = given ? toNumber(config.interval_minutes) : 5;
  const seconds = given ? toNumber(config.interval_seconds) : 0;
  if ([hours, minutes, seconds].some((value) => value === null || value < 0)) return 'interval_hours, interval_minutes and interval_seconds must be numbers of 0 or more';
  const intervalMs = Math.round(((hours ?? 0) * 3600 + (minutes ?? 0) * 60 + (seconds ?? 0)) * 1000);
  if (intervalMs < minimumIntervalMs) return 'the interval must be at least 1 second in total (or give a cron expression)';
  return { type: 'interval', intervalMs };
}

/** A webhook_trigger's path (without slashes around it) and secret, or why it is invalid. */
export function parseWebhook(config: Record<string, Json>): WebhookSpec | string {
  const raw = config.path;
  if (typeof raw !== 'string' || raw.trim() === '') return 'path is required';
  const path = raw.trim().replace(/^\/+|\/+$/g, '');
  if (!webhookPathPattern.test(path)) return 'path must be one URL segment of letters, digits, ".", "_", "~" or "-" (up to 128 characters)';
  const secret = config.secret;
  if (secret !== undefined && secret !== null && typeof secret !== 'string') return 'secret must be a string';
  return { path, secret: typeof secret === 'string' && secret !== '' ? secret : null };
}

/** True when the runtime knows the IANA time zone `zone`. */
export function isKnownTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** A number, or a numeric string, as a number; absent reads as 0; anything else as null. */
function toNumber(value: Json | undefined): number | null {
  if (value === undefined || value === null || value === '') return 0;
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isFinite(number) ? number : null;
}
