// POST/GET/PUT/DELETE /api/v1/credentials[/:id]. Secret fields go in as `data` and never come back
// out: answers carry the metadata and the names of the fields only.
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { conflict, notFound } from '../../errors.js';
import type { CredentialRecord } from '../../store/store.js';
import type { ApiDeps } from '../api-deps.js';
import { limitParam } from '../paging.js';
import { readJsonBody } from '../request-body.js';
import { parseOrThrow } from '../validation.js';

// Validation messages name paths and expectations, never the values given: a rejected body may
// still hold a real secret.
const secretData = z
  .record(z.string().min(1).max(128), z.json())
  .refine((data) => Object.keys(data).length > 0, 'data must hold at least one field')
  .refine((data) => Object.keys(data).length <= 100, 'data may hold at most 100 fields');

const createBody = z.strictObject({
  name: z.string().trim().min(1).max(255),
  credential_type: z.string().trim().min(1).max(64),
  data: secretData,
  description: z.string().max(10_000).nullable().default(null),
});

const updateBody = z
  .strictObject({
    name: z.string().trim().min(1).max(255).optional(),
    credential_type: z.string().trim().min(1).max(64).optional(),
    data: secretData.optional(),
    description: z.string().max(10_000).nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, 'give at least one of name, credential_type, data, description');

const listQuery = z.object({ limit: limitParam, offset: z.coerce.number().int().min(0).max(1_000_000).default(0) });

const idParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

function nameTaken(name: string | undefined) {
  return conflict('credential_name_taken', `a credential named ${JSON.stringify(name)} already exists`);
}

/** Routes under /api/v1/credentials. */
export function credentialRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const body = (ctx: Koa.Context) => readJsonBody(ctx, deps.settings().maxContentLengthBytes);
  const credentialId = (ctx: Koa.Context): number => parseOrThrow(idParam, ctx.params.id, 'credential id');

  router.post('/credentials', async (ctx) => {
    const input = parseOrThrow(createBody, await body(ctx), 'credential');
    const created = await deps.credentials.create({
      userId: ctx.state.apiKey.user_id,
      name: input.name,
      credentialType: input.credential_type,
      description: input.description,
      data: input.data,
    });
    if (created === 'name_taken') throw nameTaken(input.name);
    ctx.status = 201;
    ctx.set('Location', `/api/v1/credentials/${created.id}`);
    ctx.body = created satisfies CredentialRecord;
  });

  router.get('/credentials', async (ctx) => {
    const query = parseOrThrow(listQuery, ctx.query, 'query');
    ctx.body = { items: await deps.store.listCredentials(query.limit, query.offset), total: await deps.store.countCredentials(), limit: query.limit, offset: query.offset };
  });

  router.get('/credentials/:id', async (ctx) => {
    const id = credentialId(ctx);
    const credential = await deps.store.getCredential(id);
    if (!credential) throw notFound('credential', id);
    ctx.body = credential;
  });

  router.put('/credentials/:id', async (ctx) => {
    const id = credentialId(ctx);
    const input = parseOrThrow(updateBody, await body(ctx), 'credential');
    const updated = await deps.credentials.update(id, { name: input.name, credentialType: input.credential_type, description: input.description, data: input.data });
    if (updated === 'missing') throw notFound('credential', id);
    if (updated === 'name_taken') throw nameTaken(input.name);
    ctx.body = updated;
  });

  router.delete('/credentials/:id', async (ctx) => {
    const id = credentialId(ctx);
    if (!(await deps.store.deleteCredential(id))) throw notFound('credential', id);
    ctx.status = 204;
  });

  return router;
}
