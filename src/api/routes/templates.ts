// Workflow templates: workflows flagged `is_template` (the seeds ship a few examples). They are listed
// here by category, and instantiating one copies it into an ordinary workflow the caller owns.
import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import { z } from 'zod';
import { normalizeWorkflowData } from '../../domain/workflow.js';
import { validateWorkflow } from '../../engine/workflow-validation.js';
import { conflict, notFound } from '../../errors.js';
import type { WorkflowInput, WorkflowRecord } from '../../store/store.js';
import type { ApiDeps } from '../api-deps.js';
import { limitParam } from '../paging.js';
import { readJsonBody } from '../request-body.js';
import { parseOrThrow } from '../validation.js';

const listQuery = z.object({
  category: z.string().min(1).max(64).optional(),
  limit: limitParam,
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});

const instantiateBody = z.strictObject({
  name: z.string().min(1).max(255).optional(),
  description: z.string().max(10_000).nullable().optional(),
  execution_config: z.record(z.string(), z.json()).optional(),
});

type InstantiateBody = z.output<typeof instantiateBody>;

/** Routes under /api/v1/templates. */
export function templateRoutes(deps: ApiDeps): Router {
  const router = new Router();

  router.get('/templates', async (ctx) => {
    const query = parseOrThrow(listQuery, ctx.query, 'query');
    const filter = { isTemplate: true, templateCategory: query.category };
    ctx.body = { items: await deps.store.listWorkflows(query.limit, query.offset, filter), total: await deps.store.countWorkflows(filter), limit: query.limit, offset: query.offset };
  });

  router.post('/templates/:id/instantiate', async (ctx) => {
    const template = await deps.store.getWorkflow(ctx.params.id!);
    if (!template || !template.is_template) throw notFound('template', ctx.params.id!);
    const body = parseOrThrow(instantiateBody, await readJsonBody(ctx, deps.settings().maxContentLengthBytes), 'instantiate request');
    const id = randomUUID();
    const workflow = await deps.store.createWorkflow(id, instanceOf(deps, template, id, body, ctx.state.apiKey.user_id));
    ctx.status = 201;
    ctx.set('Location', `/api/v1/workflows/${workflow.id}`);
    ctx.body = workflow;
  });

  return router;
}

/**
 * The ordinary workflow a template becomes: its definition copied under the new id, `name` and
 * `description` from the body when given, `execution_config` the template's with the body's keys
 * laid over it. The template is validated again: a node type it uses may have gone since it was
 * saved (a plug-in removed), and the copy must be a workflow that can run.
 */
function instanceOf(deps: ApiDeps, template: WorkflowRecord, id: string, body: InstantiateBody, authorId: number): WorkflowInput {
  const data = normalizeWorkflowData(template.workflow_data);
  const problems = validateWorkflow(data, (type) => deps.catalog.get(type));
  if (problems.length > 0) throw conflict('invalid_template', `the template has ${problems.length} problem(s) and cannot be instantiated`, problems);
  const name = body.name ?? template.name;
  return {
    name,
    description: body.description !== undefined ? body.description : template.description,
    version: '1.0.0',
    workflow_data: { ...data, workflow_id: id, name, metadata: { ...data.metadata, template_id: template.id } },
    tags: template.tags,
    execution_config: { ...template.execution_config, ...body.execution_config },
    is_active: true,
    is_template: false,
    template_category: null,
    author_id: authorId,
  };
}
