// SQL of the `files` table: uploaded files' metadata. The bytes live on disk (see src/files/); a row
// holds where, relative to the data folder.
import type Database from 'better-sqlite3';
import type { FileInput, FileListFilter, FileRecord } from '../store.js';
import { statement } from './connection.js';
import { fromJsonColumn } from './json-columns.js';
import { fileRecordFrom } from '../row-views.js';

const fileColumns = `id, workflow_id, execution_id, original_filename, stored_filename, file_path, file_type, mime_type, size_bytes, file_metadata, created_at`;

const toFile = (row: Record<string, unknown>): FileRecord => fileRecordFrom(row, fromJsonColumn);

/**
 * Inserts a file row. The workflow and execution it names are checked in the same transaction, so a
 * row never points at one deleted a moment before (the foreign key would refuse it with a throw).
 */
export function insertFile(db: Database.Database, input: FileInput, nowIso: string): FileRecord | 'workflow_missing' | 'execution_missing' {
  if (input.workflowId !== null && statement(db, `SELECT 1 FROM workflows WHERE id = ?`).get(input.workflowId) === undefined) return 'workflow_missing';
  if (input.executionId !== null && statement(db, `SELECT 1 FROM executions WHERE id = ?`).get(input.executionId) === undefined) return 'execution_missing';
  const row = statement(
    db,
    `INSERT INTO files (workflow_id, execution_id, original_filename, stored_filename, file_path, file_type, mime_type, size_bytes, file_metadata, created_at)
     VALUES (@workflowId, @executionId, @originalFilename, @storedFilename, @filePath, @fileType, @mimeType, @sizeBytes, @metadata, @now)
     RETURNING ${fileColumns}`,
  ).get({
    workflowId: input.workflowId,
    executionId: input.executionId,
    originalFilename: input.originalFilename,
    storedFilename: input.storedFilename,
    filePath: input.filePath,
    fileType: input.fileType,
    mimeType: input.mimeType,
    sizeBytes: input.sizeBytes,
    metadata: JSON.stringify(input.metadata),
    now: nowIso,
  }) as Record<string, unknown>;
  return toFile(row);
}

/** One file row. */
export function selectFile(db: Database.Database, id: number): FileRecord | null {
  const row = statement(db, `SELECT ${fileColumns} FROM files WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
  return row ? toFile(row) : null;
}

/** A page of file rows, newest first; `beforeId` is the cursor. */
export function selectFiles(db: Database.Database, filter: FileListFilter): FileRecord[] {
  const rows = statement(
    db,
    `SELECT ${fileColumns} FROM files
     WHERE (@workflowId IS NULL OR workflow_id = @workflowId) AND (@beforeId IS NULL OR id < @beforeId)
     ORDER BY id DESC LIMIT @limit`,
  ).all({ workflowId: filter.workflowId ?? null, beforeId: filter.beforeId ?? null, limit: filter.limit }) as Array<Record<string, unknown>>;
  return rows.map(toFile);
}

/** Deletes a file row and returns it (the caller removes the bytes); null when there was none. */
export function deleteFile(db: Database.Database, id: number): FileRecord | null {
  const row = statement(db, `DELETE FROM files WHERE id = ? RETURNING ${fileColumns}`).get(id) as Record<string, unknown> | undefined;
  return row ? toFile(row) : null;
}
