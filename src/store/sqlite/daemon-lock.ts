// One daemon per SQLite file: a lock file beside the database names the owning process. A lock
// left by a process that died (SIGKILL, power loss) is taken over; a live owner is refused.
import fs from 'node:fs';

/** Thrown when another live daemon holds the database. */
export class DatabaseLockedError extends Error {
  constructor(
    readonly lockPath: string,
    readonly ownerPid: number,
  ) {
    super(`another daemon (pid ${ownerPid}) is using this database (lock file ${lockPath})`);
    this.name = 'DatabaseLockedError';
  }
}

/** The lock file path for a database. */
export function lockPathFor(dbPath: string): string {
  return `${dbPath}.lock`;
}

/** The pid of the live daemon holding the database, or null. */
export function lockOwner(dbPath: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(lockPathFor(dbPath), 'utf8');
  } catch {
    return null;
  }
  const pid = Number.parseInt(text, 10);
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid) ? pid : null;
}

/** Takes the lock for this process; returns the function that releases it. */
export function acquireDaemonLock(dbPath: string): () => void {
  const lockPath = lockPathFor(dbPath);
  const owner = lockOwner(dbPath);
  if (owner !== null) throw new DatabaseLockedError(lockPath, owner);
  fs.writeFileSync(lockPath, `${process.pid}\n`, { mode: 0o644 });
  return () => {
    try {
      if (fs.readFileSync(lockPath, 'utf8').trim() === String(process.pid)) fs.unlinkSync(lockPath);
    } catch {
      // Already gone: nothing to release.
    }
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
