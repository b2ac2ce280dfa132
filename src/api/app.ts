// createApp(deps) → a Koa app (no listen): error shape, security headers, health, then the
// authenticated /api/v1 routes.
import Koa from 'koa';
import Router from '@koa/router';
import type { ApiDeps } from './api-deps.js';
import { requireApiKey } from './auth.js';
import { errorMiddleware } from './error-middleware.js';
import { eventRoutes } from './routes/events.js';
import { executionControlRoutes } from './routes/execution-control.js';
import { executionRoutes } from './routes/executions.js';
import { executionStreamRoutes } from './routes/execution-stream.js';
import { nodeRoutes } from './routes/nodes.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { queueRoutes } from './routes/queue.js';
import { workflowRoutes } from './routes/workflows.js';

/** Builds the HTTP application. */
export function createApp(deps: ApiDeps): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(securityHeaders);
  app.use(errorMiddleware(deps.log));
  const health = healthRoutes(deps);
  app.use(health.routes());
  const metrics = metricsRoutes(deps);
  app.use(metrics.routes());

  const api = new Router({ prefix: '/api/v1' });
  api.use(requireApiKey(deps.store, deps.clock));
  for (const routes of [eventRoutes(deps), workflowRoutes(deps), executionRoutes(deps), executionControlRoutes(deps), executionStreamRoutes(deps), nodeRoutes(deps), queueRoutes(deps)]) {
    api.use(routes.routes(), routes.allowedMethods({ throw: false }));
  }
  app.use(api.routes());
  app.use(api.allowedMethods());
  return app;
}

const securityHeaders: Koa.Middleware = async (ctx, next) => {
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Cache-Control', 'no-store');
  await next();
};
