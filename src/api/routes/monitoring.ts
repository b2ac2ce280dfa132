// Monitoring of a workflow's triggers: start, stop, status. The state lives in the workflow's row, so
// a monitoring workflow's triggers re-arm after a restart.
import Router from '@koa/router';
import type { ApiDeps } from '../api-deps.js';

/** Routes under /api/v1/workflows/:id/monitoring. */
export function monitoringRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.post('/workflows/:id/monitoring/start', async (ctx) => {
    ctx.body = await deps.triggers.startMonitoring(ctx.params.id!);
  });
  router.post('/workflows/:id/monitoring/stop', async (ctx) => {
    ctx.body = await deps.triggers.stopMonitoring(ctx.params.id!);
  });
  router.get('/workflows/:id/monitoring/status', async (ctx) => {
    ctx.body = await deps.triggers.monitoringStatus(ctx.params.id!);
  });
  return router;
}
