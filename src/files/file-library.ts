// Uploaded files as one thing: a `files` row and its bytes on disk, added and removed together.
// Bytes are moved into place before the row is written, and removed after the row is deleted, so a
// row never names a file that is not (yet) there; a crash in between leaves at worst an unnamed file.
import { stat } from 'node:fs/promises';
import { AppError, notFound } from '../errors.js';
import type { Logger } from '../log.js';
import type { FileRecord, FileStore } from '../store/store.js';
import { cleanDisplayName } from './display-name.js';
import { sniffFileKind } from './file-kind.js';
import type { FileStorage } from './file-storage.js';
import type { ReceivedUpload } from './upload-receiver.js';

/** What the upload is attached to. */
export interface FileOwner {
  workflowId: string | null;
  executionId: string | null;
}

/** A stored file ready to be streamed. */
export interface OpenedFile {
  record: FileRecord;
  absolutePath: string;
  sizeBytes: number;
}

/** Rows and bytes of uploaded files. */
export class FileLibrary {
  constructor(
    private readonly store: FileStore,
    readonly storage: FileStorage,
    private readonly log: Logger,
  ) {}

  /** Files a received upload: sniffs its kind, moves it into place and records it. Throws 404 for an unknown owner. */
  async accept(upload: ReceivedUpload, owner: FileOwner): Promise<FileRecord> {
    const originalFilename = cleanDisplayName(upload.clientFilename);
    const kind = sniffFileKind(upload.head, originalFilename);
    const stored = await this.storage.keep(upload.incomingPath, kind);
    let created: Awaited<ReturnType<FileStore['createFile']>>;
    try {
      created = await this.store.createFile({
        ...owner,
        originalFilename,
        storedFilename: stored.storedFilename,
        filePath: stored.relativePath,
        fileType: kind.fileType,
        mimeType: kind.mimeType,
        sizeBytes: upload.sizeBytes,
        metadata: { sha256: upload.sha256, declared_content_type: upload.declaredContentType },
      });
    } catch (error) {
      await this.storage.remove(stored.relativePath);
      throw error;
    }
    if (created === 'workflow_missing' || created === 'execution_missing') {
      await this.storage.remove(stored.relativePath);
      throw created === 'workflow_missing' ? notFound('workflow', owner.workflowId!) : notFound('execution', owner.executionId!);
    }
    this.log.debug('file uploaded', { fileId: created.id, fileType: kind.fileType, sizeBytes: upload.sizeBytes });
    return created;
  }

  /** A file's row and where its bytes are; 404 when either is missing. */
  async open(id: number): Promise<OpenedFile> {
    const record = await this.store.getFile(id);
    if (!record) throw notFound('file', id);
    const absolutePath = this.storage.absolutePath(record.file_path);
    const info = await stat(absolutePath).catch(() => null);
    if (!info?.isFile()) throw new AppError('file_content_missing', `the content of file ${id} is missing from the upload folder`, { status: 404 });
    return { record, absolutePath, sizeBytes: info.size };
  }

  /** Deletes the row, then the bytes; null when there was no such file. */
  async remove(id: number): Promise<FileRecord | null> {
    const deleted = await this.store.deleteFile(id);
    if (deleted) await this.storage.remove(deleted.file_path);
    return deleted;
  }
}
