// Nodes use credentials by `credential_id`: just before a task leaves for the pool its credential is
// opened and its fields put in `config.credential`, for that task only. Nothing decrypted is kept,
// logged or recorded: node records hold outputs and errors, never the task's config.
import type { Json, NodeError } from '../../workers/node-contract.js';
import type { RunNode } from './execution-run.js';

/** What opening a node's credential gives: its fields, or the failure the node ends with. */
export type CredentialResolution = { ok: true; fields: Record<string, Json> } | { ok: false; error: NodeError };

/** Opens credentials for nodes (the credential vault). */
export interface CredentialResolver {
  /** Opens the credential `credentialId` names (as a node's config carries it). */
  resolve(credentialId: Json): Promise<CredentialResolution>;
}

/**
 * Wraps `runNode` so a task whose config has a `credential_id` runs with the opened credential in
 * `config.credential`, and an AI node whose provider names a credential runs with its `api_key` in
 * `config.__ai.api_key`. A credential that is missing or cannot be opened fails the node instead (not
 * retryable: another attempt would meet the same row), and the run goes on as for any failed node.
 */
export function withCredentials(runNode: RunNode, credentials: CredentialResolver): RunNode {
  return async (task, options) => {
    const ownId = presentId(task.config.credential_id);
    const ai = task.config.__ai;
    const providerId = isRecord(ai) && ai.api_key == null ? presentId(ai.credential_id) : null;
    if (ownId === null && providerId === null) return runNode(task, options);
    const started = performance.now();
    let config = task.config;
    for (const [credentialId, place] of [[ownId, placeOwn], [providerId, placeProviderKey]] as const) {
      if (credentialId === null) continue;
      const resolved = await open(credentials, credentialId);
      if (!resolved.ok) return { ok: false, error: resolved.error, durationMs: performance.now() - started };
      config = place(config, resolved.fields);
    }
    return runNode({ ...task, config }, options);
  };
}

type Config = Record<string, Json>;

function placeOwn(config: Config, fields: Record<string, Json>): Config {
  return { ...config, credential: fields };
}

// The provider's credential holds its key as `api_key` (credential type api_key); any other shape
// leaves the provider keyless, and the provider's 401 says so.
function placeProviderKey(config: Config, fields: Record<string, Json>): Config {
  const apiKey = typeof fields.api_key === 'string' ? fields.api_key : null;
  return { ...config, __ai: { ...(config.__ai as Config), api_key: apiKey } };
}

async function open(credentials: CredentialResolver, credentialId: Json): Promise<CredentialResolution> {
  try {
    return await credentials.resolve(credentialId);
  } catch {
    // A bug or a closed store; the thrown text may quote what it held, so it goes nowhere.
    return { ok: false, error: { code: 'credential_error', message: 'the credential could not be read', retryable: false } };
  }
}

function presentId(value: Json | undefined): Json | null {
  return value === undefined || value === null || value === '' ? null : value;
}

function isRecord(value: Json | undefined): value is Config {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
