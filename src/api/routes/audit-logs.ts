// GET /api/v1/audit-logs (admin scope): the audit trail, newest first, with filters and cursor paging.
import Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../api-deps.js';
import { cursorParam, limitParam } from '../paging.js';
import { parseOrThrow } from '../validation.js';

const listQuery = z.object({
  user_id: z.coerce.number().int().nonnegative().optional(),
  api_key_id: z.coerce.number().int().nonnegative().optional(),
  action: z.string().min(1).max(128).optional(),
  resource_type: z.string().min(1).max(64).optional(),
  resource_id: z.string().min(1).max(128).optional(),
  request_id: z.string().min(1).max(64).optional(),
  // One status (`403`) or a class (`4xx`).
  status: z.string().regex(/^(?:[1-5]\d\d|[1-5]xx)$/, 'a status such as 403, or a class such as 4xx').optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: limitParam,
  cursor: cursorParam,
});

/** Routes under /api/v1/audit-logs. */
export function auditLogRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.get('/audit-logs', async (ctx) => {
    const query = parseOrThrow(listQuery, ctx.query, 'query');
    const [statusMin, statusMax] = statusBounds(query.status);
    // created_at holds UTC ISO text: bounds are normalised to the same form so text order is time order.
    const iso = (value: string | undefined) => (value === undefined ? undefined : new Date(value).toISOString());
    const items = await deps.store.listAuditLogs({
      userId: query.user_id,
      apiKeyId: query.api_key_id,
      action: query.action,
      resourceType: query.resource_type,
      resourceId: query.resource_id,
      requestId: query.request_id,
      statusMin,
      statusMax,
      from: iso(query.from),
      to: iso(query.to),
      limit: query.limit,
      beforeId: query.cursor,
    });
    const last = items.at(-1);
    ctx.body = { items, next_cursor: items.length === query.limit && last ? String(last.id) : null };
  });
  return router;
}

function statusBounds(status: string | undefined): [number | undefined, number | undefined] {
  if (status === undefined) return [undefined, undefined];
  if (status.endsWith('xx')) {
    const base = Number(status[0]) * 100;
    return [base, base + 99];
  }
  return [Number(status), Number(status)];
}
