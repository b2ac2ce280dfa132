// One PostgreSQL drain's fleet from birth to cleanup: a fresh schema with the settings and preloaded
// rows, `daemonCount` daemons started together on it (each with its own data folder; they migrate
// under an advisory lock, so starting at once is what a fleet does), the scenario run, peak RSS and
// CPU read, the daemons stopped, the folders removed and the schema dropped. Unlike the SQLite
// session nothing is kept on problems: the schema lives in a shared database, and the run's problems
// are printed.
import fs from 'node:fs';
import type { Knex } from 'knex';
import { startBenchDaemon, type BenchDaemon } from './daemon-process.js';
import { makeBenchDataDir, type SessionOutcome } from './daemon-session.js';
import { FleetCpuMeter } from './fleet-cpu.js';
import { createBenchSchema } from './pg-bench-schema.js';
import { preloadPgWorkflowAndEvents } from './pg-preload.js';
import type { BenchWorkflow } from './workflows.js';

/** What a fleet scenario body gets. */
export interface FleetSession {
  daemons: BenchDaemon[];
  /** The benchmark's own pool on the schema. */
  db: Knex;
  workflowIds: string[];
}

/** A session's outcome; peakRssMb is the largest daemon's, daemonCores the fleet's sum. */
export interface FleetOutcome<T> extends SessionOutcome<T> {
  postgresCores: number;
  /** Each daemon's VmHWM, MiB, in start order. */
  peakRssPerDaemonMb: number[];
}

/** Runs `body` against `daemonCount` fresh daemons sharing a schema preloaded as withDaemon preloads its file. */
export async function withPgFleet<T extends { problems: string[] }>(
  cliPath: string,
  label: string,
  workflow: BenchWorkflow,
  preloadEvents: number,
  workflowCount: number,
  daemonCount: number,
  body: (session: FleetSession) => Promise<T>,
): Promise<FleetOutcome<T>> {
  const schema = await createBenchSchema(label);
  const dataDirs = Array.from({ length: daemonCount }, (_, i) => makeBenchDataDir(`${label}-d${i + 1}`));
  try {
    const workflowIds = await preloadPgWorkflowAndEvents(schema.db, workflow, preloadEvents, workflowCount);
    const daemons = await startFleet(cliPath, dataDirs, schema.env);
    let measured: Omit<FleetOutcome<T>, 'daemonLines' | 'exitCode'>;
    const exitCodes: Array<number | null> = [];
    try {
      const cpu = new FleetCpuMeter(daemons.map((daemon) => daemon.pid));
      const result = await body({ daemons, db: schema.db, workflowIds });
      // Read before stopping: the high-water marks and the CPU counters die with the processes.
      const used = cpu.stop();
      const peakRssPerDaemonMb = daemons.map((daemon) => daemon.peakRssMb());
      measured = { result, peakRssMb: Math.max(...peakRssPerDaemonMb), peakRssPerDaemonMb, ...used };
    } finally {
      exitCodes.push(...(await Promise.all(daemons.map((daemon) => daemon.stop()))));
    }
    // Tagged by daemon, so a warning says which one said it.
    const daemonLines = daemons.flatMap((daemon, i) => daemon.output().split('\n').filter((line) => line.trim() !== '').map((line) => `[d${i + 1}] ${line}`));
    // The first daemon that did not exit cleanly speaks for the fleet (null: killed by a signal).
    const unclean = exitCodes.filter((code) => code !== 0);
    return { ...measured, daemonLines, exitCode: unclean.length > 0 ? (unclean[0] as number | null) : 0 };
  } finally {
    for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
    await schema.drop();
  }
}

// All at once; if one fails to come up, the others are stopped before the error is passed on.
async function startFleet(cliPath: string, dataDirs: string[], env: Record<string, string>): Promise<BenchDaemon[]> {
  const started = await Promise.allSettled(dataDirs.map((dir) => startBenchDaemon(cliPath, dir, env)));
  const daemons = started.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const failed = started.find((outcome) => outcome.status === 'rejected');
  if (failed) {
    await Promise.all(daemons.map((daemon) => daemon.stop()));
    throw failed.reason;
  }
  return daemons;
}
