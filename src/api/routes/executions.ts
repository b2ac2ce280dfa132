// What a run did: GET /api/v1/executions/:id, its per-port results and its logs.
import Router from '@koa/router';
import { z } from 'zod';
import { notFound } from '../../errors.js';
import type { ApiDeps } from '../api-deps.js';
import { cursorParam, limitParam } from '../paging.js';
import { parseOrThrow } from '../validation.js';

const logsQuery = z.object({ limit: limitParam, cursor: cursorParam });

const listQuery = z.object({
  workflow_id: z.string().min(1).max(64).optional(),
  status: z.enum(['pending', 'running', 'paused', 'completed', 'failed', 'cancelled']).optional(),
  source: z.enum(['api', 'manual', 'schedule', 'webhook', 'file_polling']).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  limit: limitParam,
  cursor: z.string().uuid().optional(),
});

/** Routes under /api/v1/executions. */
export function executionRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const requireExecution = async (id: string) => {
    const execution = await deps.store.getExecution(id);
    if (!execution) throw notFound('execution', id);
    return execution;
  };

  router.get('/executions', async (ctx) => {
    const query = parseOrThrow(listQuery, ctx.query, 'query');
    // started_at holds UTC ISO text: bounds are normalised to the same form so text order is time order.
    const iso = (value: string | undefined) => (value === undefined ? undefined : new Date(value).toISOString());
    const items = await deps.store.listExecutions({
      workflowId: query.workflow_id,
      status: query.status,
      source: query.source,
      startedFrom: iso(query.from),
      startedTo: iso(query.to),
      limit: query.limit,
      beforeId: query.cursor,
    });
    const last = items.at(-1);
    ctx.body = { items, next_cursor: items.length === query.limit && last ? last.id : null };
  });

  router.get('/executions/:id', async (ctx) => {
    ctx.body = await requireExecution(ctx.params.id!);
  });

  router.get('/executions/:id/results', async (ctx) => {
    await requireExecution(ctx.params.id!);
    ctx.body = { items: await deps.store.listResults(ctx.params.id!) };
  });

  router.get('/executions/:id/logs', async (ctx) => {
    await requireExecution(ctx.params.id!);
    const query = parseOrThrow(logsQuery, ctx.query, 'query');
    const logs = await deps.store.listLogs(ctx.params.id!, query.limit, query.cursor);
    const last = logs.at(-1);
    ctx.body = { items: logs, next_cursor: logs.length === query.limit && last ? String(last.id) : null };
  });

  return router;
}
