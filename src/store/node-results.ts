// How a node's outputs are kept, whatever the database: one result row per port, text as it is and
// anything else as JSON, content larger than `inlineMaxBytes` in a file under the results folder (the
// row keeps a preview and the file's path). Shared by the SQLite and PostgreSQL adapters so both write
// the same rows and the same files, and read them back alike.
import fs from 'node:fs';
import path from 'node:path';
import type { Json } from '../../workers/node-contract.js';
import type { NodeOutcomeRecord, PayloadLimits } from '../domain/execution.js';

/** The columns of one `execution_results` row, its large content already written to a file. */
export interface StoredPortValue {
  dataType: string;
  /** The whole content when kept inline; null when it lives in the file. */
  content: string | null;
  projection: string;
  byteSize: number;
  /** Relative to the folder holding the results folder; null when inline. */
  filePath: string | null;
}

/** The row columns of one output port's value; writes the file when the content is too large to keep inline. */
export function storePortValue(
  outcome: Pick<NodeOutcomeRecord, 'executionId' | 'nodeId' | 'attempt'>,
  port: string,
  value: Json | undefined,
  limits: PayloadLimits,
  resultsDir: string,
): StoredPortValue {
  const isText = typeof value === 'string';
  // Text is kept as it is; anything else as JSON, so `content` always reads back to the same value.
  const content = isText ? value : JSON.stringify(value ?? null);
  const projection = content.length > limits.maxChars ? content.slice(0, limits.maxChars) : content;
  const byteSize = Buffer.byteLength(content);
  const filePath = byteSize > limits.inlineMaxBytes ? writeResultFile(resultsDir, outcome, port, content) : null;
  return { dataType: isText ? 'text' : dataTypeOf(value), content: filePath ? null : content, projection, byteSize, filePath };
}

/** Writes one large port value under `resultsDir/<execution>/`; returns the path relative to the data folder. */
function writeResultFile(resultsDir: string, outcome: Pick<NodeOutcomeRecord, 'executionId' | 'nodeId' | 'attempt'>, port: string, content: string): string {
  const folder = path.join(resultsDir, outcome.executionId);
  fs.mkdirSync(folder, { recursive: true });
  // Node ids and port names come from the workflow: keep them out of the path's structure.
  const name = `${safeName(outcome.nodeId)}.${safeName(port)}.${outcome.attempt}.dat`;
  fs.writeFileSync(path.join(folder, name), content);
  return path.join(path.basename(resultsDir), outcome.executionId, name);
}

/** Where a result row's `file_path` is on disk. */
export function resultFileLocation(resultsDir: string, filePath: string): string {
  return path.join(path.dirname(resultsDir), filePath);
}

/** The value a result row's content column holds (text as it is, the rest JSON). */
export function decodeContent(dataType: string, content: string | null): Json {
  if (content === null) return null;
  return dataType === 'text' ? content : (JSON.parse(content) as Json);
}

function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 64) || '_';
}

function dataTypeOf(value: Json | undefined): string {
  if (Array.isArray(value)) return 'array';
  if (value === null || value === undefined) return 'null';
  return typeof value === 'object' ? 'json' : typeof value;
}

/** The execution_logs row an event_logger node asks for, beside its own node_completed row; null when `logged` is not an object. */
export function userEventOf(logged: Json | undefined): { level: string; event: string; message: string; data: string } | null {
  if (!logged || typeof logged !== 'object' || Array.isArray(logged)) return null;
  return {
    level: typeof logged.level === 'string' ? logged.level : 'info',
    event: `user:${String(logged.event_type ?? 'event')}`.slice(0, 64),
    message: String(logged.message ?? ''),
    data: JSON.stringify(logged.data ?? null),
  };
}
