// Credential fixtures: a workflow whose one http_request node authenticates with a credential, and
// the sealed rows read straight from a stopped daemon's database file.
import Database from 'better-sqlite3';
import { node, workflowBody } from './workflows.js';

/** A workflow of one http_request node (`call`) using credential `credentialId` against `url`. */
export function credentialCall(name: string, url: string, credentialId: unknown) {
  return workflowBody(name, [node('call', 'http_request', { url, auth_type: 'credential', credential_id: credentialId, timeout: 5 })]);
}

/** `encrypted_data` of every credential, by id, read from the file. */
export function sealedRows(dbPath: string): Map<number, string> {
  const db = new Database(dbPath, { readonly: true });
  try {
    return new Map((db.prepare('SELECT id, encrypted_data FROM credentials').all() as Array<{ id: number; encrypted_data: string }>).map((row) => [row.id, row.encrypted_data]));
  } finally {
    db.close();
  }
}
