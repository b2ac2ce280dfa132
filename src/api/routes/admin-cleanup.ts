// POST /api/v1/admin/cleanup[?dry_run=true]: runs retention now, in the daemon, through the same door
// as the timer (never two runs at once), and answers with what it removed or would remove.
import Router from '@koa/router';
import { badRequest } from '../../errors.js';
import type { ApiDeps } from '../api-deps.js';

const flags: Record<string, boolean> = { true: true, '1': true, false: false, '0': false };

/** The retention route. */
export function adminCleanupRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.post('/admin/cleanup', async (ctx) => {
    const dryRun = ctx.query.dry_run;
    if (dryRun !== undefined && (typeof dryRun !== 'string' || !(dryRun in flags))) {
      throw badRequest('validation_failed', 'dry_run must be true or false', [{ path: 'dry_run', message: 'one of true, false, 1, 0' }]);
    }
    ctx.body = await deps.cleanup(dryRun === undefined ? false : flags[dryRun]!);
  });
  return router;
}
