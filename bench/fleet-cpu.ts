// CPU bookkeeping of a PostgreSQL drain: besides the daemons, the local PostgreSQL server works for
// the run (its backends execute every claim and finish), so its processes are measured as part of
// the system under test, not as "other processes" that would make every run look disturbed. A
// server on another host is simply not seen; other clients' backends on the local one are counted as
// ours (a benchmark machine has none). Backends come and go, so ticks are kept per process:
// one that started during the run counts in full, one that exited during it is lost (counted foreign).
import fs from 'node:fs';
import { processTicks, snapshotCpu, ticksToCores, type CpuSnapshot } from './cpu-usage.js';

/** Cores' worth of CPU over one run, by whom. */
export interface FleetCpu {
  daemonCores: number;
  postgresCores: number;
  /** Everything else but this process: should be ~0. */
  foreignCores: number;
}

/** Measures from construction until `stop()`. */
export class FleetCpuMeter {
  private readonly machine: CpuSnapshot;
  private readonly daemons: Map<number, number>;
  private readonly postgres: Map<number, number>;

  constructor(private readonly daemonPids: number[]) {
    this.machine = snapshotCpu();
    this.daemons = ticksOf(daemonPids);
    this.postgres = ticksOf(postgresPids());
  }

  /** The CPU used since construction; call while the daemons still run (their counters die with them). */
  stop(): FleetCpu {
    const machine = snapshotCpu();
    const daemonTicks = ticksSince(this.daemons, ticksOf(this.daemonPids));
    const postgresTicks = ticksSince(this.postgres, ticksOf(postgresPids()));
    const ms = machine.atMs - this.machine.atMs;
    const othersTicks = machine.machineBusyTicks - this.machine.machineBusyTicks - (machine.ownTicks - this.machine.ownTicks) - daemonTicks - postgresTicks;
    return { daemonCores: ticksToCores(daemonTicks, ms), postgresCores: ticksToCores(postgresTicks, ms), foreignCores: Math.max(0, ticksToCores(othersTicks, ms)) };
  }
}

/** The processes of a PostgreSQL server on this machine (postmaster, backends, background workers). */
function postgresPids(): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') pids.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return pids;
}

function ticksOf(pids: number[]): Map<number, number> {
  return new Map(pids.map((pid) => [pid, processTicks(pid)]));
}

// Per process, so a process that appeared or vanished in between does not count another's ticks.
function ticksSince(before: Map<number, number>, after: Map<number, number>): number {
  let ticks = 0;
  for (const [pid, now] of after) ticks += Math.max(0, now - (before.get(pid) ?? 0));
  return ticks;
}
