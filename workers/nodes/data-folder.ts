// The data folder file nodes may read and write: `workerData.dataDir`, set by the pool. No node may
// touch a path outside it, however the path is spelled (`..`, absolute, or through a symlink).
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { workerData } from 'node:worker_threads';
import { NodeFailure } from '../node-contract.js';

let testOverride: string | undefined;

/** Points the file nodes at another data folder (tests run nodes in-process, without workerData). */
export function setDataDirForTests(dir: string | undefined): void {
  testOverride = dir;
}

/** The absolute data folder: the test override, else `workerData.dataDir`, else the working directory. */
export function dataDir(): string {
  const configured = (workerData as { dataDir?: unknown } | null)?.dataDir;
  return path.resolve(testOverride ?? (typeof configured === 'string' ? configured : process.cwd()));
}

/**
 * Resolves `given` (relative to the data folder, or absolute) to the real path of an existing file
 * inside the data folder. Fails `path_outside_data_dir` or `file_not_found`, neither retryable.
 */
export async function resolveDataFile(given: string): Promise<string> {
  if (given.includes('\0')) throw new NodeFailure('invalid_input', 'a file path may not contain a NUL character', false);
  const root = dataDir();
  const candidate = path.resolve(root, given);
  // Checked before touching the file system, so probing outside the folder learns nothing.
  assertInside(root, candidate, given);
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([realpath(candidate), realpath(root)]);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NodeFailure('file_not_found', `no file "${given}" in the data folder`, false);
    throw err;
  }
  assertInside(realRoot, real, given);
  return real;
}

/** Throws `path_outside_data_dir` unless `target` is `root` or below it. */
export function assertInside(root: string, target: string, given: string): void {
  const relative = path.relative(root, target);
  if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
    throw new NodeFailure('path_outside_data_dir', `path "${given}" is outside the data folder`, false);
  }
}
