// The event data a file_polling_trigger enqueues, in TAV's shape: one file per event (per_file) or
// every file of a poll in one event (batch).
import path from 'node:path';
import type { Json } from '../../workers/node-contract.js';
import { isoAt } from '../domain/clock.js';
import type { ScannedFile } from './folder-scan.js';

/** A file as the workflow sees it. */
export interface FileFacts {
  file: ScannedFile;
  /** Where the file will be once moved to the processed folder; absent when files stay put. */
  processedPath?: string;
}

// A guess from the extension only, for routing in the workflow; no node trusts it for safety.
const mimeTypes: Record<string, string> = {
  '.csv': 'text/csv',
  '.tsv': 'text/tab-separated-values',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.md': 'text/markdown',
  '.json': 'application/json',
  '.ndjson': 'application/x-ndjson',
  '.xml': 'application/xml',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.html': 'text/html',
  '.pdf': 'application/pdf',
  '.zip': 'application/zip',
  '.gz': 'application/gzip',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/**
 * One file's metadata. `path` is where the file is when the workflow runs (the processed path when
 * files are moved, so a node reading `{{trigger.file.path}}` finds it); `original_path` is where it
 * was found.
 */
export function describeFile({ file, processedPath }: FileFacts): { [key: string]: Json } {
  const extension = path.extname(file.name).toLowerCase();
  const facts: { [key: string]: Json } = {
    path: processedPath ?? file.path,
    name: file.name,
    size: file.size,
    // Rounded as node rounds fs.Stats#mtime, so the time matches what `stat` shows for the file.
    modified_at: isoAt(Math.round(file.mtimeMs)),
    extension,
    relative_path: file.relativePath,
  };
  const mimeType = mimeTypes[extension];
  if (mimeType) facts.mime_type = mimeType;
  if (processedPath !== undefined) facts.original_path = file.path;
  return facts;
}

/** The per_file event: `{ triggered_at, execution_count, source, file, file_name }`. */
export function buildFileEvent(facts: FileFacts, nowMs: number, executionCount: number): Json {
  return { triggered_at: isoAt(nowMs), execution_count: executionCount, source: 'file_polling', file: describeFile(facts), file_name: facts.file.name };
}

/** The batch event: `{ triggered_at, execution_count, source, files, file_count }`. */
export function buildBatchEvent(facts: FileFacts[], nowMs: number, executionCount: number): Json {
  return { triggered_at: isoAt(nowMs), execution_count: executionCount, source: 'file_polling', files: facts.map(describeFile), file_count: facts.length };
}
