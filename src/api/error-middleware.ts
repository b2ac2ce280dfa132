// Every failure leaves as `{ error: { code, message, details?, request_id } }` with a 4xx/5xx status;
// internals (stack traces, SQL) stay in the log.
import type Koa from 'koa';
import { AppError, coerceError } from '../errors.js';
import { isConnectionError } from '../store/pg/pg-errors.js';
import type { Logger } from '../log.js';
import { requestIdOf } from './request-id.js';

/** Catches everything thrown below it and answers with the JSON error shape. */
export function errorMiddleware(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      // Router answers without a body (no route, method not allowed) still get the error shape.
      if (ctx.status === 404 && !ctx.body) {
        ctx.status = 404;
        ctx.body = { error: { code: 'route_not_found', message: `no route for ${ctx.method} ${ctx.path}`, request_id: requestIdOf(ctx) } };
      } else if (ctx.status === 405 && !ctx.body) {
        ctx.status = 405;
        ctx.body = { error: { code: 'method_not_allowed', message: `${ctx.method} is not allowed on ${ctx.path}`, request_id: requestIdOf(ctx) } };
      }
    } catch (thrown) {
      // A shared database that is away is a temporary condition the client can wait out, not a bug.
      const error = isConnectionError(thrown)
        ? new AppError('database_unavailable', 'the database cannot be reached right now; try again shortly', { status: 503, retryAfterSeconds: 2, expose: true, cause: thrown })
        : coerceError(thrown);
      if (error.status >= 500) log.error('request failed', { requestId: requestIdOf(ctx), method: ctx.method, path: ctx.path, code: error.code, error: String(error.cause ?? error) });
      ctx.status = error.status;
      if (error.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(error.retryAfterSeconds));
      ctx.body = {
        error: {
          code: error.code,
          message: error.expose ? error.message : 'internal error',
          ...(error.expose && error.details !== undefined ? { details: error.details } : {}),
          request_id: requestIdOf(ctx),
        },
      };
    }
  };
}
