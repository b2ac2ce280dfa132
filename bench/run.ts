// `npm run bench [-- --quick] [-- --only drain1|drain5|http|ingest|latency|pg-drain1|pg-drain3]`: runs
// each scenario against a fresh daemon (fresh daemons on a fresh schema, on PostgreSQL), prints every
// run as it finishes and a summary against the issue's targets.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchSettings } from './bench-settings.js';
import { benchEnv } from './daemon-process.js';
import { snapshotDaemon, type DaemonSnapshot } from './daemon-snapshot.js';
import { parseOptions, type BenchOptions } from './options.js';
import { formatSummary, type SummaryRow } from './report.js';
import { repeatScenario } from './scenario-loop.js';
import { scenarios } from './scenarios.js';

const peakRssTarget = { op: '<=', value: 250 } as const;

const print = (text = '') => process.stdout.write(`${text}\n`);

function printSetup(options: BenchOptions, snapshot: DaemonSnapshot): void {
  print(`TAV Engine benchmark${options.quick ? ' (--quick)' : ''}: ${options.runs} run(s) per scenario, median reported`);
  print(`node ${process.version}, ${os.availableParallelism()} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`);
  print(`daemon env: ${Object.entries(benchEnv).map(([k, v]) => `${k}=${v}`).join(' ')} (TAV_WORKERS unset = ${os.availableParallelism()} worker threads, other TAV_* at defaults)`);
  print(`settings: ${JSON.stringify(benchSettings)}`);
  print(`code: ${describeCheckout()}; daemon build ${snapshot.fingerprint}, copied at start so a rebuild of dist/ during the benchmark does not change it`);
  print();
}

// The daemon is built from the working tree, which may hold uncommitted work: say so next to the figures.
function describeCheckout(): string {
  const cwd = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src', 'workers', 'migrations'], { cwd, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return changed === 0 ? `commit ${head}, clean` : `commit ${head} + ${changed} uncommitted file(s) under src/ workers/ migrations/`;
  } catch {
    return 'not a git checkout';
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const snapshot = snapshotDaemon();
  try {
    await runAll(options, snapshot);
  } finally {
    snapshot.remove();
  }
}

async function runAll(options: BenchOptions, snapshot: DaemonSnapshot): Promise<void> {
  printSetup(options, snapshot);
  const rows: SummaryRow[] = [];
  const rssRows: SummaryRow[] = [];
  const problems: string[] = [];
  for (const name of options.scenarios) {
    const scenario = scenarios[name];
    const outcome = await repeatScenario(scenario, options, snapshot.cliPath);
    problems.push(...outcome.problems);
    for (const spec of scenario.figures) {
      rows.push({ figure: spec.figure, runs: outcome.runs.map((run) => run.figures[spec.key]!), busy: outcome.runs.map((run) => run.busy), decimals: spec.decimals, target: spec.target });
    }
    rssRows.push({ figure: `peak RSS (VmHWM), ${name} (MB)`, runs: outcome.runs.map((run) => run.peakRssMb), busy: outcome.runs.map((run) => run.busy), decimals: 1, target: peakRssTarget });
  }
  print('== summary');
  print(formatSummary([...rows, ...rssRows]));
  print();
  print(problems.length === 0 ? 'no failed events, no lost events, no non-2xx answers' : `PROBLEMS:\n  ${problems.join('\n  ')}`);
  if (problems.length > 0) process.exitCode = 1;
}

await main();
