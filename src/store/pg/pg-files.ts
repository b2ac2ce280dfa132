// The files family of the PostgreSQL adapter: uploads' metadata (FileStore), the twin of
// store/sqlite/sqlite-files.ts; the bytes are the file storage's.
import { isoAt } from '../../domain/clock.js';
import type { FileInput, FileListFilter, FileStore } from '../file-store.js';
import * as files from './pg-file-sql.js';
import { PgFamily } from './pg-family.js';

/** Upload metadata on PostgreSQL. */
export class PgFiles extends PgFamily implements FileStore {
  createFile(input: FileInput) {
    return this.writer.write((trx) => files.insertFile(trx, input, isoAt(this.clock.now())));
  }

  getFile(id: number) {
    return files.selectFile(this.db, id);
  }

  listFiles(filter: FileListFilter) {
    return files.selectFiles(this.db, filter);
  }

  deleteFile(id: number) {
    return this.writer.write((trx) => files.deleteFile(trx, id));
  }
}
