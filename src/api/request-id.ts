// Every request gets an id: a sane incoming X-Request-Id is kept (so a caller can follow its request
// through our logs), anything else is replaced. It is echoed in the response header, in error bodies
// and in the audit row.
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import type { Logger } from '../log.js';

/** The request id, on `ctx.state.requestId`. */
export interface RequestIdState {
  requestId: string;
}

// Short and inert: safe in a header, a log field and a 64-character column.
const acceptedRequestId = /^[A-Za-z0-9._-]{1,64}$/;

/** Assigns the request id and logs each request at debug level with it. */
export function assignRequestId(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = acceptedRequestId.test(incoming) ? incoming : randomUUID();
    (ctx.state as RequestIdState).requestId = requestId;
    ctx.set('X-Request-Id', requestId);
    const started = performance.now();
    await next();
    if (log.isDebugEnabled()) {
      log.debug('request handled', { requestId, method: ctx.method, path: ctx.path, status: ctx.status, durationMs: Math.round(performance.now() - started) });
    }
  };
}

/** The id of the request `ctx` serves (undefined before assignRequestId ran). */
export function requestIdOf(ctx: Koa.Context): string | undefined {
  return (ctx.state as Partial<RequestIdState>).requestId;
}
