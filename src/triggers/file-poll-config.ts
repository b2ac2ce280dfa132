// The file_polling_trigger node's config (TAV's keys and defaults), checked once when the poller is
// built so a bad workflow fails at arm time with every problem listed, not on some later poll.
import path from 'node:path';
import { z } from 'zod';
import type { Json } from '../../workers/node-contract.js';
import { AppError } from '../errors.js';

/** How a poll that found several new files fires: one event per file, or one event for all. */
export type FileTriggerMode = 'per_file' | 'batch';

/** The checked config of one file poller. */
export interface FilePollConfig {
  /** Absolute folder watched. */
  watchFolder: string;
  filePattern: string;
  pollIntervalMs: number;
  recursive: boolean;
  triggerMode: FileTriggerMode;
  ignoreExisting: boolean;
  moveProcessedFiles: boolean;
  /** Absolute sibling folder processed files move to: `<watchFolder><suffix>`. */
  processedFolder: string;
}

/** The shortest polling interval accepted, in seconds (tests poll at 0.2 s). */
export const minPollingIntervalSeconds = 0.1;

// Workflow JSON from TAV often spells booleans and numbers as text; accept both spellings.
const flag = (fallback: boolean) =>
  z.preprocess((value) => (value === 'true' ? true : value === 'false' ? false : value), z.boolean()).default(fallback);

const schema = z.object({
  watch_folder: z.string().trim().min(1, 'watch_folder is required').refine((value) => !value.includes('\0'), 'watch_folder may not contain NUL'),
  file_pattern: z.string().trim().min(1).default('*'),
  polling_interval: z.coerce.number().min(minPollingIntervalSeconds).max(86_400).default(10),
  recursive: flag(false),
  trigger_mode: z.enum(['per_file', 'batch']).default('per_file'),
  ignore_existing: flag(true),
  move_processed_files: flag(false),
  // A separator would put the processed folder somewhere else (or inside the watched one).
  processed_folder_suffix: z.string().min(1).regex(/^[^/\\\0]+$/, 'processed_folder_suffix may not contain a path separator').default('_processed'),
});

/**
 * Checks a file_polling_trigger config. A relative `watch_folder` is taken relative to `dataDir`
 * (the daemon's data folder). Throws `invalid_trigger_config` (400) listing every problem.
 */
export function parseFilePollConfig(config: Record<string, Json>, dataDir: string | undefined): FilePollConfig {
  const parsed = schema.safeParse(config);
  if (!parsed.success) {
    const details = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    throw new AppError('invalid_trigger_config', 'file_polling_trigger config is invalid', { status: 400, details });
  }
  const values = parsed.data;
  if (!path.isAbsolute(values.watch_folder) && dataDir === undefined) {
    throw new AppError('invalid_trigger_config', 'a relative watch_folder needs the data folder to resolve against', { status: 400 });
  }
  const watchFolder = path.resolve(dataDir ?? '/', values.watch_folder);
  return {
    watchFolder,
    filePattern: values.file_pattern,
    pollIntervalMs: Math.round(values.polling_interval * 1000),
    recursive: values.recursive,
    triggerMode: values.trigger_mode,
    ignoreExisting: values.ignore_existing,
    moveProcessedFiles: values.move_processed_files,
    processedFolder: watchFolder + values.processed_folder_suffix,
  };
}
