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
  /**
   * Pure, fast, trusted bodies may share one pool message with other nodes (many tasks per
   * postMessage). Anything that does I/O, may block, or may crash its thread runs alone so its
   * timeout and crash touch no other node.
   */
  batchable: boolean;
}

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
