// `tav check-stuck`: which executions say `running` while nothing is running them, and how to repair
// them. An execution is carried by its event's lease; it is stuck when that lease is not live:
// the event is not `processing` (finished, pending or gone), or the lease's owner is a process of this
// host that no longer exists, or (for an owner elsewhere) the lease has expired. A lease held by a
// live local daemon is live even past its expiry: long runs outlast the lease, and nothing renews it.
import { hostname } from 'node:os';
import type { Clock } from '../domain/clock.js';
import type { RunningExecutionRow, StuckRepair } from '../store/sqlite/stuck-sql.js';

/** A stuck execution, why, and the repair `--fix` applies. */
export interface StuckExecution {
  row: RunningExecutionRow;
  reason: string;
  repair: StuckRepair;
}

/** True when the process exists (EPERM: it exists, owned by someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether a lease owner (`host:pid`, as the dispatcher writes it) is alive; null when it is on another host. */
export function leaseOwnerAlive(owner: string | null, thisHost = hostname()): boolean | null {
  if (!owner) return false;
  const separator = owner.lastIndexOf(':');
  const pid = Number(owner.slice(separator + 1));
  if (separator < 0 || !Number.isInteger(pid) || pid <= 0) return null;
  if (owner.slice(0, separator) !== thisHost) return null;
  return isProcessAlive(pid);
}

/** The stuck ones among the running executions; `failAll` repairs every one by failing it. */
export function findStuck(rows: RunningExecutionRow[], clock: Clock, options: { failAll: boolean }): StuckExecution[] {
  const now = clock.now();
  const stuck: StuckExecution[] = [];
  for (const row of rows) {
    const found = diagnose(row, now);
    if (found) stuck.push({ row, reason: found.reason, repair: options.failAll ? 'fail' : found.repair });
  }
  return stuck;
}

function diagnose(row: RunningExecutionRow, nowMs: number): { reason: string; repair: StuckRepair } | null {
  if (row.eventId === null || row.eventStatus === null) return { reason: 'no event carries it', repair: 'fail' };
  // Waiting for a person (email approval): that flow owns both rows until the answer or the expiry.
  if (row.eventStatus === 'paused') return null;
  if (row.eventStatus === 'pending') return { reason: 'its event is waiting in the queue', repair: 'reset_execution' };
  if (row.eventStatus !== 'processing') return { reason: `its event is ${row.eventStatus}`, repair: 'fail' };
  const alive = leaseOwnerAlive(row.leaseOwner);
  if (alive === true) return null;
  if (alive === false) return { reason: `the lease owner ${row.leaseOwner ?? '(none)'} is not running`, repair: 'requeue' };
  if (row.leaseExpiresAt !== null && row.leaseExpiresAt > nowMs) return null;
  return { reason: `the lease of ${row.leaseOwner} expired`, repair: 'requeue' };
}
