// `tav cleanup [--dry-run] [--json]`: runs retention now against the database. Safe beside a running
// daemon: the deletes are small batches on this process's own write connection (WAL and a busy
// timeout let the daemon's writer and ours take turns), and every delete re-checks that the rows are
// still due.
import type { Command } from 'commander';
import type { Config } from './config.js';
import { systemClock } from './domain/clock.js';
import { createLogger } from './log.js';
import type { RetentionReport } from './maintenance/retention.js';
import { runRetentionOnce } from './maintenance/retention-service.js';
import type { OpenedStore } from './store/open-store.js';

/** What the cleanup command borrows from cli.ts. */
export interface CleanupCommandContext {
  withStore<T>(run: (store: OpenedStore) => Promise<T> | T): Promise<T>;
  config(): Config;
  fail(message: string, code: number): never;
}

/** Adds `tav cleanup` to `program`. */
export function registerCleanupCommand(program: Command, context: CleanupCommandContext): void {
  program
    .command('cleanup')
    .description('run retention now: old executions beyond max_execution_history, expired results, events, state, audit rows, uploads and temp files')
    .option('--dry-run', 'report what would be removed per table and change nothing')
    .option('--json', 'print the report as JSON')
    .action((options: { dryRun?: boolean; json?: boolean }) => cleanup(context, options));
}

async function cleanup(context: CleanupCommandContext, options: { dryRun?: boolean; json?: boolean }): Promise<void> {
  const dryRun = options.dryRun ?? false;
  let report: RetentionReport;
  try {
    // Silent: the report is the output, and log lines on stdout would break --json.
    const log = createLogger('error', { silent: true });
    report = await context.withStore((store) => runRetentionOnce({ store, dataDir: context.config().dataDir, clock: systemClock, log }, dryRun));
  } catch (error) {
    context.fail(`cleanup failed: ${error instanceof Error ? error.message : String(error)}`, 1);
  }
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : describeReport(report));
}

/** The report as aligned plain text. */
function describeReport(report: RetentionReport): string {
  const lines = [report.dry_run ? 'dry run: nothing was changed; would remove' : 'removed'];
  const width = Math.max(...Object.keys(report.tables).map((name) => name.length), 'result_files'.length);
  for (const [name, count] of Object.entries(report.tables)) lines.push(`  ${name.padEnd(width)}  ${count}`);
  for (const [name, count] of Object.entries(report.disk)) lines.push(`  ${name.padEnd(width)}  ${count} file(s)`);
  lines.push(`total: ${report.total_rows} row(s), ${report.disk.result_files + report.disk.upload_files + report.disk.temp_files} file(s) in ${report.duration_ms} ms`);
  return `${lines.join('\n')}\n`;
}
