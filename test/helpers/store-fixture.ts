// A SqliteStore on a fresh, migrated and seeded temp database, without a daemon: for tests of the
// store's own transitions (claims, limits, pause and resume) that need no HTTP or worker threads.
import path from 'node:path';
import type { Clock } from '../../src/domain/clock.js';
import { createLogger } from '../../src/log.js';
import type { Store } from '../../src/store/store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { makeDataDir, prepareDatabase } from './daemon.js';

/** Opens a store on a new temp data folder named after `label`; the writer commits at once. */
export async function openTestStore(label: string, clock: Clock = { now: () => Date.now() }): Promise<{ store: SqliteStore; dataDir: string }> {
  const dataDir = makeDataDir(label);
  await prepareDatabase(dataDir);
  const store = new SqliteStore({ dbPath: path.join(dataDir, 'tav_engine.db'), synchronous: 'NORMAL', writerMaxBatch: 1000, writerMaxDelayMs: 0, clock, log: createLogger('error', { silent: true }) });
  return { store, dataDir };
}

/** Creates an empty, active workflow `id`: enough for events to point at. */
export async function createBareWorkflow(store: Pick<Store, 'createWorkflow'>, id: string, name = id): Promise<void> {
  await store.createWorkflow(id, {
    name,
    description: null,
    version: '1',
    workflow_data: { nodes: [], connections: [] },
    tags: [],
    execution_config: {},
    is_active: true,
    is_template: false,
    template_category: null,
    author_id: null,
  });
}
