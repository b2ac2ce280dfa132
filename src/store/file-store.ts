// The storage port of uploaded files' metadata (the `files` table). Part of `Store` (store.ts).
import type { Json } from '../../workers/node-contract.js';

/** One `files` row: an upload's metadata. `file_path` is relative to the data folder. */
export interface FileRecord {
  id: number;
  workflow_id: string | null;
  execution_id: string | null;
  /** The client's name, cleaned for display; never used to build a path. */
  original_filename: string;
  stored_filename: string;
  file_path: string;
  file_type: string | null;
  mime_type: string | null;
  size_bytes: number | null;
  file_metadata: Json;
  created_at: string;
}

/** A new `files` row. */
export interface FileInput {
  workflowId: string | null;
  executionId: string | null;
  originalFilename: string;
  storedFilename: string;
  filePath: string;
  fileType: string;
  mimeType: string;
  sizeBytes: number;
  metadata: Record<string, Json>;
}

/** Filters for listing files. */
export interface FileListFilter {
  workflowId?: string;
  limit: number;
  /** Files with an id below this one (pages go newest first). */
  beforeId?: number;
}

/** Uploaded files' metadata (the bytes are the file storage's). */
export interface FileStore {
  /** Inserts the row unless the workflow or execution it names does not exist. */
  createFile(input: FileInput): Promise<FileRecord | 'workflow_missing' | 'execution_missing'>;
  getFile(id: number): Promise<FileRecord | null>;
  listFiles(filter: FileListFilter): Promise<FileRecord[]>;
  /** Deletes the row and returns it, or null when there was none. */
  deleteFile(id: number): Promise<FileRecord | null>;
}
