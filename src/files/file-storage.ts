// Where upload bytes live: `<dataDir>/<upload_dir>/<file_type>/<uuid><ext>`, with uploads in progress
// under `<upload root>/.incoming/` (the same file system, so keeping one is an atomic rename). Every
// path is built from our own parts (type, UUID, extension from our table) and checked to stay inside
// the data folder; rows record it relative to the data folder, so moving the folder keeps them valid.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors.js';
import type { Logger } from '../log.js';
import type { FileKind } from './file-kind.js';

/** What the storage needs. */
export interface FileStorageOptions {
  dataDir: string;
  /** The `storage.upload_dir` setting in force, relative to the data folder. */
  uploadDir: () => string;
  log: Logger;
}

/** A file moved into its place. */
export interface StoredFile {
  storedFilename: string;
  /** Relative to the data folder, with `/` separators. */
  relativePath: string;
}

export const defaultUploadDir = 'uploads';
/** The folder under the upload root where uploads arrive; retention ages out what is left there. */
export const incomingDirName = '.incoming';

/** Owns the upload folder. */
export class FileStorage {
  private readonly dataDir: string;
  private warnedUploadDir: string | null = null;

  constructor(private readonly options: FileStorageOptions) {
    this.dataDir = path.resolve(options.dataDir);
  }

  /** The absolute upload folder; the default one when the setting would leave the data folder. */
  root(): string {
    const uploadDir = this.options.uploadDir();
    const configured = path.resolve(this.dataDir, uploadDir);
    if (isStrictlyInside(this.dataDir, configured)) return configured;
    if (this.warnedUploadDir !== uploadDir) {
      this.warnedUploadDir = uploadDir;
      this.options.log.warn('storage.upload_dir leaves the data folder; using the default', { uploadDir, default: defaultUploadDir });
    }
    return path.join(this.dataDir, defaultUploadDir);
  }

  /** The folder uploads are written to while they arrive (created on demand). */
  async incomingDir(): Promise<string> {
    const dir = path.join(this.root(), incomingDirName);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  }

  /** Moves a finished upload from the incoming folder to its place by kind. */
  async keep(incomingPath: string, kind: FileKind): Promise<StoredFile> {
    const storedFilename = `${randomUUID()}${kind.extension}`;
    const dir = path.join(this.root(), kind.fileType);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const target = path.join(dir, storedFilename);
    this.assertInside(target);
    await rename(incomingPath, target);
    return { storedFilename, relativePath: path.relative(this.dataDir, target).split(path.sep).join('/') };
  }

  /** The absolute path of a stored file; refuses a recorded path that would leave the data folder. */
  absolutePath(relativePath: string): string {
    const absolute = path.resolve(this.dataDir, relativePath);
    this.assertInside(absolute);
    return absolute;
  }

  /** Removes a stored file; one already gone is fine. */
  async remove(relativePath: string): Promise<void> {
    await rm(this.absolutePath(relativePath), { force: true });
  }

  /** Removes an incoming file that was not kept; one already moved or gone is fine. */
  async discardIncoming(incomingPath: string): Promise<void> {
    this.assertInside(incomingPath);
    await rm(incomingPath, { force: true });
  }

  /** Removes uploads a previous process left half-written (only one daemon runs on a data folder). */
  async clearIncoming(): Promise<number> {
    const dir = path.join(this.root(), incomingDirName);
    const names = await readdir(dir).catch(() => [] as string[]);
    await Promise.all(names.map((name) => rm(path.join(dir, name), { force: true, recursive: true })));
    return names.length;
  }

  private assertInside(target: string): void {
    // Ours builds only safe paths; this guards against a tampered row or setting, not a client name.
    if (!isStrictlyInside(this.dataDir, target)) throw new AppError('path_outside_data_dir', 'a stored file path leaves the data folder', { status: 500 });
  }
}

/** True when `target` is below `root` (not `root` itself). */
function isStrictlyInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}
