// `tav credentials rotate-key`: every credential re-sealed under a new key in one transaction. The
// steps are ordered so that a stop at any point leaves every credential readable:
//   1. (key file) the new key is written to `encryption.key.next` before any row is sealed under it;
//   2. one transaction re-seals every row, opening each with whichever known key sealed it;
//   3. (key file) the old key is kept as `encryption.key.previous`, then `.next` renamed over
//      `encryption.key`.
// Stopped before 2 commits, nothing changed; after, the rows open with `.next`, which the daemon
// also loads (and running the command again finishes the switch). The caller holds the daemon lock.
import fs from 'node:fs';
import type { CredentialStore } from '../store/store.js';
import { credentialContext } from './credential-vault.js';
import { replaceKeyFile, writeKeyFile, type Keyring } from './encryption-keys.js';
import { EncryptionKey, SecretBox, SecretBoxError } from './secret-box.js';

/** A rotation that was refused or could not finish; nothing was changed. */
export class RotationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationError';
  }
}

/** What a rotation did. */
export interface RotationResult {
  resealed: number;
  oldKeyId: string;
  newKeyId: string;
  /** 'env': TAV_ENCRYPTION_KEY still holds the old key and must be changed by the operator. */
  source: Keyring['source'];
}

/** Re-seals every credential under `requested` (or, with a key file, a random key). */
export async function rotateEncryptionKey(store: CredentialStore, keyring: Keyring, requested: EncryptionKey | null): Promise<RotationResult> {
  const newKey = chooseNewKey(keyring, requested);
  const wroteNext = keyring.source === 'file' && keyring.pendingRotation?.id !== newKey.id;
  if (wroteNext) writeKeyFile(keyring.files.next, newKey);
  let resealed: number;
  try {
    resealed = await resealAll(store, new SecretBox(keyring.sealing, keyring.opening), new SecretBox(newKey));
  } catch (error) {
    // Rolled back: no row is sealed under the key just written, so it can go (a pending one stays).
    if (wroteNext) fs.rmSync(keyring.files.next, { force: true });
    throw error;
  }
  if (keyring.source === 'file') {
    writeKeyFile(keyring.files.previous, keyring.sealing);
    replaceKeyFile(keyring.files.next, keyring.files.current);
  }
  return { resealed, oldKeyId: keyring.sealing.id, newKeyId: newKey.id, source: keyring.source };
}

function resealAll(store: CredentialStore, current: SecretBox, next: SecretBox): Promise<number> {
  return store.resealCredentials((id, sealed) => {
    try {
      return next.seal(current.open(sealed, credentialContext(id)), credentialContext(id));
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      throw new RotationError(`credential ${id} cannot be decrypted (${error.message}); nothing was changed: fix or delete it, then rotate again`);
    }
  });
}

function chooseNewKey(keyring: Keyring, requested: EncryptionKey | null): EncryptionKey {
  if (keyring.source === 'env' && !requested) {
    // A generated key would exist only in this process until the operator copied it: too easy to lose.
    throw new RotationError('TAV_ENCRYPTION_KEY is set: give the new key with --new-key (generate one with: openssl rand -base64 32)');
  }
  const pending = keyring.source === 'file' ? keyring.pendingRotation : null;
  if (pending && requested && requested.id !== pending.id) {
    // Rows may already be sealed under the pending key; replacing its file would lose them.
    throw new RotationError(`an earlier rotation to key ${pending.id} did not finish; run the command without --new-key to complete it first`);
  }
  const newKey = requested ?? pending ?? EncryptionKey.generate();
  if (newKey.id === keyring.sealing.id) throw new RotationError('the new key is the key already in use');
  return newKey;
}
