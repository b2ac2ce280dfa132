// How this daemon joins a fleet on PostgreSQL: the Fleet (service/fleet.ts) wired to the dispatcher,
// the workflow cache and the triggers, with the leader's duties — retention on its own timer and the
// timed triggers — started on election and stopped on deposal.
import type { WorkflowCache } from '../engine/workflow-cache.js';
import type { Logger } from '../log.js';
import { createRetentionScheduler, type RetentionSources } from '../maintenance/retention-service.js';
import type { PgStore } from '../store/pg/pg-store.js';
import type { Triggers } from '../triggers/triggers-service.js';
import { Fleet } from './fleet.js';

/** What joining needs of the daemon. */
export interface FleetMemberDeps {
  store: PgStore;
  owner: string;
  leaseMs: number;
  dispatcher: { wake(): void; readonly inFlightEventIds: number[] };
  workflows: Pick<WorkflowCache, 'invalidate' | 'clear'>;
  triggers: Pick<Triggers, 'refresh' | 'rearmAll'>;
  retention: RetentionSources;
  /** True once the daemon drains: a deposal then leaves the triggers disarmed. */
  isDraining(): boolean;
  log: Logger;
}

/** The daemon's Fleet; start() it once the dispatcher runs. */
export function joinFleet(deps: FleetMemberDeps): Fleet {
  let leaderRetention: ReturnType<typeof createRetentionScheduler> | null = null;
  return new Fleet({
    store: deps.store,
    url: deps.store.url,
    schema: deps.store.schema,
    owner: deps.owner,
    leaseMs: deps.leaseMs,
    log: deps.log.child({ component: 'fleet' }),
    heldEventIds: () => deps.dispatcher.inFlightEventIds,
    wake: () => deps.dispatcher.wake(),
    workflowChanged: (id) => deps.workflows.invalidate(id),
    triggersChanged: (id) => {
      deps.triggers.refresh(id).catch((error: unknown) => deps.log.warn('triggers not refreshed', { workflowId: id, error: String(error) }));
    },
    resync: () => {
      deps.workflows.clear();
      deps.triggers.rearmAll().catch((error: unknown) => deps.log.warn('triggers not re-armed', { error: String(error) }));
    },
    duties: {
      start: async () => {
        leaderRetention = createRetentionScheduler(deps.retention);
        leaderRetention.start();
        // Re-armed with this daemon leading: schedules and folder watches start here.
        await deps.triggers.rearmAll();
      },
      stop: async () => {
        await leaderRetention?.stop();
        leaderRetention = null;
        if (!deps.isDraining()) await deps.triggers.rearmAll();
      },
    },
  });
}
