// Moving a fired file to the processed folder without ever overwriting one already there: the
// first free name of `report.csv`, `report (1).csv`, … `report (99).csv`, then a timestamped name.
// Synchronous on purpose: the move runs in the same turn as the emit's resolution, so it is done
// before the dispatcher can claim the new event and a node can look for the file.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const numberedNames = 99;

/** The names tried for `name` in order; the last ones cannot realistically collide. */
export function* candidateNames(name: string, nowMs: number): Generator<string> {
  const extension = path.extname(name);
  const stem = name.slice(0, name.length - extension.length);
  yield name;
  for (let n = 1; n <= numberedNames; n++) yield `${stem} (${n})${extension}`;
  const stamp = new Date(nowMs).toISOString().replace(/[:.]/g, '-');
  yield `${stem} (${stamp})${extension}`;
  for (;;) yield `${stem} (${stamp}-${randomBytes(4).toString('hex')})${extension}`;
}

/** The path a file named `name` would get in `folder` now (the first free candidate). */
export function planDestination(folder: string, name: string, nowMs: number): string {
  for (const candidate of candidateNames(name, nowMs)) {
    const target = path.join(folder, candidate);
    if (!fs.existsSync(target)) return target;
  }
  throw new Error('unreachable: candidate names are endless');
}

/**
 * Moves `source` into `folder` (created if missing) as `preferred` (the planned path) or, if that
 * was taken meanwhile, the first free candidate for `name`. Never overwrites: a hard link fails on
 * an existing name (EEXIST), and the copy fallback (another file system, links unsupported) uses
 * COPYFILE_EXCL. Returns the path the file now has.
 */
export function moveWithoutOverwrite(source: string, folder: string, name: string, nowMs: number, preferred?: string): string {
  fs.mkdirSync(folder, { recursive: true });
  const targets = function* () {
    if (preferred !== undefined) yield preferred;
    for (const candidate of candidateNames(name, nowMs)) yield path.join(folder, candidate);
  };
  for (const target of targets()) {
    if (placeAt(source, target)) {
      fs.unlinkSync(source);
      return target;
    }
  }
  throw new Error('unreachable: candidate names are endless');
}

/** Puts a copy of `source` at `target` unless the name is taken; false when it is. */
function placeAt(source: string, target: string): boolean {
  try {
    fs.linkSync(source, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
  }
  try {
    fs.copyFileSync(source, target, fs.constants.COPYFILE_EXCL);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}
