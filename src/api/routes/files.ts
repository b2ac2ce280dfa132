// Uploaded files: POST /api/v1/files (multipart/form-data, one file in the field `file`, optional
// `workflow_id`/`execution_id`), list, read, download and delete.
import { createReadStream } from 'node:fs';
import Router from '@koa/router';
import type Koa from 'koa';
import { z } from 'zod';
import { AppError, notFound } from '../../errors.js';
import { attachmentDisposition } from '../../files/display-name.js';
import { discardRemainingBody, receiveUpload, type ReceivedUpload } from '../../files/upload-receiver.js';
import type { ApiDeps } from '../api-deps.js';
import { cursorParam, limitParam } from '../paging.js';
import { parseOrThrow } from '../validation.js';

const uploadFields = z.strictObject({
  workflow_id: z.string().min(1).max(64).optional(),
  execution_id: z.string().min(1).max(64).optional(),
});

const listQuery = z.object({ workflow_id: z.string().min(1).max(64).optional(), limit: limitParam, cursor: cursorParam });

// How much of a refused upload is read and dropped before answering (see discardRemainingBody): a body
// up to the limit plus this much, for at most this long; bandwidth only, nothing is kept.
const drainAllowanceBytes = 16 * 1024 * 1024;
const drainTimeoutMs = 5_000;

const idParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

/** Routes under /api/v1/files. */
export function fileRoutes(deps: ApiDeps): Router {
  const router = new Router();
  const fileId = (ctx: Koa.Context) => parseOrThrow(idParam, ctx.params.id, 'file id');

  router.post('/files', async (ctx) => {
    const upload = await receive(ctx, deps);
    try {
      const fields = parseOrThrow(uploadFields, upload.fields, 'form');
      const record = await deps.files.accept(upload, { workflowId: fields.workflow_id ?? null, executionId: fields.execution_id ?? null });
      ctx.status = 201;
      ctx.set('Location', `/api/v1/files/${record.id}`);
      ctx.body = record;
    } finally {
      // Kept files were moved away; anything still here was refused.
      await deps.files.storage.discardIncoming(upload.incomingPath);
    }
  });

  router.get('/files', async (ctx) => {
    const query = parseOrThrow(listQuery, ctx.query, 'query');
    const items = await deps.store.listFiles({ workflowId: query.workflow_id, limit: query.limit, beforeId: query.cursor });
    const last = items.at(-1);
    ctx.body = { items, next_cursor: items.length === query.limit && last ? last.id : null };
  });

  router.get('/files/:id', async (ctx) => {
    const id = fileId(ctx);
    const record = await deps.store.getFile(id);
    if (!record) throw notFound('file', id);
    ctx.body = record;
  });

  router.get('/files/:id/download', async (ctx) => {
    const opened = await deps.files.open(fileId(ctx));
    ctx.set('Content-Disposition', attachmentDisposition(opened.record.original_filename));
    // An upload is data, never a page: should a browser open it anyway, it runs nothing.
    ctx.set('Content-Security-Policy', "default-src 'none'; sandbox");
    ctx.type = opened.record.mime_type ?? 'application/octet-stream';
    ctx.length = opened.sizeBytes;
    ctx.body = createReadStream(opened.absolutePath);
  });

  router.delete('/files/:id', async (ctx) => {
    const id = fileId(ctx);
    if (!(await deps.files.remove(id))) throw notFound('file', id);
    ctx.status = 204;
  });

  return router;
}

/** Checks the request is a multipart upload within the size limit, then receives it. */
async function receive(ctx: Koa.Context, deps: ApiDeps): Promise<ReceivedUpload> {
  if (ctx.request.type !== 'multipart/form-data') {
    throw new AppError('unsupported_media_type', 'the body must be multipart/form-data with the file in the field "file"', { status: 415 });
  }
  const limitBytes = deps.settings().maxContentLengthBytes;
  try {
    if (ctx.request.length !== undefined && ctx.request.length > limitBytes) {
      throw new AppError('payload_too_large', `the request body exceeds ${limitBytes} bytes`, { status: 413 });
    }
    return await receiveUpload(ctx.req, { maxFileBytes: limitBytes, incomingDir: await deps.files.storage.incomingDir() });
  } catch (error) {
    // Drain a bounded rest of the refused body so the client reads the answer, then close the
    // connection: past the budget the rest is never read, and a keep-alive client would wait for ever.
    await discardRemainingBody(ctx.req, limitBytes + drainAllowanceBytes, drainTimeoutMs);
    ctx.set('Connection', 'close');
    throw error;
  }
}
