// A fuzz pass: a few thousand random and malformed requests across every route. None may get a 5xx,
// every error must have the JSON error shape, and the daemon must still be ready afterwards.
import { expect } from 'chai';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow } from '../helpers/api-assertions.js';
import { node, workflowBody } from '../helpers/workflows.js';
import { routeTable } from '../../src/api/route-table.js';

/** A small seeded PRNG (mulberry32): a failing run can be replayed with the same seed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Every documented route (the OpenAPI test keeps the table complete), plus one that does not exist.
// The SSE stream is left out: on a real execution it stays open by design.
const routes: Array<[string, string]> = [
  ...routeTable.filter((route) => !route.path.endsWith('/stream')).map((route): [string, string] => [route.method, route.path]),
  ['GET', '/api/v1/nope'],
];

/** One of the example templates the seeds ship (seeds/templates/counter-loop.json). */
const seededTemplateId = '742c0600-f4c1-4bfe-9c63-8b0fcfd097c2';

describe('fuzz pass', function () {
  let daemon: TestDaemon;
  let workflowId: string;

  before(async () => {
    daemon = await startDaemon({ settings: { security: { max_content_length: 1_048_576 } } });
    workflowId = await createWorkflow(daemon, workflowBody('fuzzed', [node('a', 'text_input', { text: 'x' })]));
  });

  after(async () => {
    expect(await daemon.stop()).to.equal(0);
  });

  it('answers thousands of random and malformed requests without a 5xx, and stays ready', async () => {
    const next = random(20261127);
    const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)]!;
    const ids = () => pick(['1', '0', '-1', '999999999999', 'abc', '%00', '..%2F..%2Fetc', 'x'.repeat(300), workflowId, seededTemplateId, '01a21e85-62a1-7000-8139-7f970b29dd33']);
    const bodies = (): string | undefined =>
      pick([
        undefined,
        '',
        '{',
        'null',
        '[]',
        '"text"',
        '{"workflow_id":' + JSON.stringify(workflowId) + ',"priority":' + pick(['0', '6', '"3"', '1.5', 'null', '3']) + '}',
        JSON.stringify({ workflow_id: workflowId, event_data: { deep: 'x'.repeat(Math.floor(next() * 5000)) } }),
        JSON.stringify({ name: pick(['', 'n', 5, null]), workflow_data: pick([{}, { nodes: 'x' }, { nodes: [{}], connections: [{}] }, null]) }),
        '['.repeat(3000) + ']'.repeat(3000),
        '\u0000\u0001\u0002binary',
        JSON.stringify({ force: pick([true, 'yes', 1]) }),
        JSON.stringify({ [pick(['max_workers', 'priority_aging_seconds', 'max_content_length', 'nope'])]: pick([-1, 0, 1e12, 'x', null, {}]) }),
        JSON.stringify({ name: pick(['k', '', 5]), scopes: pick([['admin'], ['root'], 'admin', []]), expires_at: pick(['2020-01-01', 'soon', 5]) }),
        JSON.stringify({ name: pick(['c', '']), credential_type: pick(['api_key', 'smtp', 5]), data: pick([{ api_key: 's' }, 'x', null]) }),
        String.fromCharCode(...Array.from({ length: 64 }, () => Math.floor(next() * 256))),
      ]);
    const problems: string[] = [];
    const total = 2500;
    for (let batch = 0; batch < total / 25; batch++) {
      await Promise.all(
        Array.from({ length: 25 }, async () => {
          const [method, template] = pick(routes);
          const path = template.replace(':id', encodeURIComponent(ids())).replace(':category', pick(['engine', 'security', 'storage', 'nope', '..'])).replace(/:[a-z_]+/g, () => encodeURIComponent(ids())) + pick(['', '?limit=' + pick(['0', '10', '99999', 'x']), '?cursor=' + ids(), '?status=' + pick(['pending', 'bogus'])]);
          const headers: Record<string, string> = {
            authorization: pick([`Bearer ${daemon.key}`, `Bearer ${daemon.key}`, `Bearer ${daemon.key}`, 'Bearer wrong', '', 'Basic abc']),
            'content-type': pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', 'multipart/form-data; boundary=fuzz', 'multipart/form-data']),
          };
          const finalMethod = pick([method, method, method, 'PATCH', 'DELETE']);
          // fetch refuses a body on GET; those go without one.
          const response = await daemon.request(finalMethod, path, finalMethod === 'GET' ? undefined : bodies(), headers);
          if (response.status >= 500) problems.push(`${response.status} ${method} ${path}`);
          if (response.status >= 400 && (path.startsWith('/api/') || path.startsWith('/webhooks/')) && !(response.body?.error?.code && response.body?.error?.message)) {
            problems.push(`error without the JSON shape: ${response.status} ${method} ${path}`);
          }
          if (typeof response.body === 'string' && /\n\s+at .*:\d+:\d+/.test(response.body)) problems.push(`stack trace in ${method} ${path}`);
        }),
      );
    }
    expect(problems.slice(0, 10)).to.deep.equal([]);
    const ready = await daemon.request('GET', '/health/ready');
    expect(ready.status).to.equal(200);
  });
});
