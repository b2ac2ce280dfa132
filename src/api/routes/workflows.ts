// Workflow CRUD and manual execution. Bodies may be our wrapped form `{name, workflow_data, …}` or a
// TAV export `{id, name, description, nodes, connections, …}` as it is.
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { defaultPriority, maxPriority, minPriority } from '../../domain/event.js';
import { isRecord, normalizeWorkflowData } from '../../domain/workflow.js';
import { validateWorkflow } from '../../engine/workflow-validation.js';
import { badRequest, conflict, notFound } from '../../errors.js';
import type { WorkflowInput } from '../../store/store.js';
import type { ApiDeps } from '../api-deps.js';
import { eventView } from '../event-view.js';
import { limitParam } from '../paging.js';
import { readJsonBody } from '../request-body.js';
import { parseOrThrow } from '../validation.js';
import { toEnqueueRequest } from './events.js';

const workflowBody = z.object({
  name: z.string().min(1).max(255),
  description: z.string().max(10_000).nullable().default(null),
  version: z.string().min(1).max(32).default('1.0.0'),
  workflow_data: z.record(z.string(), z.unknown()),
  tags: z.array(z.string().max(64)).max(50).default([]),
  execution_config: z.record(z.string(), z.json()).default({}),
  is_active: z.boolean().default(true),
  is_template: z.boolean().default(false),
  template_category: z.string().max(64).nullable().default(null),
});

const executeBody = z.strictObject({
  event_data: z.json().optional(),
  data: z.json().optional(),
  priority: z.number().int().min(minPriority).max(maxPriority).default(defaultPriority),
  delay_ms: z.number().int().min(0).optional(),
  dedup_key: z.string().min(1).max(255).optional(),
  max_attempts: z.number().int().min(1).max(20).optional(),
});

const listQuery = z.object({
  limit: limitParam,
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  is_template: z.enum(['true', 'false']).optional(),
});

/** Turns either accepted body form into validated workflow fields, or a 400 listing every problem. */
function toWorkflowInput(deps: ApiDeps, body: unknown, authorId: number): WorkflowInput {
  const wrapped = isRecord(body) && !('workflow_data' in body) && 'nodes' in body ? wrapExport(body) : body;
  const parsed = parseOrThrow(workflowBody, wrapped, 'workflow');
  const data = normalizeWorkflowData(parsed.workflow_data);
  const problems = validateWorkflow(data, (type) => deps.catalog.get(type));
  if (problems.length > 0) throw badRequest('invalid_workflow', `the workflow has ${problems.length} problem(s)`, problems);
  return { ...parsed, workflow_data: { ...data, name: parsed.name }, author_id: authorId };
}

/** A TAV export carries the definition at top level; its name and description describe the workflow. */
function wrapExport(exported: Record<string, unknown>): Record<string, unknown> {
  return {
    name: typeof exported.name === 'string' && exported.name !== '' ? exported.name : 'Imported workflow',
    description: typeof exported.description === 'string' ? exported.description : null,
    workflow_data: exported,
  };
}

/** Routes under /api/v1/workflows. */
export function workflowRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const body = (ctx: Koa.Context) => readJsonBody(ctx, deps.settings().maxContentLengthBytes);

  router.post('/workflows', async (ctx) => {
    const input = toWorkflowInput(deps, await body(ctx), ctx.state.apiKey.user_id);
    const workflow = await deps.store.createWorkflow(randomUUID(), input);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/workflows/${workflow.id}`);
    ctx.body = workflow;
  });

  router.get('/workflows', async (ctx) => {
    const query = parseOrThrow(listQuery, ctx.query, 'query');
    // Templates are workflows too: listed unless `is_template` asks for one kind only.
    const filter = query.is_template === undefined ? {} : { isTemplate: query.is_template === 'true' };
    ctx.body = { items: await deps.store.listWorkflows(query.limit, query.offset, filter), total: await deps.store.countWorkflows(filter), limit: query.limit, offset: query.offset };
  });

  router.get('/workflows/:id', async (ctx) => {
    const workflow = await deps.store.getWorkflow(ctx.params.id!);
    if (!workflow) throw notFound('workflow', ctx.params.id!);
    ctx.body = workflow;
  });

  router.put('/workflows/:id', async (ctx) => {
    const input = toWorkflowInput(deps, await body(ctx), ctx.state.apiKey.user_id);
    const workflow = await deps.store.updateWorkflow(ctx.params.id!, input);
    if (!workflow) throw notFound('workflow', ctx.params.id!);
    deps.invalidateWorkflow(workflow.id);
    // A monitoring workflow's triggers follow its new definition before the answer.
    await deps.triggers.workflowChanged(workflow.id);
    ctx.body = workflow;
  });

  router.delete('/workflows/:id', async (ctx) => {
    const result = await deps.store.deleteWorkflow(ctx.params.id!);
    if (result === 'missing') throw notFound('workflow', ctx.params.id!);
    if (result === 'busy') throw conflict('workflow_busy', 'the workflow has pending or running work; cancel it or let it finish first');
    deps.invalidateWorkflow(ctx.params.id!);
    await deps.triggers.workflowChanged(ctx.params.id!);
    ctx.status = 204;
  });

  router.post('/workflows/:id/execute', async (ctx) => {
    const parsed = parseOrThrow(executeBody, await body(ctx), 'execute request');
    const request = await toEnqueueRequest(
      deps,
      { workflow_id: ctx.params.id!, event_type: 'manual', event_data: parsed.event_data ?? parsed.data ?? {}, priority: parsed.priority, delay_ms: parsed.delay_ms, dedup_key: parsed.dedup_key, max_attempts: parsed.max_attempts },
      'manual',
    );
    const awaitCompletion = ctx.get('x-await-completion').toLowerCase() === 'true';
    const { event } = await deps.enqueue(request);
    ctx.set('Location', `/api/v1/events/${event.id}`);
    if (!awaitCompletion) {
      ctx.status = 202;
      ctx.body = { event: eventView(event), execution: null };
      return;
    }
    const waiting = deps.completions.wait(event.id, deps.settings().httpTimeoutMs);
    // A deduplicated event may have finished already; then there is nothing to wait for.
    const current = await deps.store.getEvent(event.id);
    const status = current && ['completed', 'failed', 'cancelled', 'paused'].includes(current.status) ? current.status : await waiting;
    const latest = await deps.store.getEvent(event.id) ?? event;
    const execution = latest.executionId ? await deps.store.getExecution(latest.executionId) : null;
    ctx.status = status === null ? 202 : 200;
    ctx.body = { event: eventView(latest), execution, timed_out: status === null };
  });

  return router;
}
