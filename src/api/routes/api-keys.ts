// /api/v1/api-keys (admin scope): create (the key is shown once), list and read (never a key or its
// hash), revoke. Every key belongs to a user, by default the caller's.
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { apiKeyScopes, generateApiKey } from '../../auth/api-keys.js';
import { isoAt } from '../../domain/clock.js';
import { AppError, badRequest, conflict, notFound } from '../../errors.js';
import type { ApiKeyRecord } from '../../store/store.js';
import type { ApiDeps } from '../api-deps.js';
import type { AuthState } from '../auth.js';
import { readJsonBody } from '../request-body.js';
import { parseOrThrow } from '../validation.js';

const maxLifetimeSeconds = 10 * 365 * 86_400;

const createBody = z.strictObject({
  name: z.string().trim().min(1).max(255),
  scopes: z
    .array(z.enum(apiKeyScopes))
    .min(1)
    .max(apiKeyScopes.length)
    .refine((scopes) => new Set(scopes).size === scopes.length, 'scopes must not repeat'),
  user_id: z.number().int().positive().optional(),
  expires_at: z.iso.datetime({ offset: true }).optional(),
  expires_in_seconds: z.number().int().min(1).max(maxLifetimeSeconds).optional(),
});

const listQuery = z.object({ user_id: z.coerce.number().int().positive().optional() });

const idParam = z.coerce.number().int().positive();

/** A key as the API shows it: its record and whether it can be used now. */
function keyView(key: ApiKeyRecord, now: number) {
  const state = key.revoked_at !== null || !key.is_active ? 'revoked' : key.expires_at !== null && Date.parse(key.expires_at) <= now ? 'expired' : 'active';
  return { ...key, state };
}

/** Routes under /api/v1/api-keys. */
export function apiKeyRoutes(deps: ApiDeps): Router {
  const router = new Router();

  router.post('/api-keys', async (ctx: Koa.Context) => {
    const body = parseOrThrow(createBody, await readJsonBody(ctx, deps.settings().maxContentLengthBytes), 'API key');
    const now = deps.clock.now();
    const expiresAt = expiryOf(body, now);
    const userId = body.user_id ?? (ctx.state as AuthState).apiKey.user_id;
    const user = await deps.store.getUser(userId);
    if (!user) throw badRequest('validation_failed', 'the API key is invalid', [{ path: 'user_id', message: `no user with id ${userId}` }]);
    if (user.user_status !== 'active') throw conflict('user_not_active', `user ${userId} is ${user.user_status}; its keys would not authenticate`);
    const generated = generateApiKey();
    const record = await deps.store.createApiKey({ userId, name: body.name, keyPrefix: generated.keyPrefix, keyHash: generated.keyHash, scopes: body.scopes, expiresAt });
    ctx.status = 201;
    ctx.set('Location', `/api/v1/api-keys/${record.id}`);
    // The only time the key leaves the daemon: only its hash is kept.
    ctx.body = { ...keyView(record, now), key: generated.key };
  });

  router.get('/api-keys', async (ctx) => {
    const query = parseOrThrow(listQuery, ctx.query, 'query');
    const now = deps.clock.now();
    const keys = (await deps.store.listApiKeys()).filter((key) => query.user_id === undefined || key.user_id === query.user_id);
    ctx.body = { items: keys.map((key) => keyView(key, now)) };
  });

  router.get('/api-keys/:id', async (ctx) => {
    const id = parseOrThrow(idParam, ctx.params.id, 'API key id');
    const key = await deps.store.getApiKey(id);
    if (!key) throw notFound('API key', id);
    ctx.body = keyView(key, deps.clock.now());
  });

  router.delete('/api-keys/:id', async (ctx) => {
    const id = parseOrThrow(idParam, ctx.params.id, 'API key id');
    const key = await deps.store.getApiKey(id);
    if (!key) throw notFound('API key', id);
    if (!(await deps.store.revokeApiKey(id))) throw conflict('already_revoked', `API key ${id} is already revoked`);
    ctx.body = keyView((await deps.store.getApiKey(id))!, deps.clock.now());
  });

  return router;
}

/** The expiry a create body asks for, as ISO text, or null for a key that never expires. */
function expiryOf(body: z.infer<typeof createBody>, now: number): string | null {
  if (body.expires_at !== undefined && body.expires_in_seconds !== undefined) {
    throw new AppError('validation_failed', 'give expires_at or expires_in_seconds, not both', { status: 400 });
  }
  if (body.expires_in_seconds !== undefined) return isoAt(now + body.expires_in_seconds * 1000);
  if (body.expires_at === undefined) return null;
  const at = Date.parse(body.expires_at);
  if (at <= now) throw badRequest('validation_failed', 'the API key is invalid', [{ path: 'expires_at', message: 'must be in the future' }]);
  if (at > now + maxLifetimeSeconds * 1000) throw badRequest('validation_failed', 'the API key is invalid', [{ path: 'expires_at', message: 'must be within 10 years' }]);
  return isoAt(at);
}
