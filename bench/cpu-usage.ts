// CPU bookkeeping from /proc, to tell whether a figure was measured on a quiet machine: the
// benchmark shares 2 cores with everything else, and another process's load would show up as a
// slower daemon. "Foreign" CPU is all busy CPU minus this process and the daemon (threads included).
import fs from 'node:fs';

/** Busy CPU ticks of the whole machine and of the processes we own, at one instant. */
export interface CpuSnapshot {
  atMs: number;
  machineBusyTicks: number;
  ownTicks: number;
}

// USER_HZ: /proc reports CPU time in 1/100 s on every Linux build Node supports.
const ticksPerSecond = 100;

/** Reads the machine's busy ticks and the ticks used by this process and `pids`. */
export function snapshotCpu(pids: number[] = []): CpuSnapshot {
  const fields = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
  const machineBusyTicks = fields[0]! + fields[1]! + fields[2]! + fields[5]! + fields[6]! + (fields[7] ?? 0);
  let ownTicks = processTicks(process.pid);
  for (const pid of pids) ownTicks += processTicks(pid);
  return { atMs: Date.now(), machineBusyTicks, ownTicks };
}

/** Cores' worth of CPU that `ticks` of CPU time over `ms` of wall time amount to. */
export function ticksToCores(ticks: number, ms: number): number {
  return ms <= 0 ? 0 : ticks / ticksPerSecond / (ms / 1000);
}

/** Cores' worth of CPU that other processes used between two snapshots. */
export function foreignCores(before: CpuSnapshot, after: CpuSnapshot): number {
  const seconds = (after.atMs - before.atMs) / 1000;
  if (seconds <= 0) return 0;
  const foreignTicks = after.machineBusyTicks - before.machineBusyTicks - (after.ownTicks - before.ownTicks);
  return Math.max(0, foreignTicks / ticksPerSecond / seconds);
}

/**
 * Waits until other processes use less than `maxCores` over a 1 s sample, for at most `timeoutMs`.
 * Returns the last sample, so the caller can say the machine was busy when it gave up.
 */
export async function waitForQuietMachine(maxCores: number, timeoutMs: number): Promise<{ quiet: boolean; foreignCores: number; waitedMs: number }> {
  const start = Date.now();
  for (;;) {
    const before = snapshotCpu();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const foreign = foreignCores(before, snapshotCpu());
    const waitedMs = Date.now() - start;
    if (foreign < maxCores || waitedMs >= timeoutMs) return { quiet: foreign < maxCores, foreignCores: foreign, waitedMs };
  }
}

/** CPU ticks (user + system, all threads) a process has used so far; 0 once it has exited. */
export function processTicks(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0; // The process has exited; its time no longer counts anywhere.
  }
}
