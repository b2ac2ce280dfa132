// The OpenAPI document matches the routers: every registered route is documented, every documented
// route exists, and each says how it is authorised and what its errors look like.
import { expect } from 'chai';
import { createApp } from '../../src/api/app.js';
import type { ApiDeps } from '../../src/api/api-deps.js';
import { openApiDocument, registeredRoutes } from '../../src/api/openapi.js';
import { routeTable } from '../../src/api/route-table.js';

/** Deps that are never called: building the routers only wires them. */
function inertDeps(): ApiDeps {
  const inert: ProxyHandler<object> = { get: (_target, key) => (key === 'then' ? undefined : new Proxy(() => undefined, inert)), apply: () => new Proxy(() => undefined, inert) };
  return new Proxy({}, inert) as ApiDeps;
}

const key = (route: { method: string; path: string }) => `${route.method} ${route.path}`;

describe('OpenAPI document', () => {
  const registered = registeredRoutes(createApp(inertDeps())).map(key).sort();
  const documented = routeTable.map(key).sort();

  it('documents every registered route', () => {
    expect(registered.filter((route) => !documented.includes(route))).to.deep.equal([]);
  });

  it('documents no route that does not exist', () => {
    expect(documented.filter((route) => !registered.includes(route))).to.deep.equal([]);
  });

  it('gives each operation its auth, its scopes and the shared error shape', () => {
    const document = openApiDocument(routeTable, 'test') as { openapi: string; paths: Record<string, Record<string, any>>; components: any };
    expect(document.openapi).to.match(/^3\./);
    expect(document.components.schemas.Error.properties.error.required).to.deep.equal(['code', 'message']);
    const events = document.paths['/api/v1/events/{id}']!.get;
    expect(events['x-required-scopes']).to.deep.equal(['read', 'enqueue']);
    expect(events.parameters[0].name).to.equal('id');
    expect(document.paths['/health']!.get.security).to.deep.equal([]);
    expect(document.paths['/api/v1/settings/{category}']!.put['x-required-scopes']).to.deep.equal(['admin']);
    for (const operations of Object.values(document.paths)) {
      for (const operation of Object.values(operations)) expect(operation.responses.default.content['application/json'].schema.$ref).to.equal('#/components/schemas/Error');
    }
  });
});
