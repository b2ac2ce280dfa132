// Command-line options of `npm run bench`: full runs by default, `--quick` for iteration,
// `--only <scenario>` to run one scenario.

/** The scenarios the harness knows, in the order they run. */
export const scenarioNames = ['drain1', 'drain5', 'http', 'ingest', 'latency', 'pg-drain1', 'pg-drain3'] as const;

/** One scenario's name. */
export type ScenarioName = (typeof scenarioNames)[number];

/** How big and how long each scenario is. */
export interface BenchOptions {
  quick: boolean;
  runs: number;
  drainEvents: number;
  /** Events of each PostgreSQL drain: fewer than on SQLite, which drains them far faster. */
  pgDrainEvents: number;
  httpDurationS: number;
  latencyDurationS: number;
  /** Sent at the latency rate before measuring, excluded from the percentiles (JIT and caches warm up). */
  latencyWarmupS: number;
  latencyRatePerS: number;
  httpConnections: number;
  scenarios: ScenarioName[];
}

/** Parses `process.argv.slice(2)`; throws on an unknown flag or scenario so a typo is not a silent full run. */
export function parseOptions(argv: string[]): BenchOptions {
  let quick = false;
  let only: ScenarioName | null = null;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!scenarioNames.includes(value as ScenarioName)) throw new Error(`--only takes one of ${scenarioNames.join('|')}, got ${value}`);
      only = value as ScenarioName;
    } else throw new Error(`unknown argument ${arg}; usage: npm run bench -- [--quick] [--only ${scenarioNames.join('|')}]`);
  }
  return {
    quick,
    runs: quick ? 1 : 3,
    drainEvents: quick ? 5_000 : 20_000,
    pgDrainEvents: quick ? 2_000 : 10_000,
    httpDurationS: quick ? 3 : 10,
    latencyDurationS: quick ? 3 : 10,
    latencyWarmupS: quick ? 0.5 : 1,
    latencyRatePerS: 500,
    httpConnections: 50,
    scenarios: only ? [only] : [...scenarioNames],
  };
}
