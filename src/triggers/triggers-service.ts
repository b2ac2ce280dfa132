// The trigger subsystem as the composition root sees it: one object to build, start after the
// dispatcher, stop first on drain (so no trigger enqueues while the daemon winds down), and the
// control the HTTP API is given.
import type { Clock } from '../domain/clock.js';
import type { EngineSettings } from '../engine/engine-settings.js';
import type { Logger } from '../log.js';
import type { Enqueue } from '../queue/enqueue.js';
import type { Store } from '../store/store.js';
import { createFilePoller } from './file-poller.js';
import { createTriggerControl, type TriggerControl } from './monitoring.js';
import { TriggerRegistry } from './trigger-registry.js';

/** What the trigger subsystem is built from. */
export interface TriggersDeps {
  store: Store;
  enqueue: Enqueue;
  settings: () => EngineSettings;
  clock: Clock;
  log: Logger;
  dataDir: string;
  /** On a fleet: whether this daemon leads (runs the timed triggers); see TriggerRegistryDeps.leads. */
  leads?: () => boolean;
  /** On a fleet: tells the other daemons this daemon changed a workflow's triggers. */
  announce?: (workflowId: string) => void;
}

/** The running trigger subsystem. */
export interface Triggers {
  control: TriggerControl;
  /** Arms every monitoring workflow's triggers. */
  start(): Promise<void>;
  /** Disarms every trigger; nothing is enqueued by a trigger after it resolves. */
  stop(): Promise<void>;
  /** Brings one workflow's triggers in line with the database (another daemon changed them). */
  refresh(workflowId: string): Promise<void>;
  /** Re-arms every workflow (this daemon started or stopped leading). */
  rearmAll(): Promise<void>;
}

/** Builds the registry and the API's control over it. */
export function createTriggers(deps: TriggersDeps): Triggers {
  const registry = new TriggerRegistry({ ...deps, createFilePoller });
  return {
    control: createTriggerControl({ store: deps.store, registry, announce: deps.announce }),
    start: () => registry.start(),
    stop: () => registry.stop(),
    refresh: (workflowId) => registry.refresh(workflowId),
    rearmAll: () => registry.rearmAll(),
  };
}
