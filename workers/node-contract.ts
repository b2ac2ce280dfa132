// The contract between the engine (main thread) and node bodies (worker threads).
// Everything here crosses postMessage, so it is plain data: no classes, no Errors, no functions.

/** A JSON-compatible value, as node inputs, outputs and config are. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Port name → value. */
export type PortValues = Record<string, Json>;

/** What a worker receives to run one node. */
export interface NodeTask {
  executionId: string;
  nodeId: string;
  nodeType: string;
  /** Config after template rendering. */
  config: Record<string, Json>;
  /** Port name → delivered value (a list when several connections feed the port). */
  inputs: PortValues;
  /** The event payload, available to every node. */
  trigger: Json;
  attempt: number;
  timeoutMs: number;
}

/** A node's failure as data; `retryable` tells the engine whether another attempt may succeed. */
export interface NodeError {
  code: string;
  message: string;
  retryable: boolean;
}

/** The outcome of running one node: never an exception across the thread boundary. */
export type NodeResult =
  | { ok: true; outputs: PortValues; durationMs: number }
  | { ok: false; error: NodeError; durationMs: number };

/** Context a node body gets besides its task. */
export interface NodeContext {
  /** Aborted when the node times out or its execution is cancelled. */
  signal: AbortSignal;
}

/** One port of a node type. */
export interface PortSpec {
  name: string;
  required?: boolean;
}

/** The JSON type a config key must have when present. */
export type ConfigType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'any';

/** One config key of a node type, with its default. */
export interface ConfigSpec {
  name: string;
  type: ConfigType;
  default?: Json;
  required?: boolean;
}

/** What the engine must know of a node type without running it. */
export interface NodeDefinition {
  type: string;
  category: string;
  description: string;
  inputs: PortSpec[];
  outputs: PortSpec[];
  config: ConfigSpec[];
  /** How the pool may place the node's task; see NodeIsolation. */
  isolation: NodeIsolation;
}

/**
 * How a node's task travels to and runs on the pool:
 * - `batched`: pure, fast, trusted: many tasks share one message (one postMessage for dozens of nodes).
 * - `shared`: honours its abort signal (I/O such as HTTP or timers): shares a thread with other tasks,
 *   so hundreds of waits overlap; its timeout is enforced inside the worker.
 * - `isolated`: may block or crash its thread (plug-ins, anything untrusted): a thread of its own,
 *   terminated and replaced when its timeout passes.
 */
export type NodeIsolation = 'batched' | 'shared' | 'isolated';

/** A node kind as the worker sees it: its definition and its body. */
export interface NodeModule {
  definition: NodeDefinition;
  run(task: NodeTask, context: NodeContext): Promise<PortValues> | PortValues;
}

/** A node body throws this (or anything with `code` and `retryable`) to fail with a stable code. */
export class NodeFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'NodeFailure';
  }
}
