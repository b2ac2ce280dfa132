// API keys: random, shown once, stored only as a SHA-256 hash. Keys carry 256 bits of randomness,
// so a fast hash is enough (a slow password hash would only tax every request).
import { createHash, randomBytes } from 'node:crypto';

/** The scopes a key may hold. */
export const apiKeyScopes = ['admin', 'enqueue', 'read'] as const;

/** One scope. */
export type ApiKeyScope = (typeof apiKeyScopes)[number];

/** A new key: the secret to show once, and what to store. */
export interface GeneratedApiKey {
  key: string;
  keyPrefix: string;
  keyHash: string;
}

const keyPrefix = 'tav_';

/** Makes a new random key. */
export function generateApiKey(): GeneratedApiKey {
  const key = keyPrefix + randomBytes(32).toString('base64url');
  return { key, keyPrefix: key.slice(0, 12), keyHash: hashApiKey(key) };
}

/** The stored form of a key. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
