// Where the credential key comes from: TAV_ENCRYPTION_KEY, or else `$TAV_DATA_DIR/encryption.key`,
// created with a random key on first start. Beside it a rotation keeps `encryption.key.next` (the new
// key, written before any credential is re-sealed under it) and `encryption.key.previous` (the key it
// replaced); whichever of them exist can open values, so a rotation cut short at any point leaves
// every credential readable.
//
// A key file that group or others may read is refused, not silently chmod-ed: a loose mode means the
// key may already have been copied, which an operator must know about (and fix with chmod 600).
import fs from 'node:fs';
import path from 'node:path';
import { EncryptionKey } from './secret-box.js';

/** The key files of one data folder. */
export interface KeyFiles {
  current: string;
  previous: string;
  next: string;
}

/** The keys a process seals and opens credentials with. */
export interface Keyring {
  /** New values are sealed under this key. */
  sealing: EncryptionKey;
  /** Where the sealing key came from. */
  source: 'env' | 'file';
  /** Further keys that can open values: the key file (when the env key seals), `.previous`, `.next`. */
  opening: EncryptionKey[];
  files: KeyFiles;
  /** True when this call created the key file. */
  created: boolean;
  /** The key of a rotation that did not finish (`encryption.key.next`), if any. */
  pendingRotation: EncryptionKey | null;
}

/** A key file that cannot be used as it is; the message says what to do. */
export class KeyFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyFileError';
  }
}

/** The key files beside `keyFile`. */
export function keyFilesFor(keyFile: string): KeyFiles {
  return { current: keyFile, previous: `${keyFile}.previous`, next: `${keyFile}.next` };
}

/** Loads the keyring; without an env key, creates the key file on first use. Throws KeyFileError. */
export function loadKeyring(options: { envKey: EncryptionKey | null; keyFile: string }): Keyring {
  const files = keyFilesFor(options.keyFile);
  let fileKey = readKeyFile(files.current);
  let created = false;
  if (!options.envKey && !fileKey) {
    fileKey = EncryptionKey.generate();
    writeKeyFile(files.current, fileKey);
    created = true;
  }
  const sealing = options.envKey ?? fileKey!;
  const pendingRotation = readKeyFile(files.next);
  const opening = [fileKey, readKeyFile(files.previous), pendingRotation].filter((key): key is EncryptionKey => key !== null && key.id !== sealing.id);
  return { sealing, source: options.envKey ? 'env' : 'file', opening, files, created, pendingRotation };
}

/** The key in `file`, or null when there is no such file. */
export function readKeyFile(file: string): EncryptionKey | null {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new KeyFileError(`cannot read the encryption key file ${file}: ${(error as Error).message}`);
  }
  if (!stat.isFile()) throw new KeyFileError(`the encryption key file ${file} is not a regular file`);
  if ((stat.mode & 0o077) !== 0) {
    const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
    throw new KeyFileError(`the encryption key file ${file} may be read by group or others (mode ${mode}); it must be 0600: chmod 600 ${file} (and consider the key exposed)`);
  }
  const key = EncryptionKey.parse(fs.readFileSync(file, 'utf8'));
  if (!key) throw new KeyFileError(`the encryption key file ${file} does not hold a key (32 bytes as base64 or 64 hex characters)`);
  return key;
}

/**
 * Writes `key` to `file` (mode 0600) atomically: a temp file in the same folder, flushed to disk,
 * then renamed over the target, then the folder flushed so the rename itself survives a power cut.
 */
export function writeKeyFile(file: string, key: EncryptionKey): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    // openSync keeps the mode of a leftover temp file; make sure it is private before the key lands.
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, `${key.toBase64()}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  syncDirectory(dir);
}

/** Renames `from` over `to` durably. */
export function replaceKeyFile(from: string, to: string): void {
  fs.renameSync(from, to);
  syncDirectory(path.dirname(to));
}

function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some platforms cannot fsync a folder; the rename is still atomic there.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
