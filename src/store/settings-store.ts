// The storage port of the settings table: read whole, written one category at a time with its audit
// record. Part of `Store` (store.ts).
import type { Json } from '../../workers/node-contract.js';
import type { Actor, SettingChange } from './access-store.js';

/** The settings table, read whole. */
export interface SettingsStore {
  loadSettings(): Promise<Record<string, Record<string, Json>>>;
  /**
   * Writes validated values of one category and, in the same transaction, an audit_logs row with each
   * key's old and new value, so a change is never without its record. Returns what actually changed.
   */
  updateSettings(category: string, values: Record<string, Json>, actor: Actor): Promise<SettingChange[]>;
}
