// The PostgreSQL drains: the SQLite drain1's 1-node workflow, dealt over the same copies, drained by
// one daemon (pg-drain1) or by three sharing one schema (pg-drain3). No target: the issue sets none
// for PostgreSQL, the figures are there to compare one daemon with three (and with SQLite).
import type { BenchOptions } from './options.js';
import { describePgServer } from './pg-bench-schema.js';
import { runPgDrain } from './pg-drain.js';
import type { RunRecord, Scenario } from './scenarios.js';
import { oneNodeWorkflow } from './workflows.js';

// As for the SQLite drains (see scenarios.ts): four copies, so the per-workflow cap of 50 is not what is measured.
const drainWorkflows = 4;

function pgDrainScenario(name: 'pg-drain1' | 'pg-drain3', daemonCount: number): Scenario {
  const daemons = daemonCount === 1 ? '1 daemon' : `${daemonCount} daemons started together`;
  return {
    name,
    title: (o) =>
      `drain on PostgreSQL (${describePgServer()}, a fresh schema per run): ${o.pgDrainEvents.toLocaleString('en-US')} pre-enqueued events over ${drainWorkflows} copies of a 1-node workflow (text_input), ${daemons}; window first claim → last finished_at; no target: compare 1 vs 3 daemons`,
    figures: [{ key: 'perSecond', figure: `drain on PostgreSQL, ${daemonCount === 1 ? '1 daemon' : `${daemonCount} daemons`}, 1-node workflow (events/s)`, decimals: 0, target: null }],
    runOnce: async (o: BenchOptions, cli: string): Promise<RunRecord> => {
      const outcome = await runPgDrain(cli, name, oneNodeWorkflow(), o.pgDrainEvents, drainWorkflows, daemonCount);
      const r = outcome.result;
      const shares = daemonCount > 1 ? ` (by daemon: ${r.completedPerDaemon.join(' / ')})` : '';
      const line =
        `${r.completed} completed${shares}, ${r.failed} failed in ${r.windowMs.toFixed(0)} ms → ${r.perSecond.toFixed(0)} events/s; ` +
        `PostgreSQL server ${outcome.postgresCores.toFixed(2)} cores` +
        (daemonCount > 1 ? `; peak RSS by daemon ${outcome.peakRssPerDaemonMb.map((mb) => mb.toFixed(1)).join(' / ')} MB (largest reported)` : '');
      return {
        line,
        figures: { perSecond: r.perSecond },
        peakRssMb: outcome.peakRssMb,
        problems: r.problems,
        daemonLines: outcome.daemonLines,
        exitCode: outcome.exitCode,
        foreignCores: outcome.foreignCores,
        daemonCores: outcome.daemonCores,
      };
    },
  };
}

/** One daemon on PostgreSQL. */
export const pgDrain1 = pgDrainScenario('pg-drain1', 1);

/** Three daemons on one PostgreSQL schema. */
export const pgDrain3 = pgDrainScenario('pg-drain3', 3);
