// Health for systemd, load balancers and admins: /health says the process answers; /health/ready
// says it can do its job, and if not, why.
import Router from '@koa/router';
import type { ApiDeps } from '../api-deps.js';

/** The unauthenticated health routes. */
export function healthRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/health/ready', (ctx) => {
    const readiness = deps.readiness();
    ctx.status = readiness.ready ? 200 : 503;
    ctx.body = { status: readiness.ready ? 'ready' : 'not_ready', reasons: readiness.reasons, checks: readiness.checks, ...(readiness.details ? { details: readiness.details } : {}) };
  });
  return router;
}
