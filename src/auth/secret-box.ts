// Authenticated encryption of secrets at rest: AES-256-GCM with a random 96-bit nonce per value and
// the 128-bit tag checked before any plaintext is handed out. A sealed value names the key it was
// sealed under (`v1:<key id>:<nonce>:<tag>:<ciphertext>`, base64 parts), so a box can open values of
// an older key beside the current one while a rotation switches over.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';

const formatVersion = 'v1';
const cipherName = 'aes-256-gcm';
const keyLength = 32;
const nonceLength = 12;
const tagLength = 16;

// The bytes of each key, kept off the object so no JSON.stringify, inspect or spread can reveal them.
const keyBytes = new WeakMap<EncryptionKey, Buffer>();

/** A 256-bit key; only its id and, on purpose, `toBase64()` ever show it. */
export class EncryptionKey {
  /** 16 hex characters derived from the key (a truncated hash: names the key, reveals nothing of it). */
  readonly id: string;

  private constructor(bytes: Buffer) {
    keyBytes.set(this, Buffer.from(bytes));
    this.id = createHash('sha256').update('tav-engine/encryption-key-id\0').update(bytes).digest('hex').slice(0, 16);
  }

  /** A new random key. */
  static generate(): EncryptionKey {
    return new EncryptionKey(randomBytes(keyLength));
  }

  /** A key from 64 hex characters or 32 bytes in base64/base64url; null when the text is neither. */
  static parse(text: string): EncryptionKey | null {
    const trimmed = text.trim();
    if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return new EncryptionKey(Buffer.from(trimmed, 'hex'));
    if (/^[A-Za-z0-9+/]{43}=?$/.test(trimmed) || /^[A-Za-z0-9_-]{43}$/.test(trimmed)) {
      const bytes = Buffer.from(trimmed, trimmed.includes('-') || trimmed.includes('_') ? 'base64url' : 'base64');
      return bytes.length === keyLength ? new EncryptionKey(bytes) : null;
    }
    return null;
  }

  /** The key as base64, for the key file or for an operator to copy: the one way to reveal it. */
  toBase64(): string {
    return keyBytes.get(this)!.toString('base64');
  }

  toJSON(): { id: string } {
    return { id: this.id };
  }

  toString(): string {
    return `EncryptionKey(${this.id})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Why a sealed value could not be opened. */
export type SecretBoxErrorCode = 'malformed' | 'unknown_key' | 'tampered';

/** Opening failed; no plaintext, partial or otherwise, is ever returned. */
export class SecretBoxError extends Error {
  constructor(
    readonly code: SecretBoxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

/** The parts of a sealed value. */
interface SealedParts {
  keyId: string;
  nonce: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

/** Seals under one key; opens values sealed under it or under any of the older keys it was given. */
export class SecretBox {
  private readonly keys = new Map<string, EncryptionKey>();

  constructor(
    private readonly sealingKey: EncryptionKey,
    openingKeys: readonly EncryptionKey[] = [],
  ) {
    for (const key of [sealingKey, ...openingKeys]) this.keys.set(key.id, key);
  }

  /** The id of the key new values are sealed under. */
  get keyId(): string {
    return this.sealingKey.id;
  }

  /** True when values sealed under `keyId` can be opened. */
  knows(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /**
   * Encrypts `plaintext`. `context` names where the value is kept (e.g. `credential:42`): it is
   * authenticated with the value, so a sealed value copied to another record will not open there.
   */
  seal(plaintext: string, context: string): string {
    const nonce = randomBytes(nonceLength);
    const cipher = createCipheriv(cipherName, keyBytes.get(this.sealingKey)!, nonce, { authTagLength: tagLength });
    cipher.setAAD(associatedData(this.sealingKey.id, context));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [formatVersion, this.sealingKey.id, nonce.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
  }

  /** Decrypts a value `seal` made for the same `context`; throws SecretBoxError when it cannot. */
  open(sealed: string, context: string): string {
    const parts = parseSealed(sealed);
    const key = this.keys.get(parts.keyId);
    if (!key) throw new SecretBoxError('unknown_key', `the value was sealed under key ${parts.keyId}, which this process does not have`);
    const decipher = createDecipheriv(cipherName, keyBytes.get(key)!, parts.nonce, { authTagLength: tagLength });
    decipher.setAAD(associatedData(parts.keyId, context));
    decipher.setAuthTag(parts.tag);
    try {
      // final() checks the tag; the plaintext of update() is only used once it has.
      const plaintext = Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
      return plaintext.toString('utf8');
    } catch {
      throw new SecretBoxError('tampered', 'the sealed value failed authentication: it was altered, or belongs to another record');
    }
  }
}

/** The key id a sealed value names, without opening it; null when the text is not a sealed value. */
export function sealedKeyId(sealed: string): string | null {
  try {
    return parseSealed(sealed).keyId;
  } catch {
    return null;
  }
}

function associatedData(keyId: string, context: string): Buffer {
  return Buffer.from(`${formatVersion}:${keyId}|${context}`, 'utf8');
}

function parseSealed(sealed: string): SealedParts {
  const parts = sealed.split(':');
  if (parts.length !== 5 || parts[0] !== formatVersion || !/^[0-9a-f]{16}$/.test(parts[1]!)) {
    throw new SecretBoxError('malformed', `the value is not a ${formatVersion} sealed value`);
  }
  const nonce = strictBase64(parts[2]!);
  const tag = strictBase64(parts[3]!);
  const ciphertext = strictBase64(parts[4]!);
  if (nonce?.length !== nonceLength || tag?.length !== tagLength || ciphertext === null) {
    throw new SecretBoxError('malformed', `the value is not a ${formatVersion} sealed value`);
  }
  return { keyId: parts[1]!, nonce, tag, ciphertext };
}

// Buffer.from(…, 'base64') skips characters it does not know; an altered character must not pass as
// a shorter value, so only text that round-trips is accepted.
function strictBase64(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}
