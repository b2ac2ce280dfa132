// SQL of the `files` table on PostgreSQL: the twin of store/sqlite/file-sql.ts. The bytes live on disk
// (see src/files/); a row holds where, relative to the data folder.
import type { Knex } from 'knex';
import type { FileInput, FileListFilter, FileRecord } from '../file-store.js';
import { jsonText, type PgRunner, readJson, type Row, rows } from './pg-statements.js';
import { fileRecordFrom } from '../row-views.js';

const fileColumns = `id, workflow_id, execution_id, original_filename, stored_filename, file_path, file_type, mime_type, size_bytes, file_metadata, created_at`;

const toFile = (row: Row): FileRecord => fileRecordFrom(row, readJson);

/**
 * True when the row exists; FOR KEY SHARE keeps another daemon from deleting it until this transaction
 * commits, so the insert that follows never meets a foreign-key error (which would abort the writer's
 * whole transaction).
 */
async function holdParent(trx: Knex.Transaction, table: 'workflows' | 'executions', id: string): Promise<boolean> {
  return (await rows(trx, `SELECT 1 FROM ${table} WHERE id = ? FOR KEY SHARE`, [id])).length > 0;
}

/** Inserts a file row unless the workflow or execution it names does not exist. */
export async function insertFile(trx: Knex.Transaction, input: FileInput, nowIso: string): Promise<FileRecord | 'workflow_missing' | 'execution_missing'> {
  if (input.workflowId !== null && !(await holdParent(trx, 'workflows', input.workflowId))) return 'workflow_missing';
  if (input.executionId !== null && !(await holdParent(trx, 'executions', input.executionId))) return 'execution_missing';
  const inserted = await rows(
    trx,
    `INSERT INTO files (workflow_id, execution_id, original_filename, stored_filename, file_path, file_type, mime_type, size_bytes, file_metadata, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?::json, ?)
     RETURNING ${fileColumns}`,
    [
      input.workflowId,
      input.executionId,
      input.originalFilename,
      input.storedFilename,
      input.filePath,
      input.fileType,
      input.mimeType,
      input.sizeBytes,
      jsonText(input.metadata),
      nowIso,
    ],
  );
  return toFile(inserted[0]!);
}

/** One file row. */
export async function selectFile(db: PgRunner, id: number): Promise<FileRecord | null> {
  const found = await rows(db, `SELECT ${fileColumns} FROM files WHERE id = ?`, [id]);
  return found[0] ? toFile(found[0]) : null;
}

/** A page of file rows, newest first; `beforeId` is the cursor. */
export async function selectFiles(db: PgRunner, filter: FileListFilter): Promise<FileRecord[]> {
  const conditions: string[] = [];
  const bindings: unknown[] = [];
  if (filter.workflowId !== undefined) {
    conditions.push('workflow_id = ?');
    bindings.push(filter.workflowId);
  }
  if (filter.beforeId !== undefined) {
    conditions.push('id < ?');
    bindings.push(filter.beforeId);
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const found = await rows(db, `SELECT ${fileColumns} FROM files ${where} ORDER BY id DESC LIMIT ?`, [...bindings, filter.limit]);
  return found.map(toFile);
}

/** Deletes a file row and returns it (the caller removes the bytes); null when there was none. */
export async function deleteFile(db: PgRunner, id: number): Promise<FileRecord | null> {
  const found = await rows(db, `DELETE FROM files WHERE id = ? RETURNING ${fileColumns}`, [id]);
  return found[0] ? toFile(found[0]) : null;
}
