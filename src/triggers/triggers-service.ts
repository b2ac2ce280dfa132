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
}

/** The running trigger subsystem. */
export interface Triggers {
  control: TriggerControl;
  /** Arms every monitoring workflow's triggers. */
  start(): Promise<void>;
  /** Disarms every trigger; nothing is enqueued by a trigger after it resolves. */
  stop(): Promise<void>;
}

/** Builds the registry and the API's control over it. */
export function createTriggers(deps: TriggersDeps): Triggers {
  const registry = new TriggerRegistry({ ...deps, createFilePoller });
  return { control: createTriggerControl({ store: deps.store, registry }), start: () => registry.start(), stop: () => registry.stop() };
}
