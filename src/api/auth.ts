// Every /api/v1 route needs an API key (`Authorization: Bearer …` or `X-API-Key`). Only the key's
// hash is looked up; an unknown, revoked or expired key, or one whose user is not active, gets 401.
// What the key may do (its scopes) is scopes.ts's business.
import type Koa from 'koa';
import { hashApiKey } from '../auth/api-keys.js';
import type { Clock } from '../domain/clock.js';
import { isoAt } from '../domain/clock.js';
import { AppError } from '../errors.js';
import type { ApiKeyStore, AuthenticatedKey } from '../store/store.js';

/** The authenticated caller, on `ctx.state.apiKey`. */
export interface AuthState {
  apiKey: AuthenticatedKey;
}

// last_used_at is a write; once a minute per key is precise enough and keeps reads read-only.
const touchIntervalMs = 60_000;

/** Authenticates the request or throws 401. */
export function requireApiKey(store: ApiKeyStore, clock: Clock): Koa.Middleware {
  const lastTouched = new Map<number, number>();
  return async (ctx, next) => {
    const presented = presentedKey(ctx);
    if (!presented) throw unauthorized('an API key is required (Authorization: Bearer <key> or X-API-Key)');
    const key = await store.findApiKeyByHash(hashApiKey(presented));
    const now = clock.now();
    if (!key || !key.is_active || key.revoked_at !== null) throw unauthorized('the API key is not valid');
    if (key.expires_at !== null && Date.parse(key.expires_at) <= now) throw unauthorized('the API key has expired');
    // A locked or inactive user's keys stop working at once, without revoking them one by one.
    if (key.user_status !== 'active') throw unauthorized('the user of this API key is not active');
    if ((lastTouched.get(key.id) ?? 0) + touchIntervalMs <= now) {
      lastTouched.set(key.id, now);
      store.touchApiKey(key.id, isoAt(now));
    }
    (ctx.state as AuthState).apiKey = key;
    await next();
  };
}

function presentedKey(ctx: Koa.Context): string | null {
  const header = ctx.get('authorization');
  if (header) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match ? match[1]! : null;
  }
  return ctx.get('x-api-key') || null;
}

function unauthorized(message: string): AppError {
  return new AppError('unauthorized', message, { status: 401 });
}
