// Per-workflow limits in the real daemon: max_concurrent_runs_per_workflow holds under a burst (counted
// at the node, by a loopback server holding each request), the waiting events stay pending in the
// queue, another workflow is not held up by the saturated one; max_queue_depth_per_workflow refuses
// the enqueue past it with 429 queue_full and Retry-After, counts the refusal, and lets dedup hits and
// later enqueues (once there is room) through.
import { expect } from 'chai';
import { createWorkflow, expectError, expectOk } from '../helpers/api-assertions.js';
import { startConcurrencyServer, type ConcurrencyServer } from '../helpers/concurrency-server.js';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { node, workflowBody } from '../helpers/workflows.js';

const perWorkflow = 3;
const burst = 100;

/** The value of one sample line of /metrics, e.g. `tav_events_refused_total{reason="queue_full",source="api"}`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('per-workflow limits', function () {
  let daemon: TestDaemon;
  let server: ConcurrencyServer;

  before(async function () {
    server = await startConcurrencyServer(100);
    // The global limit is well above the per-workflow one, so only the per-workflow limit holds runs back.
    daemon = await startDaemon({ settings: { execution: { max_concurrent_runs_global: 20, max_concurrent_runs_per_workflow: perWorkflow } } });
  });

  after(async function () {
    if (daemon) expect(await daemon.stop()).to.equal(0);
    await server?.close();
  });

  const events = async (query: string) => expectOk(await daemon.request('GET', `/api/v1/events?${query}&limit=500`)).items as Array<{ id: number; status: string }>;
  const countStatus = async (workflowId: string, status: string) => (await events(`workflow_id=${workflowId}&status=${status}`)).length;

  it(`never runs more than ${perWorkflow} executions of one workflow at once under a burst of ${burst}; the rest wait in the queue`, async function () {
    const saturated = await createWorkflow(daemon, workflowBody('saturated', [node('call', 'http_request', { url: `${server.url}/saturated` })]));
    const other = await createWorkflow(daemon, workflowBody('other', [node('call', 'http_request', { url: `${server.url}/other` })]));
    await Promise.all(Array.from({ length: burst }, () => daemon.request('POST', '/api/v1/events', { workflow_id: saturated }).then((response) => expectOk(response, 202))));

    // While the burst runs, the waiting events are pending rows, not claimed ones held in memory.
    await waitFor(() => server.inFlight('/saturated') === perWorkflow, 'the saturated workflow to fill its slots');
    expect(await countStatus(saturated, 'processing')).to.be.at.most(perWorkflow);
    expect(await countStatus(saturated, 'pending')).to.be.greaterThan(burst / 2);

    // Another workflow's event, enqueued behind the whole backlog, runs while the backlog is still there.
    const otherEvent = expectOk(await daemon.request('POST', '/api/v1/events', { workflow_id: other }), 202);
    await waitFor(async () => expectOk(await daemon.request('GET', `/api/v1/events/${otherEvent.id}`)).status === 'completed', 'the other workflow’s event to complete');
    expect(await countStatus(saturated, 'pending')).to.be.greaterThan(0);

    await waitFor(async () => (await countStatus(saturated, 'completed')) === burst, `all ${burst} events to complete`, 60_000, 200);
    expect(server.calls('/saturated')).to.equal(burst);
    expect(server.maxInFlight('/saturated')).to.equal(perWorkflow);
  });

  it('answers 429 queue_full with Retry-After past max_queue_depth_per_workflow, stores nothing, and counts it', async function () {
    expectOk(await daemon.request('PUT', '/api/v1/settings/execution', { max_queue_depth_per_workflow: 5 }));
    const workflowId = await createWorkflow(daemon, workflowBody('bounded', [node('a', 'text_input', { text: 'x' })]));
    const delayed = { workflow_id: workflowId, delay_ms: 3_600_000 };
    const accepted = [];
    for (let i = 0; i < 5; i++) accepted.push(expectOk(await daemon.request('POST', '/api/v1/events', { ...delayed, dedup_key: `k${i}` }), 202));

    const refused = await daemon.request('POST', '/api/v1/events', delayed);
    expectError(refused, 429, 'queue_full');
    expect(refused.body.error.message).to.include('5');
    expect(Number(refused.headers.get('retry-after'))).to.be.greaterThan(0);
    expect(await events(`workflow_id=${workflowId}`)).to.have.length(5);
    // A manual run goes through the same enqueue and is refused the same way.
    expectError(await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, {}), 429, 'queue_full');

    const metrics = (await daemon.request('GET', '/metrics')).body as string;
    expect(sample(metrics, 'tav_events_refused_total{reason="queue_full",source="api"}')).to.equal(1);
    expect(sample(metrics, 'tav_events_refused_total{reason="queue_full",source="manual"}')).to.equal(1);

    // Re-enqueueing a live event by its dedup key adds nothing, so it is answered, not refused.
    const again = expectOk(await daemon.request('POST', '/api/v1/events', { ...delayed, dedup_key: 'k2' }), 200);
    expect(again).to.include({ id: accepted[2].id, deduplicated: true });

    // Once pending events are cancelled there is room again.
    for (const event of accepted) expectOk(await daemon.request('POST', `/api/v1/events/${event.id}/cancel`));
    expectOk(await daemon.request('POST', '/api/v1/events', delayed), 202);
  });
});
