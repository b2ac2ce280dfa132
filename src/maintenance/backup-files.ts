// The backup folder: how backups are named, which files are ours, and pruning to the newest N.
// Only names we write are ever listed or deleted: `tav_engine-20261127T213000Z.db`, with `-2`, `-3`…
// when two backups fall in the same second.
import fs from 'node:fs';
import path from 'node:path';

/** Our backup file names: timestamp (UTC, to the second) and an optional same-second sequence. */
const backupNamePattern = /^tav_engine-(\d{8}T\d{6}Z)(?:-(\d+))?\.db$/;

/** Suffix of a copy being written; renamed to its final name only after it passed its check. */
export const partialSuffix = '.partial';

/** A backup file in the folder. */
export interface BackupFile {
  name: string;
  path: string;
  /** Epoch ms of the timestamp in its name. */
  takenAtMs: number;
  sequence: number;
}

/** `$TAV_DATA_DIR/backups`: where backups go unless told otherwise. */
export function defaultBackupDir(dataDir: string): string {
  return path.join(dataDir, 'backups');
}

/** A free backup name in `dir` for a backup taken at `nowMs`. */
export function chooseBackupName(dir: string, nowMs: number): string {
  const stamp = new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  for (let sequence = 1; ; sequence += 1) {
    const name = sequence === 1 ? `tav_engine-${stamp}.db` : `tav_engine-${stamp}-${sequence}.db`;
    if (!fs.existsSync(path.join(dir, name)) && !fs.existsSync(path.join(dir, name + partialSuffix))) return name;
  }
}

/** Our backups in `dir`, newest first; other files are not ours and are left out. */
export function listBackups(dir: string): BackupFile[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const backups: BackupFile[] = [];
  for (const name of names) {
    const match = backupNamePattern.exec(name);
    if (!match) continue;
    const stamp = match[1]!;
    const iso = `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`;
    backups.push({ name, path: path.join(dir, name), takenAtMs: Date.parse(iso), sequence: Number(match[2] ?? 1) });
  }
  return backups.sort((a, b) => b.takenAtMs - a.takenAtMs || b.sequence - a.sequence);
}

/** Deletes all but the newest `keep` of our backups in `dir`; returns the names removed. */
export function pruneBackups(dir: string, keep: number): string[] {
  const removed: string[] = [];
  for (const backup of listBackups(dir).slice(keep)) {
    fs.rmSync(backup.path, { force: true });
    removed.push(backup.name);
  }
  return removed;
}

/** Removes partial copies older than `maxAgeMs` left by a backup that was killed mid-way. */
export function removeStalePartials(dir: string, nowMs: number, maxAgeMs: number): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.endsWith(partialSuffix) || !backupNamePattern.test(name.slice(0, -partialSuffix.length))) continue;
    const file = path.join(dir, name);
    if (nowMs - fs.statSync(file).mtimeMs > maxAgeMs) fs.rmSync(file, { force: true });
  }
}
