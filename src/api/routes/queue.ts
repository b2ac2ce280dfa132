// GET /api/v1/queue: what an admin checks first — depth, age of the oldest waiting event, load.
import Router from '@koa/router';
import type { ApiDeps } from '../api-deps.js';

/** The queue status route. */
export function queueRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.get('/queue', async (ctx) => {
    const depth = await deps.store.queueDepth();
    const run = deps.runState();
    const oldest = depth.oldestPendingCreatedAt;
    ctx.body = {
      depth: depth.byStatus,
      pending_by_priority: depth.pendingByPriority,
      due_pending: depth.duePending,
      oldest_pending_age_ms: oldest === null ? null : Math.max(0, deps.clock.now() - Date.parse(oldest)),
      in_flight: run.inFlight,
      capacity: { max_concurrent_runs_global: run.capacity, free: Math.max(0, run.capacity - run.inFlight) },
      pool: { threads: run.poolThreads, queued_tasks: run.poolQueued },
    };
  });
  return router;
}
