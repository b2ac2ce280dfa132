// GET /api/v1/nodes: every node type this daemon runs, with ports, config keys and defaults.
import Router from '@koa/router';
import type { ApiDeps } from '../api-deps.js';

/** The node catalogue route. */
export function nodeRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.get('/nodes', (ctx) => {
    ctx.body = { items: deps.catalog.list(), plugin_problems: deps.catalog.problems };
  });
  return router;
}
