// createApp(deps) → a Koa app (no listen): error shape, security headers, health, then the
// authenticated /api/v1 routes.
import Koa from 'koa';
import Router from '@koa/router';
import type { ApiDeps } from './api-deps.js';
import { auditTrail } from './audit-trail.js';
import { requireApiKey } from './auth.js';
import { assignRequestId } from './request-id.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { auditLogRoutes } from './routes/audit-logs.js';
import { settingsRoutes } from './routes/settings.js';
import { requireRouteScope } from './scopes.js';
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
import { fileRoutes } from './routes/files.js';
import { templateRoutes } from './routes/templates.js';
import { credentialRoutes } from './routes/credentials.js';
import { openApiRoutes } from './routes/openapi.js';
import { interactionRoutes } from './routes/interactions.js';
import { unlessPublic } from './public-routes.js';
import { adminBackupRoutes } from './routes/admin-backup.js';
import { monitoringRoutes } from './routes/monitoring.js';
import { webhookRoutes } from './routes/webhooks.js';
import { adminCleanupRoutes } from './routes/admin-cleanup.js';

// The API's version as the OpenAPI document states it.
const apiVersion = '1.0.0';

/** Builds the HTTP application. */
export function createApp(deps: ApiDeps): Koa {
  const app = new Koa();
  app.silent = true;
  app.use(assignRequestId(deps.log));
  app.use(securityHeaders);
  // Outside the error middleware: it records the final status and error body of every mutating request.
  app.use(auditTrail(deps.store, '/api/v1', deps.log));
  app.use(auditTrail(deps.store, '/webhooks', deps.log));
  app.use(errorMiddleware(deps.log));
  const health = healthRoutes(deps);
  app.use(health.routes());
  const metrics = metricsRoutes(deps);
  app.use(metrics.routes());
  // Webhooks carry no API key: a trigger's shared secret is their authentication.
  const webhooks = webhookRoutes(deps);
  app.use(webhooks.routes());

  const api = new Router({ prefix: '/api/v1' });
  // Routes the table marks public (approval links, authorised by their token) skip key and scope.
  api.use(unlessPublic(requireApiKey(deps.store, deps.clock)));
  api.use(unlessPublic(requireRouteScope('/api/v1')));
  for (const routes of [eventRoutes(deps), workflowRoutes(deps), monitoringRoutes(deps), templateRoutes(deps), executionRoutes(deps), executionControlRoutes(deps), executionStreamRoutes(deps), nodeRoutes(deps), queueRoutes(deps), fileRoutes(deps), credentialRoutes(deps), settingsRoutes(deps), apiKeyRoutes(deps), auditLogRoutes(deps), interactionRoutes(deps), adminCleanupRoutes(deps), adminBackupRoutes(deps), openApiRoutes(apiVersion)]) {
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
