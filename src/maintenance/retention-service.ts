// Retention assembled from a store and a data folder: the same pieces for the daemon's timer, the
// admin route and `tav cleanup`.
import type { Json } from '../../workers/node-contract.js';
import type { Clock } from '../domain/clock.js';
import { defaultUploadDir, FileStorage } from '../files/file-storage.js';
import type { Logger } from '../log.js';
import type { RetentionStore } from '../store/retention-store.js';
import { runRetention, type RetentionDeps, type RetentionReport } from './retention.js';
import { RetentionScheduler } from './retention-scheduler.js';
import { retentionSettingsFrom, type RetentionSettings } from './retention-settings.js';
import { daemonTempFolders } from './temp-files.js';

/** What retention is built from. */
export interface RetentionSources {
  store: { retention(): RetentionStore; loadSettings(): Promise<Record<string, Record<string, Json>>> };
  dataDir: string;
  clock: Clock;
  log: Logger;
}

/** Retention's dependencies over a store and its data folder; settings are read from the store per run. */
export function retentionDeps(sources: RetentionSources): RetentionDeps {
  // The upload folder is the one the last read of the settings named (read at the start of each run).
  let latest: RetentionSettings | null = null;
  const settings = async () => (latest = retentionSettingsFrom(await sources.store.loadSettings()));
  const uploads = new FileStorage({ dataDir: sources.dataDir, uploadDir: () => latest?.uploadDir ?? defaultUploadDir, log: sources.log });
  return {
    store: sources.store.retention(),
    settings,
    removeUpload: (relativePath) => uploads.remove(relativePath),
    tempFolders: () => daemonTempFolders(sources.dataDir, uploads.root()),
    clock: sources.clock,
    log: sources.log,
  };
}

/** Runs retention once over the sources (the `tav cleanup` path). */
export function runRetentionOnce(sources: RetentionSources, dryRun: boolean): Promise<RetentionReport> {
  return runRetention(retentionDeps(sources), { dryRun });
}

/** The daemon's retention timer; start it after the dispatcher, stop it before the store closes. */
export function createRetentionScheduler(sources: RetentionSources): RetentionScheduler {
  const deps = retentionDeps(sources);
  return new RetentionScheduler({
    run: (options) => runRetention(deps, options),
    schedule: () => deps.settings(),
    clock: sources.clock,
    log: sources.log,
  });
}
