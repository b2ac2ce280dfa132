// Triggers on a fleet of real daemons sharing one PostgreSQL schema (issue 7). A schedule started
// through a follower is armed by the leader alone (told by NOTIFY), so each tick enqueues one event,
// not one per daemon; when the leader is SIGKILLed a survivor takes leadership and the schedule fires
// on, counting on from where the dead leader stopped. Webhooks are served by every daemon.
import { expect } from 'chai';
import { expectOk, waitForEventEnd } from '../helpers/api-assertions.js';
import { waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createTestFleet, type TestFleet } from '../helpers/pg-daemons.js';
import { createWorkflow } from '../helpers/queue-runs.js';
import { monitoringStatus, postWebhook, setMonitoring } from '../helpers/triggers.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

const leaderLine = 'this daemon leads the fleet';
// A short lease: the leader election retries every lease/4, so leadership moves within a second or so.
const env = { TAV_LEASE_MS: '3000' };

/** tick (schedule_trigger every second) → say (text_input). */
const everySecond = workflowBody(
  'every second',
  [node('tick', 'schedule_trigger', { interval_hours: 0, interval_minutes: 0, interval_seconds: 1 }), node('say', 'text_input', { text: 'tick {{trigger.execution_count}}' })],
  [link('tick', 'signal', 'say', 'input')],
);

/** hook (webhook_trigger on `path`) → say (text_input rendering the body's order). */
const hooked = (path: string) =>
  workflowBody(`hook ${path}`, [node('hook', 'webhook_trigger', { path }, { share_output_to_variables: true, variable_name: 'hook' }), node('say', 'text_input', { text: 'order {{hook.body.order}}' })], [link('hook', 'body', 'say', 'input')]);

/** The workflow's scheduled events in the order they were enqueued: id and the count each fire stamped. */
async function scheduledEvents(fleet: TestFleet, workflowId: string): Promise<{ id: number; count: number }[]> {
  const rows = await fleet.query<{ id: string; event_data: { execution_count: number } }>(`SELECT id, event_data FROM event_queue WHERE workflow_id = ? AND source = 'schedule' ORDER BY id`, [workflowId]);
  return rows.map((row) => ({ id: Number(row.id), count: row.event_data.execution_count }));
}

