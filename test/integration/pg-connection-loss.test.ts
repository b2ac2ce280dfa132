// A daemon on PostgreSQL losing its database mid-run (issue 7): its connections terminated by the
// server (pg_terminate_backend), and the database taken away for seconds (a TCP proxy that drops and
// refuses connections). The daemon keeps answering health and says why it is not ready, waits the
// outage out, and finishes every event it accepted.
import { expect } from 'chai';
import { waitFor, type TestDaemon } from '../helpers/daemon.js';
import { startLoopbackServer, type LoopbackServer } from '../helpers/loopback-server.js';
import { createTestFleet, type TestFleet } from '../helpers/pg-daemons.js';
import { testPgUrl } from '../helpers/pg-schema.js';
import { createWorkflow, enqueue } from '../helpers/queue-runs.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

async function completedCount(fleet: TestFleet): Promise<number> {
  return Number((await fleet.query<{ n: string }>(`SELECT COUNT(*) AS n FROM event_queue WHERE status = 'completed'`))[0]!.n);
}

/** A slow step, then a call the loopback server counts per event. */
function slowThenCall(server: LoopbackServer) {
  return workflowBody('slow then call', [node('wait', 'test_slow', { ms: 40 }), node('call', 'http_request', { url: `${server.url}/done/{{trigger.n}}` })], [link('wait', 'output', 'call', 'data')]);
}

describe('a daemon on PostgreSQL losing its connection', function () {
  this.timeout(120_000);
  let fleet: TestFleet | null = null;
  let server: LoopbackServer | null = null;
  let proxy: TcpProxy | null = null;
  let daemon: TestDaemon | null = null;

  afterEach(async function () {
    await daemon?.stop('SIGKILL');
    daemon = null;
    await proxy?.close();
    proxy = null;
    await server?.close();
    server = null;
    await fleet?.drop(this.currentTest?.state === 'failed');
    fleet = null;
  });

  it('recovers when the server terminates its backends mid-run, and loses nothing', async function () {
    fleet = await createTestFleet('cut', { execution: { max_concurrent_runs_global: 8 } });
    server = await startLoopbackServer();
    daemon = await fleet.start();
    const workflowId = await createWorkflow(daemon, slowThenCall(server));
    const total = 300;
    for (let n = 0; n < total; n++) await enqueue(daemon, workflowId, { event_data: { n } });
    await waitFor(async () => (await completedCount(fleet!)) >= 50, '50 events to complete', 60_000);

    const terminated = await fleet.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'tav-engine%'`);
    expect(terminated.length, 'the daemon’s pool, leader and listener sessions').to.be.at.least(3);

    await waitFor(async () => (await completedCount(fleet!)) === total, 'every event to complete', 90_000, 250);
    for (let n = 0; n < total; n++) expect(server.calls(`/done/${n}`), `/done/${n}`).to.be.at.least(1);
    await waitFor(async () => (await daemon!.request('GET', '/health/ready')).status === 200, 'the daemon to be ready again', 15_000);
    // The leader's session was one of those terminated: it was deposed and elected again.
    await waitFor(() => daemon!.output().split('this daemon leads the fleet').length - 1 >= 2, 'leadership to be taken again', 15_000);
  });

  it('reports the database unreachable while it is away, refuses new events with 503, and finishes every accepted event once it is back', async function () {
    fleet = await createTestFleet('outage', { execution: { max_concurrent_runs_global: 4 } });
    server = await startLoopbackServer();
    proxy = await startTcpProxy(Number(new URL(testPgUrl).port || 5432));
    const viaProxy = new URL(testPgUrl);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    daemon = await fleet.start({ env: { TAV_DATABASE_URL: viaProxy.toString() } });
    const workflowId = await createWorkflow(daemon, slowThenCall(server));
    const accepted: number[] = [];
    for (let n = 0; n < 60; n++) accepted.push((await enqueue(daemon, workflowId, { event_data: { n } })).id);
    await waitFor(async () => (await completedCount(fleet!)) >= 5, 'a few events to complete', 30_000);

    proxy.cut();
    const notReady = (await waitFor(async () => {
      const answer = await daemon!.request('GET', '/health/ready');
      return answer.status === 503 ? answer : null;
    }, 'readiness to report the outage', 15_000))!;
    expect(notReady.body.reasons).to.include('database_reachable');
    expect(notReady.body.details.database).to.match(/^database unreachable: /);
    expect((await daemon.request('GET', '/health')).status, 'still answering').to.equal(200);
    const refused = await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, event_data: { n: 999 } });
    expect(refused.status, 'an event that cannot be stored is refused, not accepted').to.equal(503);
    expect(refused.body.error.code).to.equal('database_unavailable');
    expect(refused.headers.get('retry-after')).to.equal('2');

    await new Promise((resolve) => setTimeout(resolve, 2_000));
    proxy.restore();
    await waitFor(async () => (await daemon!.request('GET', '/health/ready')).status === 200, 'the daemon to be ready again', 30_000);
    await waitFor(async () => (await completedCount(fleet!)) === accepted.length, 'every accepted event to complete', 60_000, 250);
    const statuses = await fleet.query<{ status: string; n: string }>(`SELECT status, COUNT(*) AS n FROM event_queue GROUP BY status`);
    expect(statuses.map((row) => [row.status, Number(row.n)])).to.deep.equal([['completed', accepted.length]]);
    for (let n = 0; n < accepted.length; n++) expect(server.calls(`/done/${n}`), `/done/${n}`).to.be.at.least(1);
  });
});
