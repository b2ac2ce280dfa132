// Several real daemons on one PostgreSQL schema (issue 7): 3,000 events of a 3-node workflow drained
// by three daemons while the leader is SIGKILLed mid-run. Every event completes exactly once, no node
// that finished is called again (a loopback server counts each node's calls per event), and a
// survivor takes over leadership and the dead daemon's work. Also: the global limit holds across the
// fleet, and a workflow changed on one daemon is run in its new form by the others.
import { expect } from 'chai';
import { startConcurrencyServer, type ConcurrencyServer } from '../helpers/concurrency-server.js';
import { waitFor, type TestDaemon } from '../helpers/daemon.js';
import { startLoopbackServer, type LoopbackServer } from '../helpers/loopback-server.js';
import { createTestFleet, type TestFleet } from '../helpers/pg-daemons.js';
import { createWorkflow, enqueue } from '../helpers/queue-runs.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

const leaderLine = 'this daemon leads the fleet';

/** Posts `count` events spread over the daemons, `parallel` requests at a time; returns their ids. */
async function enqueueSpread(daemons: TestDaemon[], workflowId: string, count: number, parallel = 24): Promise<number[]> {
  const ids: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const n = next++;
        const event = await enqueue(daemons[n % daemons.length]!, workflowId, { event_data: { n } });
        ids.push(event.id);
      }
    }),
  );
  return ids;
}

