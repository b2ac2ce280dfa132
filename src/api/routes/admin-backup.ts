// POST /api/v1/admin/backup: a consistent copy of the database, written by the daemon while it keeps
// working (the copy runs on a worker thread). Admin only; the folder is the daemon's, never the caller's.
import Router from '@koa/router';
import { z } from 'zod';
import type { ApiDeps } from '../api-deps.js';
import { readJsonBody } from '../request-body.js';
import { parseOrThrow } from '../validation.js';

const backupBody = z.strictObject({ keep: z.number().int().min(1).max(365).optional() });

/** The backup route. */
export function adminBackupRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.post('/admin/backup', async (ctx) => {
    const { keep } = parseOrThrow(backupBody, await readJsonBody(ctx, deps.settings().maxContentLengthBytes), 'backup request');
    const result = await deps.backups.create(keep);
    ctx.status = 201;
    ctx.body = { file: result.file, path: result.path, size_bytes: result.sizeBytes, created_at: result.createdAt, integrity: 'ok', pruned: result.pruned };
  });
  return router;
}
