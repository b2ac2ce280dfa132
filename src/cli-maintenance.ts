// `tav backup | restore | check-db | check-stuck | tables | vacuum | analyze | reset`: the
// administrator's maintenance commands. Plain text by default, JSON with --json; the exit code says
// how it went (maintenanceExitCodes, documented in the README).
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { systemUserId } from '../seeds/index.js';
import type { Config } from './config.js';
import { systemClock } from './domain/clock.js';
import { AppError } from './errors.js';
import { createLogger } from './log.js';
import { takeBackup } from './maintenance/backup.js';
import { defaultBackupDir } from './maintenance/backup-files.js';
import { buildDatabaseReport, formatBytes, formatDatabaseReport, formatSchema } from './maintenance/database-report.js';
import { RestoreRefused, restoreDatabase } from './maintenance/restore.js';
import { findStuck, type StuckExecution } from './maintenance/stuck-executions.js';
import { copyAndCheck } from './store/sqlite/backup-sql.js';
import { DatabaseLockedError, acquireDaemonLock, lockOwner } from './store/sqlite/daemon-lock.js';
import { SqliteMaintenance } from './store/sqlite/sqlite-maintenance.js';

/** What the exit codes of these commands mean. */
export const maintenanceExitCodes = Object.freeze({
  ok: 0,
  /** A check failed or found something (integrity, schema, stuck executions), or the operation failed. */
  problem: 1,
  /** Bad arguments, a missing --yes or a missing file: nothing was done. */
  usage: 2,
  /** Refused because a daemon holds the database (as `tav start` and `migrate --rollback` do). */
  daemonRunning: 3,
});

/** What the maintenance commands borrow from cli.ts. */
export interface MaintenanceCommandContext {
  config(): Config;
}

// Above this size VACUUM beside a running daemon would hold the write lock longer than the daemon's
// 5 s busy timeout, failing its writes; --force overrides.
const onlineVacuumMaxBytes = 64 * 1024 * 1024;

/** Adds the maintenance commands to `program`. */
export function registerMaintenanceCommands(program: Command, context: MaintenanceCommandContext): void {
  const add = (name: string, description: string) => program.command(name).description(description).option('--json', 'print JSON instead of text').exitOverride(exitWithUsage);
  add('backup', 'write a consistent copy of the database while the daemon runs, then keep the newest N')
    .option('--dest <dir>', 'backup folder (default: $TAV_DATA_DIR/backups)')
    .option('--keep <n>', 'how many backups to keep in the folder, this one included', parseCount, 7)
    .action((options: { dest?: string; keep: number; json?: boolean }) => backupCommand(context.config(), options));
  add('restore', 'replace the database with a backup (refused while a daemon runs; the replaced file is kept)')
    .argument('<file>', 'the backup to restore')
    .action((file: string, options: { json?: boolean }) => restoreCommand(context.config(), file, options));
  add('check-db', 'row counts, file and WAL size, integrity check and schema version')
    .option('--quick', 'quick_check instead of the full integrity_check (skips index contents)')
    .action((options: { quick?: boolean; json?: boolean }) => checkDbCommand(context.config(), options));
  add('check-stuck', 'find executions marked running that nothing is running (no live lease)')
    .option('--fix', 're-queue their events (or fail them when no event can run them); safe while a daemon runs')
    .option('--fail', 'with --fix: mark every stuck execution failed instead of re-queueing')
    .action((options: { fix?: boolean; fail?: boolean; json?: boolean }) => checkStuckCommand(context.config(), options));
  add('tables', 'schema overview: tables, column counts, foreign keys, indexes').action((options: { json?: boolean }) => tablesCommand(context.config(), options));
  add('vacuum', 'rebuild the database file to give free pages back (waits for the write lock)')
    .option('--force', `vacuum beside a running daemon even above ${formatBytes(onlineVacuumMaxBytes)}`)
    .action((options: { force?: boolean; json?: boolean }) => vacuumCommand(context.config(), options));
  add('analyze', "refresh the query planner's statistics").action((options: { json?: boolean }) => analyzeCommand(context.config(), options));
  add('reset', 'delete all data but the system user and the settings (refused while a daemon runs)')
    .option('--yes', 'confirm: this cannot be undone (take a backup first)')
    .action((options: { yes?: boolean; json?: boolean }) => resetCommand(context.config(), options));
}

async function backupCommand(config: Config, options: { dest?: string; keep: number; json?: boolean }): Promise<void> {
  const destDir = path.resolve(options.dest ?? defaultBackupDir(config.dataDir));
  let result;
  try {
    result = await takeBackup({ dbPath: config.dbPath, destDir, keep: options.keep, clock: systemClock, copy: copyAndCheck });
  } catch (error) {
    if (error instanceof AppError) failWith(options, maintenanceExitCodes.problem, error.code, error.message);
    throw error;
  }
  const json = { path: result.path, file: result.file, size_bytes: result.sizeBytes, created_at: result.createdAt, integrity: 'ok', pruned: result.pruned };
  const pruned = result.pruned.length > 0 ? `\npruned: ${result.pruned.join(', ')}` : '';
  print(options, json, `backup: ${result.path}\nsize: ${formatBytes(result.sizeBytes)} (${result.sizeBytes} bytes)\nintegrity: ok${pruned}\n`);
}

