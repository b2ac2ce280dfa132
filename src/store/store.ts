// The storage port. The queue, the engine and the API depend only on these interfaces, so a
// PostgreSQL adapter can stand beside the SQLite one without touching them. Each family of tables has
// its port in its own file; this one composes them into `Store` and re-exports their names, so
// importers keep importing from here.
import type { AuditStore, UserStore } from './access-store.js';
import type { ApiKeyStore } from './api-key-store.js';
import type { CredentialStore } from './credential-store.js';
import type { ExecutionStore } from './execution-store.js';
import type { FileStore } from './file-store.js';
import type { InteractionStore } from './interaction-store.js';
import type { MonitoringStore } from './monitoring-store.js';
import type { QueueStore } from './queue-store.js';
import type { SettingsStore } from './settings-store.js';
import type { WorkflowStore } from './workflow-store.js';

export type * from './api-key-store.js';
export type * from './credential-store.js';
export type * from './execution-store.js';
export type * from './file-store.js';
export type * from './interaction-store.js';
export type * from './queue-store.js';
export type * from './settings-store.js';
export type * from './workflow-store.js';

/** The whole storage port. */
export interface Store extends QueueStore, ExecutionStore, WorkflowStore, ApiKeyStore, SettingsStore, CredentialStore, UserStore, AuditStore, FileStore, InteractionStore, MonitoringStore {
  /** True while writes are accepted. */
  readonly isWritable: boolean;
  /** Commits everything queued. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Group-commit counters. */
  writerStats(): { commits: number; operations: number; lastBatchSize: number; lastCommitMs: number; pending: number };
}
