// One webhook delivery: find the armed webhook trigger on the path, check the shared-secret signature
// over the raw body, and enqueue the delivery (body, allowed headers, query) as the trigger's event.
import type { Json } from '../../workers/node-contract.js';
import { allowedWebhookHeaders, webhookQuery } from '../domain/webhook-payload.js';
import { AppError } from '../errors.js';
import type { TriggerRegistry } from './trigger-registry.js';
import { isValidWebhookSignature } from './webhook-signature.js';

/** A delivery as the HTTP layer hands it over. */
export interface WebhookDelivery {
  rawBody: Buffer;
  /** The `X-TAV-Signature` header, if sent. */
  signature: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  query: Record<string, string | string[] | undefined>;
  /** Parses the body by its content type; called only once the signature holds (may throw a 400). */
  parseBody(): Json;
}

/** Checks and enqueues one delivery; 404 when no monitoring workflow listens on `path`, 401 on a bad signature. */
export async function receiveWebhook(registry: Pick<TriggerRegistry, 'webhookAt' | 'fire'>, path: string, delivery: WebhookDelivery): Promise<{ eventId: number }> {
  const trigger = registry.webhookAt(path);
  // The same answer for a path nobody holds and one whose workflow is stopped or inactive: not armed.
  if (!trigger?.webhook) throw new AppError('webhook_not_found', `no monitoring workflow listens on webhook path '${path}'`, { status: 404 });
  const { secret } = trigger.webhook;
  if (secret !== null && !isValidWebhookSignature(secret, delivery.rawBody, delivery.signature)) {
    throw new AppError('invalid_signature', 'X-TAV-Signature is missing or is not the hex HMAC-SHA256 of the body under the webhook secret', { status: 401 });
  }
  const data = { body: delivery.parseBody(), headers: allowedWebhookHeaders(delivery.headers), query: webhookQuery(delivery.query) };
  const { event } = await registry.fire(trigger, data);
  return { eventId: event.id };
}
