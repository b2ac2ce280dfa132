// `tav restore FILE`: replaces the database with a backup. Refused while a daemon holds the database
// (the lock is held for the whole swap, so none can start meanwhile); the file must pass its
// integrity check and carry only migrations we know. The replaced database is kept beside the new one.
import fs from 'node:fs';
import path from 'node:path';
import { migrations } from '../../migrations/index.js';
import type { Clock } from '../domain/clock.js';
import { acquireDaemonLock } from '../store/sqlite/daemon-lock.js';
import { checkDatabaseFile, copyAndCheck, settleWal } from '../store/sqlite/backup-sql.js';
import { syncFile } from './backup.js';

/** Why a restore was refused; `reason` names the check. */
export class RestoreRefused extends Error {
  constructor(
    readonly reason: 'missing' | 'same_file' | 'corrupt' | 'not_tav' | 'newer_schema',
    message: string,
  ) {
    super(message);
    this.name = 'RestoreRefused';
  }
}

/** A finished restore. */
export interface RestoreResult {
  restoredFrom: string;
  dbPath: string;
  /** Where the replaced database was moved, or null when there was none. */
  replacedPath: string | null;
  migrations: string[];
  /** Migrations the next start will apply to bring the restored database up to date. */
  pending: string[];
}

/** Checks a backup and swaps it in; throws DatabaseLockedError while a daemon runs, RestoreRefused for a bad file. */
export function restoreDatabase(options: { dbPath: string; sourcePath: string; clock: Clock }): RestoreResult {
  const sourcePath = path.resolve(options.sourcePath);
  if (!fs.existsSync(sourcePath) || !fs.statSync(sourcePath).isFile()) throw new RestoreRefused('missing', `no file at ${sourcePath}`);
  if (fs.existsSync(options.dbPath) && fs.realpathSync(sourcePath) === fs.realpathSync(options.dbPath)) {
    throw new RestoreRefused('same_file', 'that file is the database itself');
  }
  fs.mkdirSync(path.dirname(options.dbPath), { recursive: true });
  const releaseLock = acquireDaemonLock(options.dbPath);
  try {
    const applied = checkRestorable(sourcePath);
    const stamp = new Date(options.clock.now()).toISOString().replace(/[-:.]/g, '');
    const incoming = `${options.dbPath}.restoring-${stamp}`;
    // A fresh consistent copy, not a byte copy: a source with its own -wal beside it comes with it.
    const copied = copyAndCheck(sourcePath, incoming);
    if (copied.integrity[0] !== 'ok') {
      fs.rmSync(incoming, { force: true });
      throw new RestoreRefused('corrupt', `the copy of ${sourcePath} failed its integrity check: ${copied.integrity.join('; ')}`);
    }
    syncFile(incoming);
    const replacedPath = moveAside(options.dbPath, stamp);
    fs.renameSync(incoming, options.dbPath);
    syncFile(path.dirname(options.dbPath));
    const known = migrations.map((migration) => migration.name);
    return { restoredFrom: sourcePath, dbPath: options.dbPath, replacedPath, migrations: applied, pending: known.filter((name) => !applied.includes(name)) };
  } finally {
    releaseLock();
  }
}

/** The file's applied migrations, once it is known sound and not from a newer TAV. */
function checkRestorable(sourcePath: string): string[] {
  const check = checkDatabaseFile(sourcePath);
  if (check.integrity.length !== 1 || check.integrity[0] !== 'ok') {
    throw new RestoreRefused('corrupt', `${sourcePath} failed its integrity check: ${check.integrity.slice(0, 5).join('; ')}`);
  }
  if (check.migrations === null || check.migrations.length === 0) throw new RestoreRefused('not_tav', `${sourcePath} is not a TAV Engine database (no applied migrations)`);
  const known = new Set(migrations.map((migration) => migration.name));
  const unknown = check.migrations.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new RestoreRefused('newer_schema', `${sourcePath} has migrations this version does not know (${unknown.join(', ')}): it comes from a newer TAV Engine`);
  }
  return check.migrations;
}

/**
 * Moves the current database to `<db>.replaced-<stamp>`. Its WAL is folded in first so the kept file
 * is whole; if that fails (a damaged file), the -wal travels with it under the matching name.
 */
function moveAside(dbPath: string, stamp: string): string | null {
  if (!fs.existsSync(dbPath)) return null;
  const replacedPath = `${dbPath}.replaced-${stamp}`;
  try {
    settleWal(dbPath);
  } catch {
    // Kept as it is: the -wal is moved below, so nothing it holds is lost.
  }
  fs.renameSync(dbPath, replacedPath);
  if (fs.existsSync(`${dbPath}-wal`)) fs.renameSync(`${dbPath}-wal`, `${replacedPath}-wal`);
  // The shared-memory index is rebuilt from the WAL on open; a stale one must not meet the new file.
  fs.rmSync(`${dbPath}-shm`, { force: true });
  return replacedPath;
}
