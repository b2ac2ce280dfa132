// The webhook shared-secret check: `X-TAV-Signature` carries the hex HMAC-SHA256 of the raw body under
// the trigger's secret, optionally prefixed `sha256=` (the GitHub convention). Compared in constant time.
import { createHmac, timingSafeEqual } from 'node:crypto';

const hexDigest = /^[0-9a-f]{64}$/i;

/** The signature header value a sender computes for `rawBody` (without prefix). */
export function signWebhookBody(secret: string, rawBody: Buffer): string {
  return createHmac('sha256', secret).update(rawBody).digest('hex');
}

/** True when `header` is the HMAC-SHA256 of `rawBody` under `secret`. */
export function isValidWebhookSignature(secret: string, rawBody: Buffer, header: string | undefined): boolean {
  if (header === undefined) return false;
  const given = header.trim().replace(/^sha256=/i, '');
  if (!hexDigest.test(given)) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  return timingSafeEqual(Buffer.from(given, 'hex'), expected);
}
