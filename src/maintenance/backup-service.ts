// Backups inside the daemon: on request (POST /api/v1/admin/backup) and on the schedule the `backup`
// settings describe. One backup at a time; the copy runs on a worker thread so the API, the
// dispatcher and the writer never wait for it.
import type { Json } from '../../workers/node-contract.js';
import type { Clock } from '../domain/clock.js';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import { copyAndCheckOffThread } from '../store/sqlite/backup-thread.js';
import { takeBackup, type BackupResult } from './backup.js';
import { defaultBackupDir, listBackups } from './backup-files.js';

/** The `backup` settings in the units the service uses. */
export interface BackupSchedule {
  enabled: boolean;
  intervalMs: number;
  keep: number;
}

/** Reads the `backup` settings category, falling back to the shipped defaults. */
export function backupScheduleFrom(table: Record<string, Record<string, Json>>): BackupSchedule {
  const backup = table.backup ?? {};
  const whole = (value: Json | undefined, fallback: number) => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback);
  return {
    enabled: backup.auto_backup === true,
    intervalMs: whole(backup.backup_interval_hours, 24) * 3_600_000,
    keep: whole(backup.backup_keep, 7),
  };
}

/** What the service needs. */
export interface BackupServiceOptions {
  dbPath: string;
  backupDir: string;
  clock: Clock;
  log: Logger;
  /** The settings table as it is now (re-read on every tick, so a change applies without a restart). */
  loadSettings(): Promise<Record<string, Record<string, Json>>>;
  /** How often the schedule is looked at; a backup is due when the newest is older than the interval. */
  checkEveryMs?: number;
}

/** Takes backups on request and on schedule. */
export class BackupService {
  private running: Promise<BackupResult> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly abort = new AbortController();

  constructor(private readonly options: BackupServiceOptions) {}

  /** Takes a backup now and keeps the newest `keep` (the `backup_keep` setting unless given); 409 while one runs. */
  async create(keep?: number): Promise<BackupResult> {
    if (this.running) throw new AppError('backup_in_progress', 'a backup is already being written; try again when it has finished', { status: 409 });
    if (this.abort.signal.aborted) throw new AppError('shutting_down', 'the daemon is stopping', { status: 503 });
    // The keep count is read only when the caller gave none: no await between the check and `running`.
    const keepCount = keep ?? backupScheduleFrom(await this.options.loadSettings()).keep;
    if (this.running) throw new AppError('backup_in_progress', 'a backup is already being written; try again when it has finished', { status: 409 });
    const started = this.options.clock.now();
    const run = takeBackup({
      dbPath: this.options.dbPath,
      destDir: this.options.backupDir,
      keep: keepCount,
      clock: this.options.clock,
      copy: (source, target) => copyAndCheckOffThread(source, target, this.abort.signal),
    });
    this.running = run;
    const clear = () => {
      this.running = null;
    };
    run.then(
      (result) => {
        clear();
        this.options.log.info('backup written', { path: result.path, sizeBytes: result.sizeBytes, pruned: result.pruned.length, ms: this.options.clock.now() - started });
      },
      (error: unknown) => {
        clear();
        this.options.log.error('backup failed', { error: error instanceof Error ? error.message : String(error) });
      },
    );
    return run;
  }

  /** Starts looking at the schedule: once now, then every checkEveryMs. */
  start(): void {
    const every = this.options.checkEveryMs ?? 60_000;
    const tick = () => {
      void this.runIfDue().finally(() => {
        this.timer = setTimeout(tick, every).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** Stops the schedule and any backup being written (its partial file is removed). */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.running?.catch(() => undefined);
  }

  private async runIfDue(): Promise<void> {
    if (this.running) return;
    try {
      const schedule = backupScheduleFrom(await this.options.loadSettings());
      if (!schedule.enabled) return;
      const newest = listBackups(this.options.backupDir)[0];
      if (newest && this.options.clock.now() - newest.takenAtMs < schedule.intervalMs) return;
    } catch (error) {
      this.options.log.warn('backup schedule could not be checked', { error: String(error) });
      return;
    }
    // Failures are logged by create(); the next tick tries again.
    this.create().catch(() => undefined);
  }
}

/** The daemon's backup service: backups of `dbPath` into `$dataDir/backups`, scheduled by the settings table. */
export function createBackupService(options: { dbPath: string; dataDir: string; store: { loadSettings(): Promise<Record<string, Record<string, Json>>> }; clock: Clock; log: Logger }): BackupService {
  return new BackupService({ dbPath: options.dbPath, backupDir: defaultBackupDir(options.dataDir), clock: options.clock, log: options.log, loadSettings: () => options.store.loadSettings() });
}

/** The backup service of a daemon on PostgreSQL: the database is backed up with its own tools. */
export function refusingBackups(): Pick<BackupService, 'create' | 'start' | 'stop'> {
  return {
    create: () => Promise.reject(new AppError('not_supported', 'this daemon stores its data in PostgreSQL: back it up with pg_dump', { status: 501, expose: true })),
    start: () => undefined,
    stop: async () => undefined,
  };
}
