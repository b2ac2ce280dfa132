// GET /metrics: Prometheus text exposition. Behind an API key (read scope) unless TAV_METRICS_PUBLIC is set.
import Router from '@koa/router';
import type { ApiDeps } from '../api-deps.js';
import { requireApiKey } from '../auth.js';
import { authorize } from '../scopes.js';

/** The metrics route. */
export function metricsRoutes(deps: ApiDeps): Router {
  const router = new Router();
  if (!deps.metricsPublic) router.use(requireApiKey(deps.store, deps.clock), authorize(() => ['read']));
  router.get('/metrics', async (ctx) => {
    ctx.type = 'text/plain; version=0.0.4; charset=utf-8';
    ctx.body = await deps.metrics.render();
  });
  return router;
}
