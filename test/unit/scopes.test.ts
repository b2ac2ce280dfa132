// The scope table: which scope each /api/v1 route needs.
import { expect } from 'chai';
import { requiredScopes, scopesAllow } from '../../src/api/scopes.js';

describe('API key scopes', function () {
  it('lets read keys GET, except the admin-only families', function () {
    for (const route of ['/workflows', '/workflows/:id', '/events', '/executions/:id/logs', '/queue', '/nodes']) {
      expect(requiredScopes('GET', route), route).to.deep.equal(['read']);
      expect(requiredScopes('HEAD', route), route).to.deep.equal(['read']);
    }
    for (const route of ['/settings', '/settings/:category', '/api-keys', '/api-keys/:id', '/audit-logs', '/credentials', '/credentials/:id']) {
      expect(requiredScopes('GET', route), route).to.deep.equal(['admin']);
    }
  });

  it('lets enqueue keys enqueue, execute and read back one event', function () {
    expect(requiredScopes('POST', '/events')).to.deep.equal(['enqueue']);
    expect(requiredScopes('POST', '/workflows/:id/execute')).to.deep.equal(['enqueue']);
    expect(requiredScopes('GET', '/events/:id')).to.deep.equal(['read', 'enqueue']);
  });

  it('keeps every other write for admin keys', function () {
    for (const [method, route] of [['POST', '/workflows'], ['PUT', '/workflows/:id'], ['DELETE', '/workflows/:id'], ['POST', '/events/:id/cancel'], ['POST', '/executions/:id/retry'], ['PUT', '/settings/:category'], ['POST', '/api-keys'], ['PATCH', '/anything']]) {
      expect(requiredScopes(method!, route!), `${method} ${route}`).to.deep.equal(['admin']);
    }
  });

  it('accepts admin for everything and any one of the required scopes otherwise', function () {
    expect(scopesAllow(['admin'], ['enqueue'])).to.equal(true);
    expect(scopesAllow(['enqueue'], ['read', 'enqueue'])).to.equal(true);
    expect(scopesAllow(['read'], ['enqueue'])).to.equal(false);
    expect(scopesAllow([], ['read'])).to.equal(false);
  });
});
