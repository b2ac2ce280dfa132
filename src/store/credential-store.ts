// The storage port of credentials: metadata in the clear, data sealed by the caller. Part of `Store`
// (store.ts).

/** A credential's metadata: never its secret values, only the names of its fields. */
export interface CredentialRecord {
  id: number;
  user_id: number;
  name: string;
  credential_type: string;
  description: string | null;
  field_names: string[];
  /** The key its data is sealed under (from the sealed text's header; nothing is decrypted for it). */
  key_id: string | null;
  created_at: string;
  updated_at: string | null;
  last_used_at: string | null;
}

/** A new credential's metadata; its data arrives sealed, through the seal callback. */
export interface CredentialInput {
  userId: number;
  name: string;
  credentialType: string;
  description: string | null;
  fieldNames: string[];
}

/** Changes to a credential; absent fields keep their value. */
export interface CredentialChanges {
  name?: string;
  credentialType?: string;
  description?: string | null;
  fieldNames?: string[];
}

/** A credential's sealed data, for the code that opens it. */
export interface SealedCredential {
  id: number;
  encrypted_data: string;
}

/**
 * Credentials, stored sealed. `seal(id)` runs inside the write transaction once the row id is known
 * (the sealed value is bound to its row), so a row never exists without its data.
 */
export interface CredentialStore {
  createCredential(input: CredentialInput, seal: (id: number) => string): Promise<CredentialRecord | 'name_taken'>;
  /** `seal` null keeps the data as it is. */
  updateCredential(id: number, changes: CredentialChanges, seal: ((id: number) => string) | null): Promise<CredentialRecord | 'missing' | 'name_taken'>;
  deleteCredential(id: number): Promise<boolean>;
  getCredential(id: number): Promise<CredentialRecord | null>;
  listCredentials(limit: number, offset: number): Promise<CredentialRecord[]>;
  countCredentials(): Promise<number>;
  sealedCredential(id: number): Promise<SealedCredential | null>;
  /** How many credentials are sealed under each key id. */
  credentialKeyCounts(): Promise<Map<string | null, number>>;
  touchCredential(id: number, at: string): void;
  /** Re-seals every credential in one transaction; a throw from `reseal` leaves all of them as they were. */
  resealCredentials(reseal: (id: number, sealed: string) => string): Promise<number>;
}
