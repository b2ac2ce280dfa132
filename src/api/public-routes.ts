// /api/v1 routes that need no API key, as the route table marks them (`public: true`): the approval
// links a reviewer opens from a mail, authorised by their token alone. The table is the one source,
// so what the OpenAPI document says and what the middleware lets through cannot drift apart.
import type Koa from 'koa';
import { matchedRoute } from './matched-route.js';
import { routeTable } from './route-table.js';

const publicRoutes: ReadonlySet<string> = new Set(routeTable.filter((route) => route.public).map((route) => `${route.method} ${route.path}`));

/** True when the request matched a route the table marks public. */
export function isPublicRoute(ctx: Koa.Context): boolean {
  const route = matchedRoute(ctx);
  const verb = ctx.method === 'HEAD' ? 'GET' : ctx.method;
  return route !== null && publicRoutes.has(`${verb} ${route}`);
}

/** Runs `middleware` (key or scope check) except for public routes. */
export function unlessPublic(middleware: Koa.Middleware): Koa.Middleware {
  return (ctx, next) => (isPublicRoute(ctx) ? next() : middleware(ctx, next));
}