function restoreCommand(config: Config, file: string, options: { json?: boolean }): void {
  let result;
  try {
    result = restoreDatabase({ dbPath: config.dbPath, sourcePath: file, clock: systemClock });
  } catch (error) {
    if (error instanceof DatabaseLockedError) failWith(options, maintenanceExitCodes.daemonRunning, 'daemon_running', `refusing to restore while a daemon (pid ${error.ownerPid}) uses the database: stop it first`);
    if (error instanceof RestoreRefused) {
      const usage = error.reason === 'missing' || error.reason === 'same_file';
      failWith(options, usage ? maintenanceExitCodes.usage : maintenanceExitCodes.problem, `restore_${error.reason}`, `refusing to restore: ${error.message}`);
    }
    throw error;
  }
  const json = { restored_from: result.restoredFrom, database: result.dbPath, replaced_path: result.replacedPath, migrations: result.migrations, pending: result.pending };
  const pending = result.pending.length > 0 ? `\nthe next start applies: ${result.pending.join(', ')}` : '';
  print(options, json, `restored ${result.restoredFrom}\ninto ${result.dbPath}\nreplaced database kept at ${result.replacedPath ?? '(there was none)'}${pending}\n`);
}

async function checkDbCommand(config: Config, options: { quick?: boolean; json?: boolean }): Promise<void> {
  let report;
  try {
    report = await withMaintenance(config, options, (maintenance) => buildDatabaseReport(config.dbPath, maintenance.inspect({ quick: options.quick ?? false }), options.quick ?? false, lockOwner(config.dbPath)));
  } catch (error) {
    // Damage where SQLite cannot even list the tables (the first page, the schema).
    failWith(options, maintenanceExitCodes.problem, 'unreadable_database', `cannot read ${config.dbPath}: ${(error as Error).message}`);
  }
  print(options, report, formatDatabaseReport(report));
  process.exitCode = report.ok ? maintenanceExitCodes.ok : maintenanceExitCodes.problem;
}

async function tablesCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const tables = await withMaintenance(config, options, (maintenance) => maintenance.schema());
  const json = {
    tables: tables.map((t) => ({ table: t.table, column_count: t.columns.length, columns: t.columns, foreign_keys: t.foreignKeys.map((fk) => ({ column: fk.column, references: fk.references, references_column: fk.referencesColumn, on_delete: fk.onDelete })), indexes: t.indexes })),
  };
  print(options, json, formatSchema(tables));
}

async function checkStuckCommand(config: Config, options: { fix?: boolean; fail?: boolean; json?: boolean }): Promise<void> {
  if (options.fail && !options.fix) failWith(options, maintenanceExitCodes.usage, 'usage', '--fail only applies with --fix');
  const maintenance = openMaintenance(config, options);
  try {
    const stuck = findStuck(maintenance.runningExecutions(), systemClock, { failAll: options.fail ?? false });
    const outcomes: string[] = [];
    for (const item of options.fix ? stuck : []) {
      const applied = await maintenance.repairStuck(item.row, item.repair, `marked failed by tav check-stuck: ${item.reason}`, systemClock.now());
      outcomes.push(applied ? 'fixed' : 'moved_on');
    }
    const items = stuck.map((item, i) => stuckJson(item, outcomes[i] ?? null));
    print(options, { stuck: items.length, fixed: outcomes.filter((o) => o === 'fixed').length, executions: items }, formatStuck(stuck, outcomes, options.fix ?? false));
    process.exitCode = stuck.length === 0 || options.fix ? maintenanceExitCodes.ok : maintenanceExitCodes.problem;
  } finally {
    await maintenance.close();
  }
}

async function vacuumCommand(config: Config, options: { force?: boolean; json?: boolean }): Promise<void> {
  const owner = lockOwner(config.dbPath);
  const before = sizes(config.dbPath);
  if (owner !== null && before.file > onlineVacuumMaxBytes && !options.force) {
    failWith(options, maintenanceExitCodes.daemonRunning, 'daemon_running', `a daemon (pid ${owner}) uses this ${formatBytes(before.file)} database: its writes would time out while VACUUM holds the lock; stop it first or pass --force`);
  }
  const maintenance = openMaintenance(config, options);
  try {
    maintenance.vacuum();
  } finally {
    await maintenance.close();
  }
  const after = sizes(config.dbPath);
  print(options, { before_bytes: before.file, after_bytes: after.file, wal_bytes: after.wal, daemon_pid: owner }, `vacuumed: ${formatBytes(before.file)} → ${formatBytes(after.file)} (WAL ${formatBytes(after.wal)})\n`);
}

