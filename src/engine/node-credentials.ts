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
  resolve(credentialId: Json): CredentialResolution;
}

/**
 * Wraps `runNode` so a task whose config has a `credential_id` runs with the opened credential in
 * `config.credential`; a credential that is missing or cannot be opened fails the node instead (not
 * retryable: another attempt would meet the same row), and the run goes on as for any failed node.
 */
export function withCredentials(runNode: RunNode, credentials: CredentialResolver): RunNode {
  return async (task, options) => {
    const credentialId = task.config.credential_id;
    if (credentialId === undefined || credentialId === null || credentialId === '') return runNode(task, options);
    const started = performance.now();
    let resolved: CredentialResolution;
    try {
      resolved = credentials.resolve(credentialId);
    } catch {
      // A bug or a closed store; the thrown text may quote what it held, so it goes nowhere.
      resolved = { ok: false, error: { code: 'credential_error', message: 'the credential could not be read', retryable: false } };
    }
    if (!resolved.ok) return { ok: false, error: resolved.error, durationMs: performance.now() - started };
    return runNode({ ...task, config: { ...task.config, credential: resolved.fields } }, options);
  };
}
