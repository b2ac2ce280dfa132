// What the HTTP API may use: narrow interfaces handed in by the composition root.
import type { CredentialVault } from '../auth/credential-vault.js';
import type { Clock } from '../domain/clock.js';
import type { CompletionWaiter } from '../engine/completion-waiter.js';
import type { ExecutionStream } from '../engine/execution-stream.js';
import type { EngineSettings } from '../engine/engine-settings.js';
import type { NodeCatalog } from '../engine/node-catalog.js';
import type { FileLibrary } from '../files/file-library.js';
import type { Logger } from '../log.js';
import type { BackupResult } from '../maintenance/backup.js';
import type { RetentionReport } from '../maintenance/retention.js';
import type { Enqueue } from '../queue/enqueue.js';
import type { Store } from '../store/store.js';
import type { TriggerControl } from '../triggers/monitoring.js';

/** Readiness as `/health/ready` reports it. */
export interface Readiness {
  ready: boolean;
  reasons: string[];
  checks: Record<string, boolean>;
  /** Why a check fails, in words (e.g. the database's connection error). */
  details?: Record<string, string>;
}

/** The API's view of the daemon. */
export interface ApiDeps {
  store: Store;
  enqueue: Enqueue;
  settings: () => EngineSettings;
  catalog: NodeCatalog;
  /** Forget a planned workflow after it changed. */
  invalidateWorkflow(id: string): void;
  completions: CompletionWaiter;
  /** Aborts a run in progress in this daemon (after the store marked it cancelled). */
  abortRun(executionId: string): void;
  /** Tells the dispatcher there is work (a re-queued execution). */
  wakeDispatcher(): void;
  /** The current structure fingerprint of a workflow, or null when it no longer exists. */
  workflowStructure(workflowId: string): Promise<string | null>;
  readiness(): Readiness;
  /** Executions running now and how many may. */
  runState(): { inFlight: number; capacity: number; poolThreads: number; poolQueued: number };
  clock: Clock;
  log: Logger;
  /** Re-reads the engine settings after a settings change, so it applies from the next claim or run. */
  reloadSettings(): Promise<unknown>;
  /** Seals credential data on create/update (reads go to the store: metadata only). */
  credentials: Pick<CredentialVault, 'create' | 'update'>;
  /** Uploaded files: rows and bytes together. */
  files: FileLibrary;
  /** Live run events by execution (Server-Sent Events). */
  executionStream: ExecutionStream;
  /** Prometheus text for GET /metrics. */
  metrics: { render(): Promise<string> };
  /** When true, /metrics needs no API key. */
  metricsPublic: boolean;
  /** Monitoring (start/stop/status of a workflow's triggers) and webhook deliveries. */
  triggers: TriggerControl;
  /** Runs retention now (after any run in progress); `dryRun` only counts what is due. */
  cleanup(dryRun: boolean): Promise<RetentionReport>;
  /** Takes a backup of the database now; `keep` overrides the backup_keep setting. */
  backups: { create(keep?: number): Promise<BackupResult> };
}
