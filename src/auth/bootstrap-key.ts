// First start: with no usable key there is no way in, so the daemon makes an admin key and writes
// it to a 0600 file for the operator. The key itself never reaches a log.
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { ApiKeyStore } from '../store/store.js';
import { generateApiKey } from './api-keys.js';

/** The system user (seeded as id 1) owns the bootstrap key. */
const systemUserId = 1;

/** Creates the bootstrap admin key when none can be used; returns the key file path if one was written. */
export async function ensureAdminKey(store: ApiKeyStore, keyFile: string, log: Logger): Promise<string | null> {
  if ((await store.countUsableApiKeys()) > 0) return null;
  const generated = generateApiKey();
  await store.createApiKey({ userId: systemUserId, name: 'bootstrap admin', keyPrefix: generated.keyPrefix, keyHash: generated.keyHash, scopes: ['admin'], expiresAt: null });
  fs.mkdirSync(path.dirname(keyFile), { recursive: true });
  fs.writeFileSync(keyFile, `${generated.key}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file; make sure it is private.
  fs.chmodSync(keyFile, 0o600);
  log.info('created the bootstrap admin API key', { keyFile });
  return keyFile;
}
