// The settings retention obeys, read from the settings table on every run (so a change made over the
// API or by a `tav` command applies from the next run, without a restart), with the catalog's
// defaults for a missing or unusable value.
import type { Json } from '../../workers/node-contract.js';
import { findSetting } from '../domain/settings-catalog.js';

/** Retention's limits in the units it works in. */
export interface RetentionSettings {
  autoCleanup: boolean;
  cleanupIntervalMs: number;
  /** Executions kept per workflow (newest first). */
  maxExecutionHistory: number;
  resultStorageMs: number;
  eventRetentionMs: number;
  auditRetentionMs: number;
  uploadStorageMs: number;
  tempFileMaxAgeMs: number;
  /** `storage.upload_dir`, relative to the data folder. */
  uploadDir: string;
}

const minuteMs = 60_000;
const hourMs = 60 * minuteMs;
const dayMs = 24 * hourMs;

/** Builds retention settings from the settings table (category → key → value). */
export function retentionSettingsFrom(table: Record<string, Record<string, Json>>): RetentionSettings {
  const storage = table.storage ?? {};
  const storageInt = (key: string) => integerSetting('storage', key, storage[key]);
  const uploadDir = storage.upload_dir;
  return Object.freeze({
    autoCleanup: typeof storage.auto_cleanup === 'boolean' ? storage.auto_cleanup : findSetting('storage', 'auto_cleanup')!.default === true,
    cleanupIntervalMs: storageInt('cleanup_interval_minutes') * minuteMs,
    // settings.md lists max_execution_history under execution and again under storage ("as above"):
    // both name one limit, so the stricter of the two is kept.
    maxExecutionHistory: Math.min(integerSetting('execution', 'max_execution_history', table.execution?.max_execution_history), storageInt('max_execution_history')),
    resultStorageMs: storageInt('result_storage_days') * dayMs,
    eventRetentionMs: storageInt('event_retention_days') * dayMs,
    auditRetentionMs: storageInt('audit_retention_days') * dayMs,
    uploadStorageMs: storageInt('upload_storage_days') * dayMs,
    tempFileMaxAgeMs: storageInt('temp_file_max_age_hours') * hourMs,
    uploadDir: typeof uploadDir === 'string' && uploadDir.trim() !== '' ? uploadDir : String(findSetting('storage', 'upload_dir')!.default),
  });
}

/** The value when it is a whole number inside the catalog's range, else the catalog default. */
function integerSetting(category: 'storage' | 'execution', key: string, value: Json | undefined): number {
  const definition = findSetting(category, key)!;
  // A hand-edited row outside the range must not turn into "keep nothing": fall back to the default.
  const inRange = typeof value === 'number' && Number.isInteger(value) && value >= (definition.min ?? 1) && value <= (definition.max ?? Number.MAX_SAFE_INTEGER);
  return inRange ? value : (definition.default as number);
}
