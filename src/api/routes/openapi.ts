// GET /api/v1/openapi.json: the OpenAPI 3 document of every route.
import Router from '@koa/router';
import { openApiDocument } from '../openapi.js';
import { routeTable } from '../route-table.js';

/** The OpenAPI document route (built once: the table does not change at run time). */
export function openApiRoutes(version: string): Router {
  const router = new Router();
  const document = openApiDocument(routeTable, version);
  router.get('/openapi.json', (ctx) => {
    ctx.body = document;
  });
  return router;
}
