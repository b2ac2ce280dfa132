// What a run did: GET /api/v1/executions/:id, its per-port results and its logs.
import Router from '@koa/router';
import { z } from 'zod';
import { notFound } from '../../errors.js';
import type { ApiDeps } from '../api-deps.js';
import { cursorParam, limitParam } from '../paging.js';
import { parseOrThrow } from '../validation.js';

const logsQuery = z.object({ limit: limitParam, cursor: cursorParam });

/** Routes under /api/v1/executions. */
export function executionRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const requireExecution = (id: string) => {
    const execution = deps.store.getExecution(id);
    if (!execution) throw notFound('execution', id);
    return execution;
  };

  router.get('/executions/:id', (ctx) => {
    ctx.body = requireExecution(ctx.params.id!);
  });

  router.get('/executions/:id/results', (ctx) => {
    requireExecution(ctx.params.id!);
    ctx.body = { items: deps.store.listResults(ctx.params.id!) };
  });

  router.get('/executions/:id/logs', (ctx) => {
    requireExecution(ctx.params.id!);
    const query = parseOrThrow(logsQuery, ctx.query, 'query');
    const logs = deps.store.listLogs(ctx.params.id!, query.limit, query.cursor);
    const last = logs.at(-1);
    ctx.body = { items: logs, next_cursor: logs.length === query.limit && last ? String(last.id) : null };
  });

  return router;
}
