// POST/GET /api/v1/events and cancel: how services hand work to the daemon.
import Router from '@koa/router';
import { z } from 'zod';
import { defaultPriority, maxPriority, minPriority, type EnqueueRequest, type EventSource } from '../../domain/event.js';
import { AppError, conflict, notFound } from '../../errors.js';
import type { ApiDeps } from '../api-deps.js';
import { eventView } from '../event-view.js';
import { cursorParam, limitParam } from '../paging.js';
import { readJsonBody } from '../request-body.js';
import { parseOrThrow } from '../validation.js';

const maxDelayMs = 365 * 24 * 3600 * 1000;

const enqueueBody = z.strictObject({
  workflow_id: z.string().min(1).max(64),
  event_type: z.string().min(1).max(64).default('api'),
  event_data: z.json().default({}),
  priority: z.number().int().min(minPriority).max(maxPriority).default(defaultPriority),
  run_at: z.union([z.iso.datetime({ offset: true }), z.number().int().nonnegative()]).optional(),
  delay_ms: z.number().int().min(0).max(maxDelayMs).optional(),
  max_attempts: z.number().int().min(1).max(20).optional(),
  dedup_key: z.string().min(1).max(255).optional(),
});

/** The fields of an enqueue body, as other routes (execute) accept them too. */
export type EnqueueBody = z.infer<typeof enqueueBody>;

const listQuery = z.object({
  status: z.enum(['pending', 'processing', 'paused', 'completed', 'failed', 'cancelled']).optional(),
  workflow_id: z.string().min(1).max(64).optional(),
  limit: limitParam,
  cursor: cursorParam,
});

const idParam = z.coerce.number().int().positive();

/** Builds the enqueue request an event body describes; 404 when the workflow does not exist. */
export async function toEnqueueRequest(deps: ApiDeps, body: EnqueueBody, source: EventSource): Promise<EnqueueRequest> {
  if (body.run_at !== undefined && body.delay_ms !== undefined) {
    throw new AppError('validation_failed', 'give run_at or delay_ms, not both', { status: 400 });
  }
  if (!(await deps.store.workflowExists(body.workflow_id))) throw notFound('workflow', body.workflow_id);
  const now = deps.clock.now();
  const runAt = body.run_at !== undefined ? (typeof body.run_at === 'number' ? body.run_at : Date.parse(body.run_at)) : now + (body.delay_ms ?? 0);
  return {
    workflowId: body.workflow_id,
    eventType: body.event_type,
    eventData: body.event_data,
    priority: body.priority,
    source,
    runAt: Math.max(runAt, 0),
    maxAttempts: body.max_attempts ?? deps.settings().eventMaxAttempts,
    dedupKey: body.dedup_key ?? null,
  };
}

/** Routes under /api/v1/events. */
export function eventRoutes(deps: ApiDeps): Router {
  const router = new Router();

  router.post('/events', async (ctx) => {
    const body = parseOrThrow(enqueueBody, await readJsonBody(ctx, deps.settings().maxContentLengthBytes), 'event');
    const { event, created } = await deps.enqueue(await toEnqueueRequest(deps, body, 'api'));
    // A repeated dedup key answers with the first event, unchanged.
    ctx.status = created ? 202 : 200;
    ctx.set('Location', `/api/v1/events/${event.id}`);
    ctx.body = { ...eventView(event), deduplicated: !created };
  });

  router.get('/events', async (ctx) => {
    const query = parseOrThrow(listQuery, ctx.query, 'query');
    const events = await deps.store.listEvents({ status: query.status, workflowId: query.workflow_id, limit: query.limit, beforeId: query.cursor });
    const last = events.at(-1);
    ctx.body = { items: events.map(eventView), next_cursor: events.length === query.limit && last ? String(last.id) : null };
  });

  router.get('/events/:id', async (ctx) => {
    const id = parseOrThrow(idParam, ctx.params.id, 'event id');
    const event = await deps.store.getEvent(id);
    if (!event) throw notFound('event', id);
    ctx.body = eventView(event);
  });

  router.post('/events/:id/cancel', async (ctx) => {
    const id = parseOrThrow(idParam, ctx.params.id, 'event id');
    const result = await deps.store.cancelPendingEvent(id);
    if (!result) throw notFound('event', id);
    if (!result.cancelled) throw conflict('not_pending', `event ${id} is ${result.event.status}; only pending events can be cancelled`);
    ctx.body = eventView(result.event);
  });

  return router;
}
