// POST /webhooks/:path — outside /api/v1 and without an API key: a webhook_trigger's optional shared
// secret (HMAC-SHA256 of the raw body in X-TAV-Signature) is its authentication. Answers 202 with the
// event id once the event is durable.
import Router from '@koa/router';
import type Koa from 'koa';
import type { Json } from '../../../workers/node-contract.js';
import type { ApiDeps } from '../api-deps.js';
import { parseJsonText, readRawBody } from '../request-body.js';

/** The webhook route. */
export function webhookRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.post('/webhooks/:path', async (ctx) => {
    const rawBody = await readRawBody(ctx, deps.settings().maxContentLengthBytes);
    const { eventId } = await deps.triggers.receiveWebhook(ctx.params.path!, {
      rawBody,
      signature: ctx.get('x-tav-signature') || undefined,
      headers: ctx.req.headers,
      query: ctx.query,
      parseBody: () => parseBody(ctx, rawBody),
    });
    ctx.status = 202;
    ctx.body = { event_id: eventId };
  });
  return router;
}

/** JSON by content type (like the rest of the API); any other body is passed on as text. */
function parseBody(ctx: Koa.Context, rawBody: Buffer): Json {
  const type = ctx.request.type;
  const text = rawBody.toString('utf8');
  if (type === 'application/json' || type.endsWith('+json')) return parseJsonText(text) as Json;
  return text;
}
