// `tav <args>` with the environment as a positional argument, for tests that never write to stdin.
// One implementation of running the command lives in tav-cli.ts.
import { runTav as runCli, type CliResult } from './tav-cli.js';

/** How a `tav` run ended. */
export type TavResult = CliResult;

/** Runs `tav <args>` with TAV_DATA_DIR set; rejects if it has not exited within the deadline. */
export function runTav(args: string[], dataDir: string, env: Record<string, string> = {}, deadlineMs = 20_000): Promise<TavResult> {
  return runCli(args, dataDir, { env, deadlineMs });
}
