// Copies of the database file and the checks a copy must pass before anyone relies on it.
//
// We copy with VACUUM INTO rather than better-sqlite3's db.backup() (the online backup API): the
// backup API copies in steps, and any write by another connection between two steps restarts it from
// the first page, so under a busy daemon it may never finish; copying in one step instead holds the
// main thread for the whole copy. VACUUM INTO is one read transaction: in WAL mode a reader never
// blocks the daemon's writer, the snapshot is consistent (every commit before it began, none after),
// and the copy comes out compacted. The caller runs it off the main thread (backup-thread.ts).
import fs from 'node:fs';
import Database from 'better-sqlite3';

/** What a database file holds, as far as a backup or a restore cares. */
export interface DatabaseFileCheck {
  /** ['ok'], or the problems integrity_check reported, or why the file could not be read at all. */
  integrity: string[];
  /** Names recorded in knex_migrations, oldest first; null when the file has no such table. */
  migrations: string[] | null;
}

/** Writes a consistent copy of `sourcePath` to `targetPath` (which must not exist) and checks the copy. */
export function copyAndCheck(sourcePath: string, targetPath: string): DatabaseFileCheck {
  const source = new Database(sourcePath, { readonly: true, fileMustExist: true });
  try {
    // The daemon may checkpoint at this moment; wait for it rather than fail.
    source.pragma('busy_timeout = 10000');
    source.prepare('VACUUM INTO ?').run(targetPath);
  } finally {
    source.close();
  }
  return checkDatabaseFile(targetPath);
}

/** Runs integrity_check on a file and reads its applied migrations; never throws for a bad file. */
export function checkDatabaseFile(filePath: string): DatabaseFileCheck {
  let db: Database.Database;
  try {
    db = new Database(filePath, { readonly: true, fileMustExist: true });
  } catch (error) {
    return { integrity: [`cannot open: ${(error as Error).message}`], migrations: null };
  }
  try {
    db.pragma('busy_timeout = 10000');
    const integrity = (db.prepare('PRAGMA integrity_check').all() as Array<{ integrity_check: string }>).map((row) => row.integrity_check);
    return { integrity, migrations: integrity.length === 1 && integrity[0] === 'ok' ? readMigrationNames(db) : null };
  } catch (error) {
    return { integrity: [(error as Error).message], migrations: null };
  } finally {
    db.close();
  }
}

/** The migrations knex recorded as applied, oldest first; null without a knex_migrations table. */
export function readMigrationNames(db: Database.Database): string[] | null {
  const table = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get('knex_migrations');
  if (!table) return null;
  return (db.prepare('SELECT name FROM knex_migrations ORDER BY id').all() as Array<{ name: string }>).map((row) => row.name);
}

/**
 * Folds a database's WAL into its main file and removes the WAL, so the main file alone is the whole
 * database (before it is moved aside). Needs that no other process has the file open.
 */
export function settleWal(dbPath: string): void {
  if (!fs.existsSync(dbPath)) return;
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    // The last connection to close a WAL database checkpoints it and deletes the -wal and -shm files.
    db.close();
  }
}
