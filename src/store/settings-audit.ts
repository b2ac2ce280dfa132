// The audit row a settings change leaves, the same on both stores: who changed which category, and
// each key's old and new value.
import type { Json } from '../../workers/node-contract.js';
import type { Actor, AuditEntry, SettingChange } from './access-store.js';

/** The `settings.update` audit entry for `changes` made to `category` by `actor`. */
export function settingsChangeAudit(category: string, changes: SettingChange[], actor: Actor): AuditEntry {
  return {
    userId: actor.userId,
    apiKeyId: actor.apiKeyId,
    action: 'settings.update',
    resourceType: 'settings',
    resourceId: category,
    ipAddress: null,
    userAgent: null,
    statusCode: null,
    errorCode: null,
    errorMessage: null,
    details: { category, changes: changes as unknown as Json },
    requestId: actor.requestId,
  };
}
