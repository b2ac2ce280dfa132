// The storage port of API keys: stored as hashes, found by hash when a request authenticates. Part of
// `Store` (store.ts).

/** An API key row without its hash. */
export interface ApiKeyRecord {
  id: number;
  user_id: number;
  name: string;
  key_prefix: string;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
  is_active: boolean;
}

/** A key as authentication sees it: with the status of the user it belongs to. */
export interface AuthenticatedKey extends ApiKeyRecord {
  user_status: string;
}

/** API keys, stored as hashes only. */
export interface ApiKeyStore {
  createApiKey(input: { userId: number; name: string; keyPrefix: string; keyHash: string; scopes: string[]; expiresAt: string | null }): Promise<ApiKeyRecord>;
  /** The key with this hash and its user's status (revoked and expired keys included: the caller decides). */
  findApiKeyByHash(keyHash: string): Promise<AuthenticatedKey | null>;
  getApiKey(id: number): Promise<ApiKeyRecord | null>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  revokeApiKey(id: number): Promise<boolean>;
  touchApiKey(id: number, at: string): void;
  /** Keys that could authenticate now: active, unexpired, and held by an active user. */
  countUsableApiKeys(): Promise<number>;
}
