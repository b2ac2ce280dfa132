// The route template a request matched (e.g. `/api/v1/workflows/:id/execute`), for the scope table and
// the audit trail. Read from what @koa/router left on the context, so it is also known to middleware
// that runs before the handler and to the audit trail after a refusal.
import type Koa from 'koa';

interface RoutedContext {
  matched?: Array<{ path: string | RegExp; methods: string[] }>;
}

/** The template of the route that serves `ctx`'s method and path, or null when none does. */
export function matchedRoute(ctx: Koa.Context): string | null {
  const layers = (ctx as unknown as RoutedContext).matched ?? [];
  for (let i = layers.length - 1; i >= 0; i--) {
    const layer = layers[i]!;
    if (layer.methods.includes(ctx.method) && typeof layer.path === 'string') return layer.path;
  }
  return null;
}