/** 1, 2, …, n: one fire per tick, each counted once, none repeated. */
const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** The JSON log lines a daemon printed with `message`, about `workflowId`. */
function logLines(daemon: TestDaemon, message: string, workflowId: string): Record<string, unknown>[] {
  return daemon
    .output()
    .split('\n')
    .filter((line) => line.includes(`"${message}"`) && line.includes(workflowId))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** True when the daemon logged arming at least one of the workflow's triggers to run here. */
const armedHere = (daemon: TestDaemon, workflowId: string) => logLines(daemon, 'workflow triggers armed', workflowId).some((line) => Number(line.triggers) > 0);

describe('triggers on a fleet of daemons', function () {
  this.timeout(120_000);
  let fleetToDrop: TestFleet | null = null;
  const daemons: TestDaemon[] = [];

  /** Two daemons on a new fleet, told apart by which one was elected. */
  async function twoDaemons(label: string): Promise<{ fleet: TestFleet; leader: TestDaemon; follower: TestDaemon }> {
    const created = (fleetToDrop = await createTestFleet(label));
    daemons.push(await created.start({ env }), await created.start({ env }));
    const leader = (await waitFor(() => daemons.find((daemon) => daemon.output().includes(leaderLine)), 'a leader to be elected', 15_000))!;
    return { fleet: created, leader, follower: daemons.find((daemon) => daemon !== leader)! };
  }

  /** Starts monitoring a schedule of every second through the follower; returns the workflow's id. */
  async function scheduleThroughFollower(follower: TestDaemon): Promise<string> {
    const workflowId = await createWorkflow(follower, everySecond);
    const status = await setMonitoring(follower, workflowId, 'start');
    expect(status.monitoring).to.equal(true);
    // The follower does not run the schedule: it shows no next tick of its own.
    expect(status.triggers[0]).to.include({ node_id: 'tick', kind: 'schedule', next_fire_at: null });
    return workflowId;
  }

  afterEach(async function () {
    await Promise.all(daemons.map((daemon) => daemon.stop('SIGKILL')));
    daemons.length = 0;
    await fleetToDrop?.drop(this.currentTest?.state === 'failed');
    fleetToDrop = null;
  });

  it('runs a schedule started through a follower on the leader only: one event per tick, counted 1, 2, 3, …', async function () {
    const { fleet, leader, follower } = await twoDaemons('fleet_schedule');
    const workflowId = await scheduleThroughFollower(follower);

    // The leader heard of it by NOTIFY and armed it; ~5 ticks later each tick has enqueued once.
    await waitFor(async () => (await scheduledEvents(fleet, workflowId)).length >= 5, 'five scheduled events', 30_000, 100);
    const events = await scheduledEvents(fleet, workflowId);
    expect(events.map((event) => event.count), 'execution_count of each scheduled event').to.deep.equal(oneToN(events.length));
    expect(armedHere(leader, workflowId), 'the leader armed the schedule').to.equal(true);
    expect(armedHere(follower, workflowId), 'the follower armed the schedule').to.equal(false);
    expect((await monitoringStatus(leader, workflowId)).triggers[0].next_fire_at, 'the leader’s next tick').to.be.a('string');
    // The runs complete wherever they are claimed.
    await waitFor(async () => (await fleet.query(`SELECT 1 FROM event_queue WHERE workflow_id = ? AND status = 'completed'`, [workflowId])).length >= 5, 'five scheduled runs to complete', 30_000, 100);
  });

  it('hands the schedule to the survivor when the leader is SIGKILLed: it fires on, counting on without a repeat', async function () {
    const { fleet, leader, follower } = await twoDaemons('fleet_handover');
    const workflowId = await scheduleThroughFollower(follower);
    await waitFor(async () => (await scheduledEvents(fleet, workflowId)).length >= 3, 'three scheduled events', 30_000, 100);

    // Killed between two ticks, once a fire has been enqueued and its count saved (the save follows
    // the enqueue by milliseconds; a kill in between would leave the survivor one count behind).
    const seen = (await scheduledEvents(fleet, workflowId)).length;
    await waitFor(async () => (await scheduledEvents(fleet, workflowId)).length > seen, 'one more scheduled event', 10_000, 20);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await leader.stop('SIGKILL');
    const beforeKill = await scheduledEvents(fleet, workflowId);
    expect(armedHere(follower, workflowId), 'the follower armed the schedule while it followed').to.equal(false);

    await waitFor(() => follower.output().includes(leaderLine), 'the survivor to take over leadership', 20_000);
    const lastBefore = beforeKill.at(-1)!.id;
    // Only the survivor is alive: every event after the kill is its own.
    await waitFor(async () => (await scheduledEvents(fleet, workflowId)).filter((event) => event.id > lastBefore).length >= 3, 'three scheduled events from the survivor', 30_000, 100);
    expect(armedHere(follower, workflowId), 'the survivor armed the schedule').to.equal(true);
    const events = await scheduledEvents(fleet, workflowId);
    expect(events.map((event) => event.count), 'execution_count across the handover').to.deep.equal(oneToN(events.length));
    expect((await monitoringStatus(follower, workflowId)).triggers[0]).to.include({ armed: true }).and.have.property('next_fire_at').that.is.a('string');
  });

  it('serves a webhook on every daemon: the follower and the leader both accept a delivery and enqueue it', async function () {
    const { fleet, leader, follower } = await twoDaemons('fleet_webhook');
    const workflowId = await createWorkflow(leader, hooked('orders'));
    await setMonitoring(leader, workflowId, 'start');
    // The follower arms the path when the leader's NOTIFY reaches it.
    await waitFor(async () => (await monitoringStatus(follower, workflowId)).triggers[0].armed, 'the follower to arm the webhook', 15_000);

    const deliveries: [TestDaemon, number][] = [[follower, 1], [leader, 2]];
    for (const [daemon, order] of deliveries) {
      const { event_id: eventId } = expectOk(await postWebhook(daemon, 'orders', JSON.stringify({ order })), 202);
      const event = await waitForEventEnd(daemon, eventId, 30_000);
      expect(event.status, `delivery ${order}`).to.equal('completed');
    }
    const rows = await fleet.query<{ event_data: { body: { order: number } } }>(`SELECT event_data FROM event_queue WHERE workflow_id = ? AND source = 'webhook' ORDER BY id`, [workflowId]);
    expect(rows.map((row) => row.event_data.body.order)).to.deep.equal([1, 2]);

    // Stopped through the follower, the path closes on the leader too.
    await setMonitoring(follower, workflowId, 'stop');
    await waitFor(async () => (await postWebhook(leader, 'orders', JSON.stringify({ order: 3 }))).status === 404, 'the leader to close the path', 15_000, 100);
    expect((await postWebhook(follower, 'orders', JSON.stringify({ order: 3 }))).status).to.equal(404);
  });
});
