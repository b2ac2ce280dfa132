// The credentials family of the PostgreSQL adapter (CredentialStore), the twin of
// store/sqlite/sqlite-credentials.ts. The caller seals and opens the data; `seal` runs inside the
// write transaction, so a row never exists without its sealed data.
import { isoAt } from '../../domain/clock.js';
import type { CredentialChanges, CredentialInput, CredentialStore } from '../credential-store.js';
import * as credentials from './pg-credential-sql.js';
import { PgFamily } from './pg-family.js';

/** Sealed credentials on PostgreSQL. */
export class PgCredentials extends PgFamily implements CredentialStore {
  createCredential(input: CredentialInput, seal: (id: number) => string) {
    return this.writer.write((trx) => credentials.insertCredential(trx, input, seal, isoAt(this.clock.now())));
  }

  updateCredential(id: number, changes: CredentialChanges, seal: ((id: number) => string) | null) {
    return this.writer.write((trx) => credentials.updateCredential(trx, id, changes, seal, isoAt(this.clock.now())));
  }

  deleteCredential(id: number) {
    return this.writer.write((trx) => credentials.deleteCredential(trx, id));
  }

  getCredential(id: number) {
    return credentials.selectCredential(this.db, id);
  }

  listCredentials(limit: number, offset: number) {
    return credentials.selectCredentials(this.db, limit, offset);
  }

  countCredentials() {
    return credentials.countCredentials(this.db);
  }

  sealedCredential(id: number) {
    return credentials.selectSealedCredential(this.db, id);
  }

  credentialKeyCounts() {
    return credentials.countCredentialsByKey(this.db);
  }

  touchCredential(id: number, at: string): void {
    this.fireAndForget((trx) => credentials.touchCredential(trx, id, at));
  }

  resealCredentials(reseal: (id: number, sealed: string) => string) {
    return this.writer.write((trx) => credentials.resealCredentials(trx, reseal));
  }
}
