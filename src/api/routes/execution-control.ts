// Cancel and retry of executions, and their loop iterations.
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { claimSortKey } from '../../domain/event.js';
import { isRecord } from '../../domain/workflow.js';
import { conflict, notFound } from '../../errors.js';
import type { ApiDeps } from '../api-deps.js';
import { readJsonBody } from '../request-body.js';
import { parseOrThrow } from '../validation.js';

const retryBody = z.strictObject({ force: z.boolean().default(false) });

/** Routes that steer one execution. */
export function executionControlRoutes(deps: ApiDeps): Router {
  const router = new Router();

  router.post('/executions/:id/cancel', async (ctx) => {
    const result = await deps.store.cancelExecution(ctx.params.id!);
    if (!result) throw notFound('execution', ctx.params.id!);
    if (!result.changed) throw conflict('not_cancellable', `execution ${ctx.params.id} is ${result.execution.status}`);
    deps.abortRun(ctx.params.id!);
    ctx.body = result.execution;
  });

  router.post('/executions/:id/retry', async (ctx: Koa.Context) => {
    const { force } = parseOrThrow(retryBody, await readJsonBody(ctx, deps.settings().maxContentLengthBytes), 'retry request');
    const execution = await deps.store.getExecution(ctx.params.id!);
    if (!execution) throw notFound('execution', ctx.params.id!);
    if (execution.status !== 'failed' && execution.status !== 'cancelled') {
      throw conflict('not_retryable', `execution ${execution.id} is ${execution.status}; only failed or cancelled executions can be retried`);
    }
    const current = await deps.workflowStructure(execution.workflow_id);
    if (current === null) throw conflict('workflow_missing', 'the workflow of this execution no longer exists');
    const ran = isRecord(execution.execution_metadata) ? execution.execution_metadata.workflow_structure : undefined;
    // A cancelled attempt never writes its outcome, so it leaves no fingerprint. Without one, any edit
    // of the workflow after the run started counts as a change (a rename too: the safe side).
    const changed = typeof ran === 'string' ? ran !== current : await editedSince(deps, execution.workflow_id, execution.started_at);
    // Finished nodes' outputs are reused: they must still fit the workflow, unless the caller insists.
    if (changed && !force) {
      throw conflict('workflow_changed', 'the workflow structure changed since this execution ran; retry with {"force": true} to run it anyway');
    }
    const agingMs = deps.settings().priorityAgingMs;
    const requeued = await deps.store.requeueExecution(execution.id, (priority, runAt) => claimSortKey(priority, runAt, agingMs));
    if (!requeued) throw conflict('not_retryable', `execution ${execution.id} could not be re-queued`);
    deps.wakeDispatcher();
    ctx.status = 202;
    ctx.body = await deps.store.getExecution(execution.id);
  });

  router.get('/executions/:id/iterations', async (ctx) => {
    if (!(await deps.store.getExecution(ctx.params.id!))) throw notFound('execution', ctx.params.id!);
    ctx.body = { items: await deps.store.listIterations(ctx.params.id!) };
  });

  return router;
}

/** True when the workflow was saved after `startedAt` (an execution's first start). */
async function editedSince(deps: ApiDeps, workflowId: string, startedAt: string | null): Promise<boolean> {
  const workflow = await deps.store.getWorkflow(workflowId);
  return workflow !== null && startedAt !== null && Date.parse(workflow.updated_at) > Date.parse(startedAt);
}
