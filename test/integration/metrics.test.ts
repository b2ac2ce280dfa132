// GET /metrics: Prometheus text with the queue, throughput, durations, writer and pool figures.
import { expect } from 'chai';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, expectOk } from '../helpers/api-assertions.js';
import { node, workflowBody } from '../helpers/workflows.js';

/** The value of one sample line, e.g. `tav_queue_depth{status="pending"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', function () {
  let daemon: TestDaemon;
  let open: TestDaemon;

  before(async () => {
    [daemon, open] = await Promise.all([startDaemon(), startDaemon({ env: { TAV_METRICS_PUBLIC: '1' } })]);
  });

  after(async () => {
    expect(await daemon.stop()).to.equal(0);
    expect(await open.stop()).to.equal(0);
  });

  it('refuses a scrape without a key unless metrics are configured open', async () => {
    expect((await daemon.request('GET', '/metrics', undefined, { authorization: '' })).status).to.equal(401);
    const response = await open.request('GET', '/metrics', undefined, { authorization: '' });
    expect(response.status).to.equal(200);
    expect(response.headers.get('content-type')).to.match(/^text\/plain/);
  });

  it('counts enqueued and finished events and reports queue, durations, writer, pool and event loop', async () => {
    const workflowId = await createWorkflow(daemon, workflowBody('metered', [node('a', 'text_input', { text: 'x' })]));
    expectOk(await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, {}, { 'x-await-completion': 'true' }));
    expectOk(await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, delay_ms: 3_600_000, priority: 5 }), 202);
    const text = (await daemon.request('GET', '/metrics')).body as string;
    expect(sample(text, 'tav_events_enqueued_total')).to.equal(2);
    expect(sample(text, 'tav_events_finished_total{outcome="completed"}')).to.equal(1);
    expect(sample(text, 'tav_queue_depth{status="pending"}')).to.equal(1);
    expect(sample(text, 'tav_queue_pending_by_priority{priority="5"}')).to.equal(1);
    expect(sample(text, 'tav_queue_oldest_pending_age_seconds')).to.be.at.least(0);
    expect(sample(text, 'tav_node_duration_seconds_count{node_type="text_input",ok="true"}')).to.equal(1);
    expect(sample(text, 'tav_execution_duration_seconds_count{status="completed"}')).to.equal(1);
    expect(sample(text, 'tav_writer_commit_seconds_count')).to.be.greaterThan(0);
    expect(sample(text, 'tav_pool_threads')).to.equal(2);
    expect(text).to.match(/^tav_process_nodejs_eventloop_lag_seconds /m);
  });
});
