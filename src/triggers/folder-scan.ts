// One look at a watched folder: the regular files whose path matches the pattern, with size and
// mtime. Symlinks are not followed (a link loop must not hang a recursive scan) and a file that
// vanishes between listing and stat is simply not there this time.
import fs from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';

/** A file seen by a scan. */
export interface ScannedFile {
  /** Absolute path. */
  path: string;
  /** Path below the watch folder, `/`-separated. */
  relativePath: string;
  name: string;
  size: number;
  mtimeMs: number;
}

/** What to look at. */
export interface ScanOptions {
  recursive: boolean;
  /** Glob; without a `/` it is matched against the file name, with one against the relative path. */
  pattern: string;
  /** A folder never descended into (the processed folder, should it sit below the watch folder). */
  skipFolder?: string;
  /** Told about a sub-folder that could not be read; the scan goes on without it. */
  onFolderError?: (folder: string, err: unknown) => void;
}

/** Builds the matcher once per poller: picomatch compiles the glob to a RegExp. */
export function compilePattern(pattern: string): (relativePath: string) => boolean {
  return picomatch(pattern, { basename: true });
}

/**
 * Lists the matching files below `root`. Throws only when `root` itself cannot be read (missing,
 * not a folder, no permission), so the caller can tell "folder gone" from "one bad sub-folder".
 */
export async function scanFolder(root: string, options: ScanOptions, matches = compilePattern(options.pattern)): Promise<ScannedFile[]> {
  const found: ScannedFile[] = [];
  const pending: string[] = [''];
  while (pending.length > 0) {
    const relativeDir = pending.shift()!;
    let entries: fs.Dirent[];
    try {
      entries = await readdir(path.join(root, relativeDir), { withFileTypes: true });
    } catch (err) {
      handleFolderError(root, relativeDir, err, options);
      continue;
    }
    const files = collectEntries(root, relativeDir, entries, options, matches, pending);
    const stated = await Promise.all(files.map(async (file) => withStats(file, await stat(file.path).catch(() => null))));
    for (const file of stated) if (file) found.push(file);
  }
  return found;
}

/**
 * The same listing, synchronously: taken once when a watch starts with ignore_existing, so "already
 * there" means exactly "there when start() returned" and a file dropped right after is new.
 */
export function scanFolderSync(root: string, options: ScanOptions, matches = compilePattern(options.pattern)): ScannedFile[] {
  const found: ScannedFile[] = [];
  const pending: string[] = [''];
  while (pending.length > 0) {
    const relativeDir = pending.shift()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(root, relativeDir), { withFileTypes: true });
    } catch (err) {
      handleFolderError(root, relativeDir, err, options);
      continue;
    }
    for (const file of collectEntries(root, relativeDir, entries, options, matches, pending)) {
      const stated = withStats(file, statQuietlySync(file.path));
      if (stated) found.push(stated);
    }
  }
  return found;
}

type Unstated = Omit<ScannedFile, 'size' | 'mtimeMs'>;

/** Rethrows a failure to read the root; a sub-folder's is told to onFolderError (vanished ones are not). */
function handleFolderError(root: string, relativeDir: string, err: unknown, options: ScanOptions): void {
  if (relativeDir === '') throw err;
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') options.onFolderError?.(path.join(root, relativeDir), err);
}

/** Queues sub-folders to descend into (when recursive) and returns the matching regular files. */
function collectEntries(root: string, relativeDir: string, entries: fs.Dirent[], options: ScanOptions, matches: (relativePath: string) => boolean, pending: string[]): Unstated[] {
  const files: Unstated[] = [];
  for (const entry of entries) {
    const relativePath = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
    const absolute = path.join(root, relativePath);
    if (entry.isDirectory()) {
      if (options.recursive && absolute !== options.skipFolder) pending.push(relativePath);
    } else if (entry.isFile() && matches(relativePath)) {
      files.push({ path: absolute, relativePath, name: entry.name });
    }
  }
  return files;
}

function statQuietlySync(filePath: string): fs.Stats | null {
  try {
    return fs.statSync(filePath);
  } catch {
    return null;
  }
}

/** Adds size and mtime; null when the file was removed or replaced by something else since the listing. */
function withStats(file: Unstated, stats: fs.Stats | null): ScannedFile | null {
  return stats?.isFile() ? { ...file, size: stats.size, mtimeMs: stats.mtimeMs } : null;
}
