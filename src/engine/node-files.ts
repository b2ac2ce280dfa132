// Nodes use uploads by file id: just before a task leaves for the pool, a `file` input or config value
// that is a file id (a number, or `{file_id}`), or a `file_id` config key, becomes `{path}` relative to
// the data folder — the form file nodes (csv_reader) read. Looked up here, on the main thread, because
// workers have no database; they still check the path stays inside the data folder.
import type { Json, NodeError, NodeTask } from '../../workers/node-contract.js';
import type { RunNode } from './execution-run.js';

/** Finds an upload's path by id (the store). */
export interface FileLookup {
  getFile(id: number): Promise<{ file_path: string } | null>;
}

/** The task with its file ids replaced, or the failure the node ends with. */
export type FileReferenceResolution = { ok: true; task: NodeTask } | { ok: false; error: NodeError };

const fileKey = 'file';
const fileIdKey = 'file_id';

/**
 * Wraps `runNode` so file ids are paths by the time the node runs. An unknown id fails the node with
 * `file_not_found`, not retryable: another attempt would look up the same row.
 */
export function withFileReferences(runNode: RunNode, files: FileLookup): RunNode {
  return async (task, options) => {
    // Most tasks carry no file id: they go straight to the pool, without a lookup's extra turn.
    if (!hasFileReference(task)) return runNode(task, options);
    const started = performance.now();
    const resolved = await resolveFileReferences(task, files);
    if (!resolved.ok) return { ok: false, error: resolved.error, durationMs: performance.now() - started };
    return runNode(resolved.task, options);
  };
}

/** True when the task names an uploaded file by id anywhere resolveFileReferences looks. */
function hasFileReference(task: NodeTask): boolean {
  return referenceIn(task.inputs[fileKey]) !== undefined || referenceIn(task.config[fileKey]) !== undefined || (task.config[fileIdKey] !== undefined && task.config[fileKey] === undefined && idKeyReference(task.config[fileIdKey]) !== undefined);
}

/** Replaces the file ids of `task` with `{path}`; the task is returned as it is when it has none. */
export async function resolveFileReferences(task: NodeTask, files: FileLookup): Promise<FileReferenceResolution> {
  const inputRef = referenceIn(task.inputs[fileKey]);
  const configRef = referenceIn(task.config[fileKey]);
  // `file_id` in config feeds the `file` port unless a value is already given (a port value wins).
  const idKeyRef = task.config[fileIdKey] !== undefined && task.config[fileKey] === undefined ? idKeyReference(task.config[fileIdKey]) : undefined;
  if (inputRef === undefined && configRef === undefined && idKeyRef === undefined) return { ok: true, task };
  const inputs = { ...task.inputs };
  const config = { ...task.config };
  for (const [target, ref] of [[inputs, inputRef], [config, configRef ?? idKeyRef]] as const) {
    if (ref === undefined) continue;
    if (ref === 'invalid') return failure('invalid_input', 'a file id must be a positive whole number');
    const file = await files.getFile(ref);
    if (!file) return failure('file_not_found', `no uploaded file with id ${ref}`);
    target[fileKey] = { path: file.file_path };
  }
  return { ok: true, task: { ...task, inputs, config } };
}

/** A file id in a `file` value: a number or `{file_id}`; undefined when the value is no reference. */
function referenceIn(value: Json | undefined): number | 'invalid' | undefined {
  if (typeof value === 'number') return asFileId(value);
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && fileIdKey in value) return asFileId(value[fileIdKey]);
  return undefined;
}

/** A `file_id` config value; empty means none. */
function idKeyReference(value: Json | undefined): number | 'invalid' | undefined {
  return value === null || value === '' ? undefined : asFileId(value);
}

/** A positive whole number, or its digits (a rendered template is text). */
function asFileId(value: Json | undefined): number | 'invalid' {
  const id = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  return typeof id === 'number' && Number.isSafeInteger(id) && id > 0 ? id : 'invalid';
}

function failure(code: string, message: string): FileReferenceResolution {
  return { ok: false, error: { code, message, retryable: false } };
}
