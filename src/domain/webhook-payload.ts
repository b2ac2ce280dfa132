// The event a webhook delivery enqueues, in TAV's shape: body, an allowlist of headers, and the query.
// Headers outside the allowlist never reach the queue: credentials (authorization, cookies, the
// signature itself) would otherwise be stored with every execution's trigger data.
import type { Json } from '../../workers/node-contract.js';

const allowedHeaders: ReadonlySet<string> = new Set([
  'accept',
  'content-length',
  'content-type',
  'user-agent',
  'x-request-id',
  'x-correlation-id',
  'x-forwarded-for',
  'x-github-delivery',
  'x-github-event',
  'x-gitlab-event',
]);

// The signature authenticates the delivery; it is not data for the workflow.
const refusedHeaders: ReadonlySet<string> = new Set(['x-tav-signature']);

/** The headers a workflow sees: the allowlist plus every `x-tav-*` header except the signature. */
export function allowedWebhookHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (value === undefined || refusedHeaders.has(key)) continue;
    if (allowedHeaders.has(key) || key.startsWith('x-tav-')) kept[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}

/** The query string as an object; a repeated key keeps every value, in order. */
export function webhookQuery(query: Record<string, string | string[] | undefined>): Record<string, Json> {
  const kept: Record<string, Json> = {};
  for (const [key, value] of Object.entries(query)) if (value !== undefined) kept[key] = value;
  return kept;
}
