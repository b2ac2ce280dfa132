// One scenario's daemon from birth to cleanup: fresh temp data folder, settings and preloaded rows
// written before start, the daemon started, the scenario run, peak RSS read, the daemon stopped and
// the folder removed. A scenario that failed or found problems keeps its folder for inspection.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareDatabase } from '../test/helpers/daemon.js';
import { benchSettings } from './bench-settings.js';
import { foreignCores, processTicks, snapshotCpu, ticksToCores } from './cpu-usage.js';
import { startBenchDaemon, type BenchDaemon } from './daemon-process.js';
import { preloadWorkflowAndEvents } from './preload.js';
import type { BenchWorkflow } from './workflows.js';

/** What a scenario body gets. */
export interface Session {
  daemon: BenchDaemon;
  /** The first of `workflowIds`. */
  workflowId: string;
  workflowIds: string[];
}

/** What a session reports besides the scenario's own result. */
export interface SessionOutcome<T> {
  result: T;
  /** VmHWM at the end of the scenario, MiB. */
  peakRssMb: number;
  /** Lines the daemon printed at warn/error level (none expected). */
  daemonLines: string[];
  exitCode: number | null;
  /** Cores' worth of CPU other processes used while the scenario ran (should be ~0). */
  foreignCores: number;
  /** Cores' worth of CPU the daemon used while the scenario ran (of 2). */
  daemonCores: number;
}

// Our own temp base rather than the test helpers' makeDataDir: test runs clean their folders up,
// and a benchmark's database must not vanish under it.
export function makeBenchDataDir(label: string): string {
  const base = path.join(os.tmpdir(), 'tav-bench');
  fs.mkdirSync(base, { recursive: true });
  return fs.mkdtempSync(path.join(base, `${label}-`));
}

/**
 * Runs `body` against a fresh daemon whose database holds `workflowCount` copies of `workflow` and
 * `preloadEvents` pending events dealt over them.
 */
export async function withDaemon<T extends { problems: string[] }>(
  cliPath: string,
  label: string,
  workflow: BenchWorkflow,
  preloadEvents: number,
  body: (session: Session) => Promise<T>,
  workflowCount = 1,
): Promise<SessionOutcome<T>> {
  const dataDir = makeBenchDataDir(label);
  let keep = true;
  try {
    await prepareDatabase(dataDir, benchSettings);
    const workflowIds = preloadWorkflowAndEvents(`${dataDir}/tav_engine.db`, workflow, preloadEvents, workflowCount);
    const daemon = await startBenchDaemon(cliPath, dataDir);
    let measured: { result: T; peakRssMb: number; foreignCores: number; daemonCores: number };
    let exitCode: number | null;
    try {
      const cpuBefore = snapshotCpu([daemon.pid]);
      const daemonTicksBefore = processTicks(daemon.pid);
      const result = await body({ daemon, workflowId: workflowIds[0]!, workflowIds });
      // Read before stopping: the high-water mark and the CPU counters die with the process.
      const cpuAfter = snapshotCpu([daemon.pid]);
      measured = {
        result,
        peakRssMb: daemon.peakRssMb(),
        foreignCores: foreignCores(cpuBefore, cpuAfter),
        daemonCores: ticksToCores(processTicks(daemon.pid) - daemonTicksBefore, cpuAfter.atMs - cpuBefore.atMs),
      };
    } finally {
      exitCode = await daemon.stop();
    }
    const daemonLines = daemon.output().split('\n').filter((line) => line.trim() !== '');
    keep = measured.result.problems.length > 0;
    return { ...measured, daemonLines, exitCode };
  } finally {
    if (keep) process.stdout.write(`  (data folder kept for inspection: ${dataDir})\n`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
