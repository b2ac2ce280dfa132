// Human in the loop (semantics §8): the list of approvals for admins (API key), and the two routes a
// reviewer reaches from the mailed link — authorised by the link's token alone (public in the route
// table). A wrong token and an unknown id answer the same 404; only the token's hash is compared.
// An answer without a token needs an admin API key instead: an approval that was not mailed (there is
// no other holder of its token) is answered by an operator, accountable in the audit trail.
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { claimSortKey } from '../../domain/event.js';
import { hashInteractionToken, interactionStatuses, isPastExpiry, type AnswerOutcome } from '../../domain/interaction.js';
import { AppError, conflict } from '../../errors.js';
import type { ApiDeps } from '../api-deps.js';
import { requireApiKey } from '../auth.js';
import { authorize } from '../scopes.js';
import { cursorParam, limitParam } from '../paging.js';
import { readJsonBody } from '../request-body.js';
import { parseOrThrow } from '../validation.js';

// 32 random bytes in base64url are 43 characters; the bound only keeps junk out of the hash.
const token = z.string().min(1).max(256);

const listQuery = z.object({
  status: z.enum(interactionStatuses).optional(),
  workflow_id: z.string().min(1).max(64).optional(),
  execution_id: z.string().min(1).max(64).optional(),
  limit: limitParam,
  cursor: cursorParam,
});

const tokenQuery = z.object({ token });

const answerBody = z.strictObject({
  token: token.optional(),
  action: z.enum(['approve', 'reject']),
  edited_draft: z.json().optional(),
});

/** Routes under /api/v1/interactions. */
export function interactionRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const adminKey = [requireApiKey(deps.store, deps.clock), authorize(() => ['admin'])];
  const requireAdminKey = (ctx: Koa.Context) => runChecks(adminKey, ctx);

  router.get('/interactions', async (ctx) => {
    const query = parseOrThrow(listQuery, ctx.query, 'query');
    const page = await deps.store.listInteractions({
      status: query.status,
      workflowId: query.workflow_id,
      executionId: query.execution_id,
      limit: query.limit,
      beforeId: query.cursor,
    });
    const last = page.at(-1);
    ctx.body = { items: page.map((entry) => entry.interaction), next_cursor: page.length === query.limit && last ? String(last.cursor) : null };
  });

  router.get('/interactions/:id', async (ctx) => {
    const { token: presented } = parseOrThrow(tokenQuery, ctx.query, 'query');
    const interaction = await deps.store.getInteractionByToken(ctx.params.id!, hashInteractionToken(presented));
    if (!interaction) throw unknownInteraction();
    if (interaction.status === 'expired' || isPastExpiry(interaction, deps.clock.now())) throw expired();
    ctx.body = interaction;
  });

  router.post('/interactions/:id', async (ctx: Koa.Context) => {
    const body = parseOrThrow(answerBody, await readJsonBody(ctx, deps.settings().maxContentLengthBytes), 'answer');
    if (body.token === undefined) await requireAdminKey(ctx);
    const agingMs = deps.settings().priorityAgingMs;
    const outcome = await deps.store.answerInteraction(
      { interactionId: ctx.params.id!, tokenHash: body.token === undefined ? null : hashInteractionToken(body.token), action: body.action, editedDraft: body.edited_draft },
      (priority, runAt) => claimSortKey(priority, runAt, agingMs),
    );
    if (outcome.kind !== 'answered') {
      // An expiry found here resumed the run (down its expired path) in the same transaction.
      if (outcome.kind === 'expired') deps.wakeDispatcher();
      throw refusal(outcome);
    }
    if (outcome.resumed) deps.wakeDispatcher();
    ctx.body = { ...outcome.interaction, resumed: outcome.resumed };
  });

  return router;
}

/** Runs the key and scope checks in order; a refusal throws (401/403) as the /api/v1 middleware does. */
async function runChecks(checks: Koa.Middleware[], ctx: Koa.Context): Promise<void> {
  for (const check of checks) await check(ctx, async () => undefined);
}

function refusal(outcome: Exclude<AnswerOutcome, { kind: 'answered' }>): AppError {
  switch (outcome.kind) {
    case 'not_found':
      return unknownInteraction();
    case 'expired':
      return expired();
    case 'already_answered':
      return conflict('already_answered', `the interaction was already answered (${outcome.status})`);
    default:
      return conflict('interaction_closed', `the interaction can no longer be answered: its execution has ended (${outcome.status})`);
  }
}

// One answer for an unknown id and a wrong token, so a guess learns nothing about which ids exist.
function unknownInteraction(): AppError {
  return new AppError('not_found', 'no interaction with this id and token', { status: 404 });
}

function expired(): AppError {
  return new AppError('interaction_expired', 'the interaction has expired', { status: 410 });
}
