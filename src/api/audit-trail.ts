// Every mutating /api/v1 request leaves an audit_logs row — also a refused one (400/401/403/404/409/
// 413/415 …): who (user, key), what (action, resource), from where (ip, user agent), and how it ended
// (status, error). Sits outside the error middleware, so it sees the final status and error body.
//
// The row is not awaited: it joins the writer's queue and rides in the next group commit with other
// requests' writes, so the answer does not wait for it and a burst of enqueues costs no extra commits.
import type Koa from 'koa';
import type { Logger } from '../log.js';
import type { AuditEntry, AuditStore } from '../store/access-store.js';
import type { AuthState } from './auth.js';
import { defaultRefusalLimits, RefusalThrottle, type RefusalLimits } from './audit-throttle.js';
import { matchedRoute } from './matched-route.js';
import { requestIdOf } from './request-id.js';

const mutatingMethods = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

// Column widths of audit_logs (001_initial_schema): values are cut to fit, never refused.
const limits = { action: 64, resourceType: 64, resourceId: 128, ip: 64, userAgent: 512, errorMessage: 2000, path: 512 };

/** Records each mutating request under `prefix` once it has been answered. */
export function auditTrail(store: AuditStore, prefix: string, log: Logger, limits: RefusalLimits = defaultRefusalLimits): Koa.Middleware {
  const throttle = new RefusalThrottle(limits, Date.now, (count) => log.warn('audit rows of keyless refusals suppressed', { count, windowSeconds: 60 }));
  return async (ctx, next) => {
    if (!mutatingMethods.has(ctx.method) || !(ctx.path === prefix || ctx.path.startsWith(`${prefix}/`))) {
      await next();
      return;
    }
    try {
      await next();
    } finally {
      // The answer is already decided: a fault here must not turn it into a 500.
      try {
        const keyless = (ctx.state as Partial<AuthState>).apiKey === undefined;
        if (!keyless || ctx.status < 400 || throttle.admit(ctx.ip || 'unknown')) store.recordAudit(auditEntry(ctx, prefix));
      } catch (error) {
        log.error('audit row not recorded', { requestId: requestIdOf(ctx), error: String(error) });
      }
    }
  };
}

/** The audit row describing the answered request `ctx`. */
function auditEntry(ctx: Koa.Context, prefix: string): AuditEntry {
  const key = (ctx.state as Partial<AuthState>).apiKey;
  const route = matchedRoute(ctx);
  const error = errorOf(ctx.body);
  const [resourceType, resourceId] = resourceOf(ctx, prefix);
  return {
    userId: key?.user_id ?? null,
    apiKeyId: key?.id ?? null,
    action: cut(`${ctx.method} ${route ?? ctx.path}`, limits.action),
    resourceType: resourceType === null ? null : cut(resourceType, limits.resourceType),
    resourceId: resourceId === null ? null : cut(resourceId, limits.resourceId),
    ipAddress: ctx.ip ? cut(ctx.ip, limits.ip) : null,
    userAgent: ctx.get('user-agent') ? cut(ctx.get('user-agent'), limits.userAgent) : null,
    statusCode: ctx.status,
    errorCode: ctx.status >= 400 ? (error?.code ?? null) : null,
    errorMessage: ctx.status >= 400 && error?.message ? cut(error.message, limits.errorMessage) : null,
    // An unmatched path is kept whole-ish: the action above holds only its first 64 characters.
    details: route === null ? { path: cut(ctx.path, limits.path) } : null,
    requestId: requestIdOf(ctx) ?? null,
  };
}

/**
 * The resource a request is about, from its path: `/api/v1/<type>/<id>/…`. A create has no id in its
 * path; its Location header (`/api/v1/workflows/<new id>`) names the new resource instead.
 */
function resourceOf(ctx: Koa.Context, prefix: string): [string | null, string | null] {
  const segments = ctx.path.slice(prefix.length).split('/').filter(Boolean);
  const type = segments[0] ?? null;
  if (segments[1] !== undefined) return [type, segments[1]];
  // Koa 3 answers undefined for an unset header, whatever its typings say.
  const location = (ctx.response.get('Location') as string | undefined) ?? '';
  const created = location.startsWith(`${prefix}/${type}/`) ? location.slice(prefix.length + (type?.length ?? 0) + 2).split('/')[0] : undefined;
  return [type, created || null];
}

function errorOf(body: unknown): { code?: string; message?: string } | null {
  if (typeof body !== 'object' || body === null || !('error' in body)) return null;
  const error = (body as { error: unknown }).error;
  return typeof error === 'object' && error !== null ? (error as { code?: string; message?: string }) : null;
}

function cut(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}