describe('a fleet of daemons on one PostgreSQL database', function () {
  this.timeout(240_000);
  let fleet: TestFleet | null = null;
  let server: LoopbackServer | null = null;
  let holding: ConcurrencyServer | null = null;
  const daemons: TestDaemon[] = [];

  afterEach(async function () {
    await Promise.all(daemons.map((daemon) => daemon.stop('SIGKILL')));
    daemons.length = 0;
    await server?.close();
    server = null;
    await holding?.close();
    holding = null;
    await fleet?.drop(this.currentTest?.state === 'failed');
    fleet = null;
  });

  it('drains 3,000 events of a 3-node workflow with the leader SIGKILLed mid-run: every event once, no finished node again, maintenance on a survivor', async function () {
    fleet = await createTestFleet('fleet', { execution: { max_concurrent_runs_global: 16, max_queue_depth_per_workflow: 10_000, max_execution_history: 10_000 }, storage: { max_execution_history: 10_000 } });
    server = await startLoopbackServer();
    // The middle step is held a little, so a daemon always has runs in flight to lose when it dies.
    holding = await startConcurrencyServer(10);
    // A short lease: the dead daemon's work is reclaimed seconds after the kill.
    const env = { TAV_LEASE_MS: '3000' };
    daemons.push(await fleet.start({ env }));
    daemons.push(await fleet.start({ env }), await fleet.start({ env }));
    const workflowId = await createWorkflow(
      daemons[0]!,
      workflowBody(
        'three calls',
        [node('one', 'http_request', { url: `${server.url}/one/{{trigger.n}}` }), node('two', 'http_request', { url: `${holding!.url}/two/{{trigger.n}}` }), node('three', 'http_request', { url: `${server.url}/three/{{trigger.n}}` })],
        [link('one', 'response', 'two', 'data'), link('two', 'response', 'three', 'data')],
      ),
    );
    const leader = (await waitFor(() => daemons.find((daemon) => daemon.output().includes(leaderLine)), 'a leader to be elected', 15_000))!;
    const total = 3_000;
    const ids = await enqueueSpread(daemons, workflowId, total);
    expect(new Set(ids).size).to.equal(total);

    await waitFor(async () => Number((await fleet!.query<{ n: string }>(`SELECT COUNT(*) AS n FROM event_queue WHERE status = 'completed'`))[0]!.n) >= total / 3, 'a third of the events to complete', 120_000);
    await waitFor(async () => {
      const held = await fleet!.query<{ id: string }>(`SELECT id FROM event_queue WHERE status = 'processing' AND lease_owner LIKE ?`, [`%:${leader.process.pid}`]);
      return held.length >= 2;
    }, 'the leader to hold runs', 30_000, 10);
    await leader.stop('SIGKILL');
    const survivors = daemons.filter((daemon) => daemon !== leader);

    await waitFor(() => survivors.some((daemon) => daemon.output().includes(leaderLine)), 'a survivor to take over leadership', 20_000);
    await waitFor(async () => Number((await fleet!.query<{ n: string }>(`SELECT COUNT(*) AS n FROM event_queue WHERE status = 'completed'`))[0]!.n) === total, 'every event to complete', 180_000, 250);

    const byStatus = await fleet.query<{ status: string; n: string }>(`SELECT status, COUNT(*) AS n FROM event_queue GROUP BY status`);
    expect(byStatus.map((row) => [row.status, Number(row.n)])).to.deep.equal([['completed', total]]);
    const distinct = await fleet.query<{ n: string }>(`SELECT COUNT(DISTINCT execution_id) AS n FROM event_queue`);
    expect(Number(distinct[0]!.n), 'one execution per event').to.equal(total);
    const executions = await fleet.query<{ status: string; n: string }>(`SELECT status, COUNT(*) AS n FROM executions GROUP BY status`);
    expect(executions.map((row) => [row.status, Number(row.n)]), 'each execution completed').to.deep.equal([['completed', total]]);

    // Each node of each event called at least once. A second call is allowed only for the one node a
    // run was executing when its daemon died (its outcome never recorded): so only for events the new
    // leader reclaimed, at most one node each, and never a node that had finished.
    const reclaimed = await fleet.query<{ n: string }>(`SELECT event_data->>'n' AS n FROM event_queue WHERE rescues > 0`);
    const reclaimedNs = new Set(reclaimed.map((row) => Number(row.n)));
    expect(reclaimedNs.size, 'the dead leader’s runs were reclaimed').to.be.within(1, 16);
    expect(survivors.some((daemon) => daemon.output().includes('events whose lease expired returned to the queue')), 'a survivor reclaimed them').to.equal(true);
    for (let n = 0; n < total; n++) {
      const calls = ['one', 'two', 'three'].map((step) => (step === 'two' ? holding! : server!).calls(`/${step}/${n}`));
      expect(Math.min(...calls), `every node of event ${n} called`).to.be.at.least(1);
      const repeated = calls.filter((count) => count > 1);
      if (!reclaimedNs.has(n)) expect(calls, `event ${n} was never reclaimed: each node once`).to.deep.equal([1, 1, 1]);
      else expect(repeated.length <= 1 && Math.max(...calls) <= 2, `event ${n}: at most its running node again (${calls.join(',')})`).to.equal(true);
    }
    for (const daemon of survivors) expect((await daemon.request('GET', '/health/ready')).status).to.equal(200);
  });

  it('holds the global limit across the fleet, counted in the database', async function () {
    fleet = await createTestFleet('fleet_limit', { execution: { max_concurrent_runs_global: 3 } });
    holding = await startConcurrencyServer(300);
    {
      daemons.push(await fleet.start(), await fleet.start());
      const workflowId = await createWorkflow(daemons[0]!, workflowBody('held call', [node('call', 'http_request', { url: `${holding.url}/held` })]));
      const ids = await enqueueSpread(daemons, workflowId, 18, 6);
      await waitFor(async () => Number((await fleet!.query<{ n: string }>(`SELECT COUNT(*) AS n FROM event_queue WHERE status = 'completed'`))[0]!.n) === ids.length, 'every event to complete', 60_000);
      expect(holding.calls('/held')).to.equal(18);
      // Each daemon alone would run 3 at once: two of them, unlimited by the database, would reach 6.
      expect(holding.maxInFlight('/held')).to.equal(3);
    }
  });

  it('runs a workflow changed on one daemon in its new form on the others', async function () {
    fleet = await createTestFleet('fleet_change');
    server = await startLoopbackServer();
    daemons.push(await fleet.start(), await fleet.start());
    const [first, second] = daemons as [TestDaemon, TestDaemon];
    const body = (step: string) => workflowBody('changing', [node('call', 'http_request', { url: `${server!.url}/${step}` })]);
    const workflowId = await createWorkflow(first, body('before'));
    // Both daemons run (and so cache) the first form.
    await enqueueSpread([first, second], workflowId, 6, 2);
    await waitFor(() => server!.calls('/before') === 6, 'the first form to run six times', 30_000);
    const updated = await first.request('PUT', `/api/v1/workflows/${workflowId}`, body('after'));
    expect(updated.status).to.equal(200);
    // The change reaches the other daemon's cache by NOTIFY, a few milliseconds after the commit.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await enqueueSpread([second], workflowId, 6, 2);
    await waitFor(() => server!.calls('/after') === 6, 'the new form to run on the other daemon', 30_000);
    expect(server.calls('/before')).to.equal(6);
  });
});
