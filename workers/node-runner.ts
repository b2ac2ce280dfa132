// Piscina entry: runs one pool message's node tasks and answers with one NodeResult per task.
// Nothing thrown here may escape: every failure, including a body's garbage, becomes data (style §4).
import { performance } from 'node:perf_hooks';
import { workerData, type MessagePort } from 'node:worker_threads';
import { NodeFailure } from './node-contract.js';
import type {
  ConfigSpec,
  Json,
  NodeDefinition,
  NodeError,
  NodeModule,
  NodeResult,
  NodeTask,
  PortValues,
} from './node-contract.js';
import { builtinNodes, testFixtureNodes } from './nodes/index.js';
import { loadPlugins } from './plugins.js';

/** One pool message: tasks that share a postMessage and run concurrently. */
export interface NodeBatch {
  tasks: NodeTask[];
  /** Fires when the main thread cancels the message's tasks (a cancelled execution). */
  cancel?: AbortSignal;
}

/** Runs a batch against a fixed set of node kinds. */
export type BatchRunner = (batch: NodeBatch) => Promise<NodeResult[]>;

// Node timers overflow above 2^31-1 ms (and then fire after 1 ms), so longer budgets are capped.
const maxTimerMs = 2 ** 31 - 1;

/** Builds a batch runner over the given node kinds; the default export binds it to this worker's registry. */
export function createNodeRunner(nodes: readonly NodeModule[]): BatchRunner {
  const registry = new Map<string, NodeModule>();
  for (const node of nodes) {
    // Two bodies for one type would make results depend on load order: refuse at start-up instead.
    if (registry.has(node.definition.type)) throw new Error(`duplicate node type ${node.definition.type}`);
    registry.set(node.definition.type, node);
  }
  return (batch) => Promise.all(batch.tasks.map((task) => runTask(registry, task, batch.cancel)));
}

const workerOptions = workerData as { enableTestNodes?: unknown; pluginDir?: unknown } | null;
const enableTestNodes = workerOptions?.enableTestNodes === true;
// Plug-ins load once per thread, before the first task. Their problems are not reported here: the main
// thread runs the same loader (pluginDefinitions) at start-up and logs them once.
const pluginNodes = typeof workerOptions?.pluginDir === 'string' ? (await loadPlugins(workerOptions.pluginDir)).nodes : [];
const runWithWorkerRegistry = createNodeRunner([
  ...builtinNodes,
  ...(enableTestNodes ? testFixtureNodes : []),
  ...pluginNodes,
]);

/**
 * Piscina entry: runs the tasks concurrently and returns their results in task order. A message may
 * carry a `cancelPort`: any message on it aborts the tasks' signals (the main thread cancelling a
 * task that shares this thread, which it cannot terminate).
 */
export default async function runNodeBatch(message: { tasks: NodeTask[]; cancelPort?: MessagePort }): Promise<NodeResult[]> {
  const port = message.cancelPort;
  if (!port) return runWithWorkerRegistry({ tasks: message.tasks });
  const cancel = new AbortController();
  port.once('message', () => cancel.abort());
  try {
    return await runWithWorkerRegistry({ tasks: message.tasks, cancel: cancel.signal });
  } finally {
    port.close();
  }
}

async function runTask(registry: Map<string, NodeModule>, task: NodeTask, cancel?: AbortSignal): Promise<NodeResult> {
  const started = performance.now();
  const elapsed = (): number => performance.now() - started;
  const node = registry.get(task.nodeType);
  if (node === undefined) {
    const error = failure('unknown_node_type', `no node type "${task.nodeType}" in this worker`);
    return { ok: false, error, durationMs: elapsed() };
  }
  const abort = taskAbort(task.timeoutMs, cancel);
  try {
    const prepared = prepareTask(task, node.definition);
    const outputs = await runBody(node, prepared, abort.signal);
    return { ...judgeOutputs(outputs), durationMs: elapsed() };
  } catch (err) {
    return { ok: false, error: toNodeError(err, abort, task.timeoutMs), durationMs: elapsed() };
  } finally {
    abort.release();
  }
}

/** A task's abort: its timeout or a cancel from the main thread, whichever comes first. */
interface TaskAbort {
  signal: AbortSignal;
  cancelled(): boolean;
  release(): void;
}

// A timer cleared when the task ends (AbortSignal.timeout would keep every signal alive until its
// timer fires: at the default 300 s, minutes of finished tasks).
function taskAbort(timeoutMs: number, cancel?: AbortSignal): TaskAbort {
  const controller = new AbortController();
  const onCancel = () => controller.abort();
  cancel?.addEventListener('abort', onCancel, { once: true });
  const timer = Number.isFinite(timeoutMs) && timeoutMs > 0 ? setTimeout(() => controller.abort(), Math.min(timeoutMs, maxTimerMs)) : undefined;
  return {
    signal: controller.signal,
    cancelled: () => cancel?.aborted === true,
    release: () => {
      clearTimeout(timer);
      cancel?.removeEventListener('abort', onCancel);
    },
  };
}

