// The credentials family of the SQLite adapter (CredentialStore). The caller seals and opens the data;
// `seal` runs inside the write transaction, so a row never exists without its sealed data.
import { isoAt } from '../../domain/clock.js';
import type { CredentialChanges, CredentialInput, CredentialStore } from '../credential-store.js';
import * as credentials from './credential-sql.js';
import { SqliteFamily } from './sqlite-family.js';

/** Sealed credentials on SQLite. */
export class SqliteCredentials extends SqliteFamily implements CredentialStore {
  createCredential(input: CredentialInput, seal: (id: number) => string) {
    return this.writer.write((db) => credentials.insertCredential(db, input, seal, isoAt(this.clock.now())));
  }

  updateCredential(id: number, changes: CredentialChanges, seal: ((id: number) => string) | null) {
    return this.writer.write((db) => credentials.updateCredential(db, id, changes, seal, isoAt(this.clock.now())));
  }

  deleteCredential(id: number) {
    return this.writer.write((db) => credentials.deleteCredential(db, id));
  }

  async getCredential(id: number) {
    return credentials.selectCredential(this.readDb, id);
  }

  async listCredentials(limit: number, offset: number) {
    return credentials.selectCredentials(this.readDb, limit, offset);
  }

  async countCredentials() {
    return credentials.countCredentials(this.readDb);
  }

  async sealedCredential(id: number) {
    return credentials.selectSealedCredential(this.readDb, id);
  }

  async credentialKeyCounts() {
    return credentials.countCredentialsByKey(this.readDb);
  }

  touchCredential(id: number, at: string): void {
    this.fireAndForget((db) => credentials.touchCredential(db, id, at));
  }

  resealCredentials(reseal: (id: number, sealed: string) => string) {
    return this.writer.write((db) => credentials.resealCredentials(db, reseal));
  }
}