async function analyzeCommand(config: Config, options: { json?: boolean }): Promise<void> {
  const maintenance = openMaintenance(config, options);
  try {
    await maintenance.analyze();
  } finally {
    await maintenance.close();
  }
  print(options, { analyzed: true }, 'analyzed: planner statistics refreshed\n');
}

async function resetCommand(config: Config, options: { yes?: boolean; json?: boolean }): Promise<void> {
  if (!options.yes) failWith(options, maintenanceExitCodes.usage, 'confirmation_required', 'tav reset deletes every workflow, execution, event, key and file record: run it again with --yes to confirm');
  if (!fs.existsSync(config.dbPath)) failWith(options, maintenanceExitCodes.problem, 'no_database', `no database at ${config.dbPath}`);
  let releaseLock: () => void;
  try {
    // Held throughout, so no daemon starts on a half-emptied database.
    releaseLock = acquireDaemonLock(config.dbPath);
  } catch (error) {
    if (error instanceof DatabaseLockedError) failWith(options, maintenanceExitCodes.daemonRunning, 'daemon_running', `refusing to reset while a daemon (pid ${error.ownerPid}) uses the database: stop it first`);
    throw error;
  }
  let removed: Record<string, number>;
  try {
    const maintenance = openMaintenance(config, options);
    try {
      removed = await maintenance.deleteAllData(systemUserId);
    } finally {
      await maintenance.close();
    }
  } finally {
    releaseLock();
  }
  const lines = Object.entries(removed).map(([table, rows]) => `  ${table}: ${rows}`);
  print(options, { removed, kept: ['settings', `users id ${systemUserId}`] }, `deleted all data; kept the settings and the system user\n${lines.join('\n')}\nthe next start creates a new bootstrap admin key (${config.adminKeyFile})\n`);
}

async function withMaintenance<T>(config: Config, options: { json?: boolean }, read: (maintenance: SqliteMaintenance) => T): Promise<T> {
  const maintenance = openMaintenance(config, options);
  try {
    return read(maintenance);
  } finally {
    await maintenance.close();
  }
}

function openMaintenance(config: Config, options: { json?: boolean }): SqliteMaintenance {
  if (!fs.existsSync(config.dbPath)) failWith(options, maintenanceExitCodes.problem, 'no_database', `no database at ${config.dbPath} (tav start or tav migrate creates it)`);
  return new SqliteMaintenance(config.dbPath, createLogger('error'));
}

function stuckJson(item: StuckExecution, outcome: string | null) {
  const row = item.row;
  return {
    execution_id: row.executionId,
    workflow_id: row.workflowId,
    started_at: row.startedAt,
    event_id: row.eventId,
    event_status: row.eventStatus,
    lease_owner: row.leaseOwner,
    lease_expires_at: row.leaseExpiresAt === null ? null : new Date(row.leaseExpiresAt).toISOString(),
    reason: item.reason,
    repair: item.repair,
    outcome,
  };
}

function formatStuck(stuck: StuckExecution[], outcomes: string[], fixing: boolean): string {
  if (stuck.length === 0) return 'no stuck executions\n';
  const lines = stuck.map((item, i) => {
    const done = outcomes[i] === undefined ? `would ${item.repair.replace('_', ' ')}` : outcomes[i] === 'fixed' ? `${item.repair.replace('_', ' ')}: done` : 'left alone: it changed meanwhile';
    return `${item.row.executionId}\tevent ${item.row.eventId ?? '-'}\t${item.reason}\t${done}`;
  });
  const tail = fixing ? '' : '\nrun with --fix to repair them\n';
  return `${stuck.length} stuck execution(s)\n${lines.join('\n')}\n${tail}`;
}

function sizes(dbPath: string): { file: number; wal: number } {
  const size = (file: string) => (fs.existsSync(file) ? fs.statSync(file).size : 0);
  return { file: size(dbPath), wal: size(`${dbPath}-wal`) };
}

function print(options: { json?: boolean }, json: unknown, text: string): void {
  process.stdout.write(options.json ? `${JSON.stringify(json, null, 2)}\n` : text);
}

/** Ends the command: the message on stderr, and with --json the error shape on stdout too. */
function failWith(options: { json?: boolean }, exitCode: number, code: string, message: string): never {
  if (options.json) process.stdout.write(`${JSON.stringify({ error: { code, message } })}\n`);
  process.stderr.write(`${message}\n`);
  process.exit(exitCode);
}

/** Commander's own errors (unknown option, bad value) are usage errors: exit 2; --help exits 0. */
function exitWithUsage(error: CommanderError): never {
  process.exit(error.exitCode === 0 ? maintenanceExitCodes.ok : maintenanceExitCodes.usage);
}

function parseCount(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1 || parsed > 10_000) throw new InvalidArgumentError('must be a whole number from 1 to 10000');
  return parsed;
}
