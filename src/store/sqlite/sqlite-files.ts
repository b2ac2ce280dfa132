// The files family of the SQLite adapter: uploads' metadata (FileStore); the bytes are the file storage's.
import { isoAt } from '../../domain/clock.js';
import type { FileInput, FileListFilter, FileStore } from '../file-store.js';
import * as files from './file-sql.js';
import { SqliteFamily } from './sqlite-family.js';

/** Upload metadata on SQLite. */
export class SqliteFiles extends SqliteFamily implements FileStore {
  createFile(input: FileInput) {
    return this.writer.write((db) => files.insertFile(db, input, isoAt(this.clock.now())));
  }

  async getFile(id: number) {
    return files.selectFile(this.readDb, id);
  }

  async listFiles(filter: FileListFilter) {
    return files.selectFiles(this.readDb, filter);
  }

  deleteFile(id: number) {
    return this.writer.write((db) => files.deleteFile(db, id));
  }
}
