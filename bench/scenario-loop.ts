// Repeats a scenario and prints each run. The machine is shared, so a run starts only once other
// processes are quiet, and a run during which they took a noticeable share of the 2 cores is
// printed, then repeated (a bounded number of times) instead of counted.
import { waitForQuietMachine } from './cpu-usage.js';
import type { BenchOptions } from './options.js';
import type { RunRecord, Scenario } from './scenarios.js';

// Other processes may use this much CPU before and during a run before we wait or repeat.
const quietMaxCores = 0.2;
const busyMaxCores = 0.25;
// Bounded so a full run on a busy machine still ends in about ten minutes.
const quietTimeoutMs = 20_000;
const maxRepeatsPerScenario = 2;

/** A counted run; `busy` when it had to be kept although other processes used the CPU. */
export interface CountedRun extends RunRecord {
  busy: boolean;
}

/** What a scenario's runs gave. */
export interface ScenarioOutcome {
  runs: CountedRun[];
  problems: string[];
}

const print = (text = '') => process.stdout.write(`${text}\n`);

/** Runs `scenario` until `options.runs` runs are counted; a run that throws is reported and counted as missing. */
export async function repeatScenario(scenario: Scenario, options: BenchOptions, cliPath: string): Promise<ScenarioOutcome> {
  print(`== ${scenario.name}: ${scenario.title(options)}`);
  const runs: CountedRun[] = [];
  const problems: string[] = [];
  let repeats = 0;
  for (let i = 1; i <= options.runs; ) {
    await waitQuiet(i);
    try {
      const run = await scenario.runOnce(options, cliPath);
      printRun(i, run);
      problems.push(...run.problems.map((problem) => `${scenario.name} run ${i}: ${problem}`));
      if (run.exitCode !== 0) problems.push(`${scenario.name} run ${i}: daemon exited with ${run.exitCode}`);
      const busy = run.foreignCores > busyMaxCores;
      if (busy && repeats < maxRepeatsPerScenario) {
        repeats += 1;
        print(`  run ${i}: not counted, other processes used the CPU; repeating`);
        continue;
      }
      runs.push({ ...run, busy });
    } catch (error) {
      print(`  run ${i}: FAILED: ${(error as Error).message}`);
      problems.push(`${scenario.name} run ${i}: ${(error as Error).message.split('\n')[0]}`);
    }
    i += 1;
  }
  print();
  return { runs, problems };
}

async function waitQuiet(i: number): Promise<void> {
  const quiet = await waitForQuietMachine(quietMaxCores, quietTimeoutMs);
  if (!quiet.quiet) print(`  run ${i}: machine still busy after ${(quiet.waitedMs / 1000).toFixed(0)} s (other processes use ${quiet.foreignCores.toFixed(2)} cores); measuring anyway`);
  else if (quiet.waitedMs > 1_500) print(`  run ${i}: waited ${(quiet.waitedMs / 1000).toFixed(0)} s for other processes to go quiet`);
}

function printRun(i: number, run: RunRecord): void {
  print(`  run ${i}: ${run.line}; peak RSS ${run.peakRssMb.toFixed(1)} MB; CPU during the run: daemon ${run.daemonCores.toFixed(2)} cores, other processes ${run.foreignCores.toFixed(2)} cores; daemon exit ${run.exitCode}`);
  for (const line of run.daemonLines.slice(0, 5)) print(`    daemon said: ${line.slice(0, 300)}`);
  if (run.daemonLines.length > 5) print(`    … ${run.daemonLines.length - 5} more daemon lines`);
}
