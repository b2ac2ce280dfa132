// Template rendering for node config (semantics §3): system values like `{current_date}` first, then
// `{{key.path.0.field}}` references into the trigger payload and shared node outputs, then TAV's
// `{source: literal|variable|template}` config objects. Pure: no I/O, the time comes in as `nowMs`.
import type { Json } from '../../workers/node-contract.js';

/** What references can see: the event payload and each sharing node's outputs by variable key. */
export interface TemplateScope {
  trigger: Json;
  /** Variable key (see `variableKey`) → that node's outputs object. */
  variables: Record<string, Json>;
}

// Module-level patterns are safe to share: `String.replace` resets a global regex's lastIndex, and
// WHOLE_REFERENCE has no /g flag, so no state leaks between calls.
const SYSTEM_VALUE = /\{(current_datetime|current_date|current_time|timestamp|year|month|day|hour|minute|second)\}/g;
const REFERENCE = /\{\{([^{}]+)\}\}/g;
const WHOLE_REFERENCE = /^\{\{([^{}]+)\}\}$/;
const INDEX = /^\d+$/;
const SOURCE_KINDS: ReadonlySet<string> = new Set(['literal', 'variable', 'template']);

/** The key a node's shared outputs are known by: `variable_name`, else its name as an identifier, else its id. */
export function variableKey(node: { name?: string; variable_name?: string | null; node_id: string }): string {
  if (node.variable_name) return node.variable_name;
  const derived = (node.name ?? '').toLowerCase().replace(/ /g, '_').replace(/[^a-z0-9_]/g, '');
  return derived === '' ? node.node_id : derived;
}

/** Renders one template string; a string that is exactly one resolvable reference yields that value, typed. */
export function renderTemplate(text: string, scope: TemplateScope, nowMs: number): string | Json {
  // Hot path: every node's config is rendered on every execution, and most strings hold no braces.
  if (!text.includes('{')) return text;
  const expanded = expandSystemValues(text, nowMs);
  const whole = WHOLE_REFERENCE.exec(expanded);
  if (whole) {
    // A lone reference keeps its type so `items: "{{trigger.items}}"` stays a list, not its JSON text.
    const value = resolveReference(whole[1]!, scope);
    return value === undefined ? expanded : value;
  }
  if (!expanded.includes('{{')) return expanded;
  return expanded.replace(REFERENCE, (match, expression: string) => {
    const value = resolveReference(expression, scope);
    return value === undefined ? match : textOf(value);
  });
}

/** Renders a node's config: every string templated, at any depth, and source objects resolved; input untouched. */
export function renderConfig(config: Record<string, Json>, scope: TemplateScope, nowMs: number): Record<string, Json> {
  return renderObject(config, scope, nowMs);
}

/** Looks up `key.path.0.field`; undefined when any step is missing. */
function resolveReference(expression: string, scope: TemplateScope): Json | undefined {
  const [key, ...path] = expression.trim().split('.');
  let current: Json | undefined;
  if (key === 'trigger') current = scope.trigger;
  else if (Object.hasOwn(scope.variables, key!)) current = scope.variables[key!];
  else return undefined;
  for (const step of path) {
    if (Array.isArray(current)) {
      if (!INDEX.test(step)) return undefined;
      current = current[Number(step)];
    } else if (current !== null && typeof current === 'object') {
      // hasOwn, not `in`: `{{trigger.constructor}}` must not reach the prototype.
      current = Object.hasOwn(current, step) ? current[step] : undefined;
    } else {
      return undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}

/** How a resolved value reads inside text: strings as themselves, everything else as JSON. */
function textOf(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Replaces `{current_date}` and friends (UTC) — except the exact `{{year}}` form, which is a reference. */
function expandSystemValues(text: string, nowMs: number): string {
  let parts: Record<string, string> | undefined;
  return text.replace(SYSTEM_VALUE, (match, name: string, offset: number) => {
    // A node named "Year" has the variable key `year`; `{{year}}` must still reach it.
    if (text[offset - 1] === '{' && text[offset + match.length] === '}') return match;
    parts ??= systemValues(nowMs);
    return parts[name]!;
  });
}

/** The system values at `nowMs`, all in UTC. */
function systemValues(nowMs: number): Record<string, string> {
  const at = new Date(nowMs);
  const two = (n: number) => String(n).padStart(2, '0');
  const year = String(at.getUTCFullYear());
  const [month, day] = [two(at.getUTCMonth() + 1), two(at.getUTCDate())];
  const [hour, minute, second] = [two(at.getUTCHours()), two(at.getUTCMinutes()), two(at.getUTCSeconds())];
  const date = `${year.padStart(4, '0')}-${month}-${day}`;
  const time = `${hour}:${minute}:${second}`;
  return {
    current_date: date,
    current_time: time,
    current_datetime: `${date} ${time}`,
    timestamp: String(Math.floor(nowMs / 1000)),
    year, month, day, hour, minute, second,
  };
}

/** Renders any config value into a fresh value; the input is never written to. */
function renderValue(value: Json, scope: TemplateScope, nowMs: number): Json {
  if (typeof value === 'string') return renderTemplate(value, scope, nowMs);
  if (Array.isArray(value)) return value.map((item) => renderValue(item, scope, nowMs));
  if (value !== null && typeof value === 'object') {
    return isSourceObject(value) ? resolveSource(value, scope, nowMs) : renderObject(value, scope, nowMs);
  }
  return value;
}

/** Renders each entry into a new object (fromEntries, so a `__proto__` key stays a plain key). */
function renderObject(object: Record<string, Json>, scope: TemplateScope, nowMs: number): Record<string, Json> {
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, renderValue(item, scope, nowMs)]));
}

/** True for TAV's `{source: "literal" | "variable" | "template", …}` config objects. */
function isSourceObject(value: Record<string, Json>): boolean {
  return typeof value.source === 'string' && SOURCE_KINDS.has(value.source);
}

/** The value a TAV source object stands for. */
function resolveSource(value: Record<string, Json>, scope: TemplateScope, nowMs: number): Json {
  switch (value.source) {
    case 'literal':
      // Literal means as written: no template rendering inside.
      return value.value ?? null;
    case 'variable': {
      const reference = [value.variable, value.name, value.path, value.value].find((field) => typeof field === 'string');
      if (typeof reference !== 'string') return null;
      const bare = /^\s*\{\{([^{}]*)\}\}\s*$/.exec(reference)?.[1] ?? reference;
      return resolveReference(bare, scope) ?? null;
    }
    default: {
      const template = value.template ?? value.value;
      if (template === undefined) return null;
      return renderValue(template, scope, nowMs);
    }
  }
}
