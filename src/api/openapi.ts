// The OpenAPI 3 document served at /api/v1/openapi.json: every route, who may call it, and the one
// error shape. The route table is checked against the routers by a test, both ways.
import type Koa from 'koa';
import { requiredScopes } from './scopes.js';

/** One documented route (paths in the routers' `:param` form). */
export interface RouteDoc {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  summary: string;
  /** True for the routes that need no key (health). */
  public?: boolean;
  /** The success status; 200 unless given. */
  status?: number;
  /** The request body's media type when it is not JSON (file upload). */
  bodyType?: string;
}

/** Builds the document from the route table; the scopes come from the one scope policy (scopes.ts). */
export function openApiDocument(routes: readonly RouteDoc[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const openApiPath = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((match) => ({ name: match[1], in: 'path', required: true, schema: { type: 'string' } }));
    (paths[openApiPath] ??= {})[route.method.toLowerCase()] = {
      summary: route.summary,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH' ? { requestBody: { required: false, content: { [route.bodyType ?? 'application/json']: { schema: { type: 'object' } } } } } : {}),
      security: route.public ? [] : [{ bearer: [] }, { apiKeyHeader: [] }],
      'x-required-scopes': route.public ? [] : scopesFor(route),
      responses: {
        [String(route.status ?? 200)]: { description: 'success' },
        default: { description: 'error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'TAV Engine', version, description: 'Workflow-automation worker daemon. Every error answers with the Error shape.' },
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'API key as a bearer token' },
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' }, details: {}, request_id: { type: 'string' } },
            },
          },
        },
      },
    },
  };
}

function scopesFor(route: RouteDoc): readonly string[] {
  // /metrics lives outside /api/v1 and needs read (or admin), as GETs do.
  return route.path.startsWith('/api/v1/') ? requiredScopes(route.method, route.path.slice('/api/v1'.length)) : ['read'];
}

/** Every method and path the app's routers answer (HEAD, which follows GET, left out). */
export function registeredRoutes(app: Koa): Array<{ method: string; path: string }> {
  const routes: Array<{ method: string; path: string }> = [];
  for (const middleware of app.middleware) {
    const router = (middleware as { router?: { stack: Array<{ methods: string[]; path: string }> } }).router;
    if (!router) continue;
    for (const layer of router.stack) for (const method of layer.methods) if (method !== 'HEAD') routes.push({ method, path: layer.path });
  }
  return routes;
}