// Races the body against the abort so a body that ignores the signal but leaves the thread free still
// gives its slot back on time; a body that blocks the thread is the main thread's hard timeout's job.
async function runBody(node: NodeModule, task: NodeTask, signal: AbortSignal): Promise<unknown> {
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(new NodeFailure('timeout', timeoutMessage(task.timeoutMs), true));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([Promise.resolve().then(() => node.run(task, { signal })), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function timeoutMessage(timeoutMs: number): string {
  return `node did not finish within ${timeoutMs} ms`;
}

// Applies the catalogue's rules before the body runs, so bodies read final, typed values:
// defaults fill absent (or null) config keys, an input port falls back to the config key of the same
// name (a value arriving on the port wins), and required ports and keys must be present.
function prepareTask(task: NodeTask, definition: NodeDefinition): NodeTask {
  const config: Record<string, Json> = { ...(task.config ?? {}) };
  for (const spec of definition.config) {
    const value = config[spec.name];
    if (value !== undefined && value !== null) {
      config[spec.name] = coerceConfigValue(spec, value);
    } else if (spec.default !== undefined) {
      config[spec.name] = structuredClone(spec.default);
    } else if (spec.required) {
      throw new NodeFailure('invalid_config', `config "${spec.name}" is required`, false);
    } else {
      delete config[spec.name];
    }
  }
  const inputs: PortValues = { ...(task.inputs ?? {}) };
  for (const port of definition.inputs) {
    if (inputs[port.name] === undefined && config[port.name] !== undefined) inputs[port.name] = config[port.name];
    if (port.required && inputs[port.name] === undefined) {
      throw new NodeFailure('missing_input', `input "${port.name}" is required`, false);
    }
  }
  return { ...task, config, inputs };
}

// Rendered templates are strings, so "5", "true" and JSON text are accepted where the key wants a
// number, boolean, object or list.
function coerceConfigValue(spec: ConfigSpec, value: Json): Json {
  const text = typeof value === 'string' ? value.trim() : undefined;
  switch (spec.type) {
    case 'any':
      return value;
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      break;
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (text !== undefined && text !== '' && Number.isFinite(Number(text))) return Number(text);
      break;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (text === 'true' || text === 'false') return text === 'true';
      break;
    case 'object':
    case 'array': {
      const parsed = text === undefined ? value : parseJsonOrUndefined(text);
      const isArray = Array.isArray(parsed);
      const isObject = typeof parsed === 'object' && parsed !== null && !isArray;
      if (spec.type === 'array' ? isArray : isObject) return parsed as Json;
      break;
    }
  }
  throw new NodeFailure('invalid_config', `config "${spec.name}" must be of type ${spec.type}`, false);
}

function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

type Judged = { ok: true; outputs: PortValues } | { ok: false; error: NodeError };

function judgeOutputs(outputs: unknown): Judged {
  const problem = describeNonJson(outputs, 'outputs', new Set());
  if (problem !== undefined || !isPlainObject(outputs)) {
    return { ok: false, error: failure('invalid_outputs', problem ?? 'outputs must be an object of port values') };
  }
  const ports = outputs as PortValues;
  // Soft errors (TAV compatible): a truthy top-level `error` or `success: false` means the node failed.
  if (ports.error || ports.success === false) {
    const reported = ports.error;
    const message = typeof reported === 'string' ? reported
      : reported ? JSON.stringify(reported) : 'node reported success: false';
    return { ok: false, error: failure('node_reported_error', message) };
  }
  return { ok: true, outputs: ports };
}

// Returns what makes `value` not JSON, or undefined. Undefined object properties are allowed: they
// vanish when the outputs are stored as JSON, as they would from JSON.stringify.
function describeNonJson(value: unknown, path: string, ancestors: Set<object>): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${path} is not a finite number`;
  if (typeof value !== 'object') return `${path} is a ${typeof value}`;
  if (ancestors.has(value)) return `${path} refers back to itself`;
  if (!Array.isArray(value) && !isPlainObject(value)) return `${path} is not a plain object`;
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i += 1) {
        const problem = describeNonJson(value[i], `${path}[${i}]`, ancestors);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    for (const [key, item] of Object.entries(value)) {
      if (item === undefined) continue;
      const problem = describeNonJson(item, `${path}.${key}`, ancestors);
      if (problem !== undefined) return problem;
    }
    return undefined;
  } finally {
    ancestors.delete(value);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

// Checked by shape, not instanceof: a plug-in may bundle its own copy of NodeFailure.
function toNodeError(err: unknown, abort: TaskAbort, timeoutMs: number): NodeError {
  if (abort.cancelled()) return failure('cancelled', 'the node was cancelled');
  if (typeof err === 'object' && err !== null) {
    const { code, retryable, message } = err as { code?: unknown; retryable?: unknown; message?: unknown };
    if (typeof code === 'string' && typeof retryable === 'boolean') {
      return { code, message: typeof message === 'string' ? message : code, retryable };
    }
  }
  // A body that rejects because its signal fired has timed out, whatever error it chose to throw.
  if (abort.signal.aborted) return { code: 'timeout', message: timeoutMessage(timeoutMs), retryable: true };
  return failure('node_error', err instanceof Error ? err.message : safeString(err));
}

function failure(code: string, message: string): NodeError {
  return { code, message, retryable: false };
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return 'unprintable error';
  }
}
