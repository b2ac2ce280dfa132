// Which scope each /api/v1 route needs. One table, so the whole policy reads in one place:
//
//   admin    everything
//   read     every GET, except the admin-only families below
//   enqueue  POST /events, POST /workflows/:id/execute, and GET /events/:id (the Location an enqueue
//            answers with must be followable by the key that enqueued)
//   admin-only, every method: /settings, /api-keys, /audit-logs, /credentials
//   any other write (workflow CRUD, cancel, retry, …): admin
//
// A key may hold several scopes (e.g. `read,enqueue`); holding any one the route accepts is enough.
// Routes the route table marks public (the approval links, authorised by their token) need no key at all.
import type Koa from 'koa';
import type { ApiKeyScope } from '../auth/api-keys.js';
import { AppError } from '../errors.js';
import type { AuthState } from './auth.js';
import { matchedRoute } from './matched-route.js';

const adminOnlyFamilies = ['/settings', '/api-keys', '/audit-logs', '/credentials'];

const enqueueRoutes = new Set(['POST /events', 'POST /workflows/:id/execute', 'GET /events/:id']);

/** The scopes of which a key needs one for `method` on `route` (a template below /api/v1); admin always suffices. */
export function requiredScopes(method: string, route: string): readonly ApiKeyScope[] {
  const verb = method === 'HEAD' ? 'GET' : method;
  if (adminOnlyFamilies.some((family) => route === family || route.startsWith(`${family}/`))) return ['admin'];
  if (enqueueRoutes.has(`${verb} ${route}`)) return verb === 'GET' ? ['read', 'enqueue'] : ['enqueue'];
  return verb === 'GET' ? ['read'] : ['admin'];
}

/** True when `granted` satisfies `required`. */
export function scopesAllow(granted: readonly string[], required: readonly ApiKeyScope[]): boolean {
  return granted.includes('admin') || required.some((scope) => granted.includes(scope));
}

/** Refuses with 403 a key whose scopes do not cover the matched /api/v1 route. Runs after requireApiKey. */
export function requireRouteScope(prefix: string): Koa.Middleware {
  return authorize((ctx) => requiredScopes(ctx.method, (matchedRoute(ctx) ?? ctx.path).slice(prefix.length) || '/'));
}

/** Refuses with 403 a key that holds none of the scopes `required` names for the request. */
export function authorize(required: (ctx: Koa.Context) => readonly ApiKeyScope[]): Koa.Middleware {
  return async (ctx, next) => {
    const granted = (ctx.state as AuthState).apiKey.scopes;
    const needed = required(ctx);
    if (!scopesAllow(granted, needed)) {
      throw new AppError('forbidden', `this route needs the ${needed.join(' or ')} scope; the key has ${granted.join(', ') || 'none'}`, {
        status: 403,
        details: { required: needed, granted },
      });
    }
    await next();
  };
}
