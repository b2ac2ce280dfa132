// The credential vault: seals a credential's secret fields on their way into the store, and opens
// them for the node run that names the credential — the only place plaintext exists after a request.
// A sealed value is bound to its row (`credential:<id>`), so copying ciphertext between rows fails too.
import type { Json, NodeError } from '../../workers/node-contract.js';
import type { Clock } from '../domain/clock.js';
import { isoAt } from '../domain/clock.js';
import type { CredentialResolution, CredentialResolver } from '../engine/node-credentials.js';
import type { Logger } from '../log.js';
import type { CredentialRecord, CredentialStore } from '../store/store.js';
import type { Keyring } from './encryption-keys.js';
import { SecretBox, SecretBoxError } from './secret-box.js';

/** A credential's secret fields: field name → value. */
export type CredentialData = Record<string, Json>;

/** A new credential. */
export interface NewCredential {
  userId: number;
  name: string;
  credentialType: string;
  description: string | null;
  data: CredentialData;
}

/** Changes to a credential; `data` replaces the secret fields whole. */
export interface CredentialUpdate {
  name?: string;
  credentialType?: string;
  description?: string | null;
  data?: CredentialData;
}

/** What the vault is built from. */
export interface CredentialVaultDeps {
  store: CredentialStore;
  box: SecretBox;
  clock: Clock;
  log: Logger;
}

/** The associated data binding a sealed value to its row. */
export function credentialContext(id: number): string {
  return `credential:${id}`;
}

/** Seals and opens credentials. */
export class CredentialVault implements CredentialResolver {
  constructor(private readonly deps: CredentialVaultDeps) {}

  /** Stores a new credential; 'name_taken' when its user already has one of that name. */
  create(input: NewCredential): Promise<CredentialRecord | 'name_taken'> {
    const { data, ...metadata } = input;
    return this.deps.store.createCredential({ ...metadata, fieldNames: Object.keys(data) }, (id) => this.seal(id, data));
  }

  /** Changes a credential; data given replaces the old data whole. */
  update(id: number, changes: CredentialUpdate): Promise<CredentialRecord | 'missing' | 'name_taken'> {
    const { data, ...metadata } = changes;
    if (data === undefined) return this.deps.store.updateCredential(id, metadata, null);
    return this.deps.store.updateCredential(id, { ...metadata, fieldNames: Object.keys(data) }, (rowId) => this.seal(rowId, data));
  }

  /** Opens a credential for one node task and notes its use. */
  async resolve(credentialId: Json): Promise<CredentialResolution> {
    const id = typeof credentialId === 'string' && /^\d+$/.test(credentialId.trim()) ? Number(credentialId) : credentialId;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
      return failure('invalid_config', 'config "credential_id" must be a credential id (a positive whole number)');
    }
    const sealed = await this.deps.store.sealedCredential(id);
    if (!sealed) return failure('credential_not_found', `credential ${id} does not exist`);
    let fields: CredentialData;
    try {
      fields = JSON.parse(this.deps.box.open(sealed.encrypted_data, credentialContext(id))) as CredentialData;
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      // Logged as well as failing the node: an altered secret or a missing key is the operator's business.
      this.deps.log.warn('credential could not be opened', { credentialId: id, reason: error.code });
      return failure('credential_unreadable', `credential ${id} cannot be decrypted: ${error.message}`);
    }
    this.deps.store.touchCredential(id, isoAt(this.deps.clock.now()));
    return { ok: true, fields };
  }

  /** Key ids credentials are sealed under that this process cannot open, with their counts. */
  async unreadableKeys(): Promise<Array<{ keyId: string | null; credentials: number }>> {
    return [...(await this.deps.store.credentialKeyCounts())]
      .filter(([keyId]) => keyId === null || !this.deps.box.knows(keyId))
      .map(([keyId, credentials]) => ({ keyId, credentials }));
  }

  private seal(id: number, data: CredentialData): string {
    return this.deps.box.seal(JSON.stringify(data), credentialContext(id));
  }
}

function failure(code: string, message: string): { ok: false; error: NodeError } {
  return { ok: false, error: { code, message, retryable: false } };
}

/**
 * The daemon's vault over `keyring`; logs, once, what an operator must act on: a key file just
 * created (back it up), a rotation left unfinished, credentials sealed under a key it does not have.
 */
export async function openCredentialVault(keyring: Keyring, store: CredentialStore, clock: Clock, log: Logger): Promise<CredentialVault> {
  if (keyring.created) log.info('created the encryption key file; back it up with the database', { keyFile: keyring.files.current });
  if (keyring.pendingRotation) {
    log.warn('a key rotation did not finish; run tav credentials rotate-key again to complete it', { pendingKeyFile: keyring.files.next });
  }
  const vault = new CredentialVault({ store, box: new SecretBox(keyring.sealing, keyring.opening), clock, log });
  for (const { keyId, credentials } of await vault.unreadableKeys()) {
    log.error('credentials are sealed under a key this daemon does not have; nodes using them will fail', { keyId, credentials });
  }
  log.info('credential key loaded', { keyId: keyring.sealing.id, source: keyring.source });
  return vault;
}
