// Schedules on a real daemon: an interval of 1 s and a cron every second fire while monitoring and
// stop when it stops; monitoring survives a restart without a new start call; a schedule missed while
// the daemon was down fires once on start (not once per missed tick) and then keeps its cadence.
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, removeIfAllPassed, waitForEventEnd } from '../helpers/api-assertions.js';
import { getExecution } from '../helpers/workflow-runs.js';
import { backdateTrigger, executionsBy, monitoringStatus, setMonitoring } from '../helpers/triggers.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

/** tick (schedule_trigger) → say (text_input rendering the trigger's execution_count). */
const scheduled = (name: string, config: Record<string, unknown>) =>
  workflowBody(name, [node('tick', 'schedule_trigger', config), node('say', 'text_input', { text: 'tick {{trigger.execution_count}}' })], [link('tick', 'signal', 'say', 'input')]);

const everySecond = { interval_hours: 0, interval_minutes: 0, interval_seconds: 1 };
const hourly = { interval_hours: 1, interval_minutes: 0, interval_seconds: 0 };

describe('schedule triggers', function () {
  let daemon: TestDaemon;

  before(async function () {
    daemon = await startDaemon();
  });

  after(async function () {
    if (!daemon) return;
    await daemon.stop('SIGTERM');
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  it('fires an interval of 1 s about once a second while monitoring, and stops when monitoring stops', async function () {
    const workflowId = await createWorkflow(daemon, scheduled('every second', everySecond));
    const startedAt = Date.now();
    const started = await setMonitoring(daemon, workflowId, 'start');
    expect(started.monitoring).to.equal(true);
    expect(started.triggers[0]).to.include({ node_id: 'tick', kind: 'schedule', armed: true });
    await waitFor(async () => (await executionsBy(daemon, workflowId, 'schedule')).length >= 3, 'three scheduled runs', 15_000);
    const stopped = await setMonitoring(daemon, workflowId, 'stop');
    const elapsedSeconds = (Date.now() - startedAt) / 1000;
    expect(stopped).to.include({ monitoring: false, status: 'stopped' });
    expect(stopped.triggers[0]).to.include({ armed: false, next_fire_at: null });
    const runs = await executionsBy(daemon, workflowId, 'schedule');
    // Never more than one run per elapsed second (plus the one that may have been on its way).
    expect(runs.length).to.be.within(3, Math.floor(elapsedSeconds) + 1);
    expect(stopped.triggers[0].execution_count).to.equal(runs.length);
  });

  it('gives each scheduled run the trigger payload, and downstream nodes see it', async function () {
    const workflowId = await createWorkflow(daemon, scheduled('payload', everySecond));
    await setMonitoring(daemon, workflowId, 'start');
    const [first] = (await waitFor(async () => {
      const runs = await executionsBy(daemon, workflowId, 'schedule');
      return runs.length >= 1 && runs.at(-1).status === 'completed' ? runs.slice(-1) : null;
    }, 'a completed scheduled run'))!;
    await setMonitoring(daemon, workflowId, 'stop');
    const execution = await getExecution(daemon, first.id);
    expect(execution.execution_source).to.equal('schedule');
    expect(execution.trigger_data).to.include({ execution_count: 1, source: 'schedule', catch_up: false });
    expect(Date.parse(execution.trigger_data.triggered_at)).to.be.a('number').and.not.NaN;
    expect(execution.trigger_data.schedule).to.deep.equal({ type: 'interval', interval_seconds: 1 });
    expect(execution.node_results.tick.outputs.signal).to.include({ execution_count: 1, source: 'schedule' });
    expect(execution.node_results.say.outputs.text).to.equal('tick 1');
  });

  it('fires a cron of every second in a time zone', async function () {
    const workflowId = await createWorkflow(daemon, scheduled('cron', { cron: '* * * * * *', timezone: 'Europe/Berlin' }));
    const status = await setMonitoring(daemon, workflowId, 'start');
    expect(Date.parse(status.triggers[0].next_fire_at) - Date.now()).to.be.at.most(1_500);
    await waitFor(async () => (await executionsBy(daemon, workflowId, 'schedule')).length >= 3, 'three cron runs', 15_000);
    await setMonitoring(daemon, workflowId, 'stop');
    const [latest] = await executionsBy(daemon, workflowId, 'schedule');
    const execution = await getExecution(daemon, latest.id);
    expect(execution.trigger_data.schedule).to.deep.equal({ type: 'cron', cron: '* * * * * *', timezone: 'Europe/Berlin' });
  });

  it('does not fire at once when monitoring starts: an hourly schedule waits an hour', async function () {
    const workflowId = await createWorkflow(daemon, scheduled('hourly', hourly));
    const status = await setMonitoring(daemon, workflowId, 'start');
    const untilNext = Date.parse(status.triggers[0].next_fire_at) - Date.now();
    expect(untilNext).to.be.within(59 * 60_000, 60 * 60_000);
    expect(status.triggers[0].execution_count).to.equal(0);
    // Starting twice changes nothing.
    const again = await setMonitoring(daemon, workflowId, 'start');
    expect(again.started_at).to.equal(status.started_at);
    expect(again.triggers[0].next_fire_at).to.equal(status.triggers[0].next_fire_at);
    await setMonitoring(daemon, workflowId, 'stop');
  });
});

describe('schedules across a restart', function () {
  let daemon: TestDaemon;
  let survivorId: string;
  let missedId: string;

  before(async function () {
    daemon = await startDaemon();
    survivorId = await createWorkflow(daemon, scheduled('survivor', everySecond));
    missedId = await createWorkflow(daemon, scheduled('missed', hourly));
    await setMonitoring(daemon, survivorId, 'start');
    await setMonitoring(daemon, missedId, 'start');
    await waitFor(async () => (await executionsBy(daemon, survivorId, 'schedule')).length >= 2, 'the survivor to fire twice');
    await daemon.stop('SIGTERM');
    // The hourly schedule last fired two hours ago, with monitoring on since three: ticks were missed.
    const now = Date.now();
    backdateTrigger(daemon.dbPath, missedId, 'tick', { monitoringStartedAt: now - 3 * 3600_000, lastFiredAt: now - 2 * 3600_000, executionCount: 4 });
    daemon = await startDaemon({ dataDir: daemon.dataDir });
  });

  after(async function () {
    if (!daemon) return;
    await daemon.stop('SIGTERM');
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  it('keeps firing a monitoring schedule after a restart without a new start, counting on', async function () {
    const status = await monitoringStatus(daemon, survivorId);
    expect(status.monitoring).to.equal(true);
    const before = status.triggers[0].execution_count;
    expect(before).to.be.at.least(2);
    const runs = (await waitFor(async () => {
      const all = await executionsBy(daemon, survivorId, 'schedule');
      return all.length >= before + 2 ? all : null;
    }, 'two more runs after the restart'))!;
    const counts = await Promise.all(runs.slice(0, 2).map(async (run: any) => (await getExecution(daemon, run.id)).trigger_data.execution_count));
    expect(Math.min(...counts)).to.be.above(2);
  });

  it('fires a schedule missed while the daemon was down exactly once, then waits for its next tick', async function () {
    const [run] = (await waitFor(async () => {
      const runs = await executionsBy(daemon, missedId, 'schedule');
      return runs.length > 0 ? runs : null;
    }, 'the catch-up run'))!;
    const event = await waitForEventEnd(daemon, (await getExecution(daemon, run.id)).event_id);
    expect(event.status).to.equal('completed');
    const execution = await getExecution(daemon, run.id);
    expect(execution.trigger_data).to.include({ catch_up: true, execution_count: 5, source: 'schedule' });
    expect(execution.node_results.say.outputs.text).to.equal('tick 5');
    const status = await monitoringStatus(daemon, missedId);
    expect(status.triggers[0].execution_count).to.equal(5);
    // On its hourly cadence from now: no second catch-up.
    expect(Date.parse(status.triggers[0].next_fire_at) - Date.now()).to.be.within(59 * 60_000, 60 * 60_000);
    expect(await executionsBy(daemon, missedId, 'schedule')).to.have.length(1);
  });
});
