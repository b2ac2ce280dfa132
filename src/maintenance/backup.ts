// One backup: a consistent copy written under a partial name, checked, renamed, then the folder
// pruned to the newest N. Shared by `tav backup`, POST /api/v1/admin/backup and the schedule.
import fs from 'node:fs';
import path from 'node:path';
import type { Clock } from '../domain/clock.js';
import { isoAt } from '../domain/clock.js';
import { AppError } from '../errors.js';
import type { DatabaseFileCheck } from '../store/sqlite/backup-sql.js';
import { chooseBackupName, partialSuffix, pruneBackups, removeStalePartials } from './backup-files.js';

/** Writes a consistent copy of a database to a path and checks it (in-line or on a worker thread). */
export type CopyDatabase = (sourcePath: string, targetPath: string) => DatabaseFileCheck | Promise<DatabaseFileCheck>;

/** What a backup needs. */
export interface BackupRequest {
  dbPath: string;
  destDir: string;
  /** How many of our backups to keep in destDir, this one included. */
  keep: number;
  clock: Clock;
  copy: CopyDatabase;
}

/** A finished backup. */
export interface BackupResult {
  path: string;
  file: string;
  sizeBytes: number;
  createdAt: string;
  pruned: string[];
}

// A partial copy this old is from a backup that died; a live one is never this slow.
const stalePartialMs = 6 * 3_600_000;

/** Takes a backup; throws AppError `backup_failed` (and leaves no file) when the copy is not sound. */
export async function takeBackup(request: BackupRequest): Promise<BackupResult> {
  if (!fs.existsSync(request.dbPath)) throw new AppError('no_database', `no database at ${request.dbPath}`, { status: 404 });
  fs.mkdirSync(request.destDir, { recursive: true });
  const nowMs = request.clock.now();
  removeStalePartials(request.destDir, nowMs, stalePartialMs);
  const file = chooseBackupName(request.destDir, nowMs);
  const finalPath = path.join(request.destDir, file);
  const partialPath = finalPath + partialSuffix;
  let check: DatabaseFileCheck;
  try {
    check = await request.copy(request.dbPath, partialPath);
  } catch (error) {
    fs.rmSync(partialPath, { force: true });
    throw new AppError('backup_failed', `the copy could not be written: ${(error as Error).message}`, { status: 500, expose: true, cause: error });
  }
  if (check.integrity.length !== 1 || check.integrity[0] !== 'ok') {
    fs.rmSync(partialPath, { force: true });
    throw new AppError('backup_failed', `the copy failed its integrity check: ${check.integrity.slice(0, 5).join('; ')}`, { status: 500, expose: true });
  }
  // SQLite does not fsync the output of VACUUM INTO: flush it before the name says it is complete.
  syncFile(partialPath);
  fs.renameSync(partialPath, finalPath);
  syncFile(request.destDir);
  return { path: finalPath, file, sizeBytes: fs.statSync(finalPath).size, createdAt: isoAt(nowMs), pruned: pruneBackups(request.destDir, request.keep) };
}

/** Flushes a file, or a directory (so a rename in it survives a power loss). */
export function syncFile(filePath: string): void {
  const fd = fs.openSync(filePath, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
