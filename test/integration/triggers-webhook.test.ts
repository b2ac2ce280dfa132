// Webhooks and the monitoring API on a real daemon: a signed delivery is enqueued (202, event id) and
// its run sees body, allowed headers and query; a bad or missing signature is 401 and enqueues
// nothing; an unknown path or a workflow not monitoring is 404; monitoring follows PUT and DELETE;
// trigger configs that could never fire are refused at save time with 400.
import { expect } from 'chai';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, expectError, expectOk, removeIfAllPassed, waitForEventEnd } from '../helpers/api-assertions.js';
import { getExecution } from '../helpers/workflow-runs.js';
import { eventCount, monitoringStatus, postWebhook, setMonitoring, signature } from '../helpers/triggers.js';
import { link, node, oneNode, workflowBody } from '../helpers/workflows.js';

const secret = 'shared-secret';

/** hook (webhook_trigger, sharing its outputs as `hook`) → say (text_input rendering the order id from hook's body). */
const hooked = (path: string, config: Record<string, unknown> = {}) =>
  workflowBody(
    `hook ${path}`,
    [node('hook', 'webhook_trigger', { path, ...config }, { share_output_to_variables: true, variable_name: 'hook' }), node('say', 'text_input', { text: 'order {{hook.body.order}}' })],
    [link('hook', 'body', 'say', 'input')],
  );

describe('webhook triggers and monitoring', function () {
  let daemon: TestDaemon;
  let signedId: string;

  before(async function () {
    daemon = await startDaemon({ settings: { security: { max_content_length: 1_048_576 } } });
    signedId = await createWorkflow(daemon, hooked('orders', { secret }));
  });

  after(async function () {
    if (!daemon) return;
    await daemon.stop('SIGTERM');
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  it('answers 404 for a workflow that is not monitoring and for an unknown path', async function () {
    const body = JSON.stringify({ order: 1 });
    expectError(await postWebhook(daemon, 'orders', body, { 'x-tav-signature': signature(secret, body) }), 404, 'webhook_not_found');
    expectError(await postWebhook(daemon, 'nobody-here', body), 404, 'webhook_not_found');
    expect(await eventCount(daemon, signedId)).to.equal(0);
  });

  it('starts monitoring, idempotently, and reports the webhook trigger', async function () {
    const first = await setMonitoring(daemon, signedId, 'start');
    expect(first).to.include({ workflow_id: signedId, monitoring: true, status: 'running', stopped_at: null });
    expect(first.triggers).to.deep.equal([{ node_id: 'hook', kind: 'webhook', armed: true, next_fire_at: null, last_fired_at: null, execution_count: 0, webhook_path: 'orders' }]);
    const again = await setMonitoring(daemon, signedId, 'start');
    expect(again.started_at).to.equal(first.started_at);
    expect((await monitoringStatus(daemon, signedId)).monitoring).to.equal(true);
  });

  it('enqueues a signed delivery (202 with the event id) whose run sees body, allowed headers and query', async function () {
    const body = JSON.stringify({ order: 42, items: ['a'] });
    const response = await postWebhook(daemon, 'orders?priority=high&tag=a&tag=b', body, {
      'x-tav-signature': `sha256=${signature(secret, body)}`,
      'x-tav-delivery': 'd-1',
      'x-request-id': 'req-7',
      cookie: 'session=secret',
      'x-api-key': 'not-for-the-workflow',
    });
    const { event_id: eventId } = expectOk(response, 202);
    expect(eventId).to.be.a('number');
    const event = await waitForEventEnd(daemon, eventId);
    expect(event.status).to.equal('completed');
    const execution = await getExecution(daemon, event.execution_id);
    expect(execution.execution_source).to.equal('webhook');
    const trigger = execution.trigger_data;
    expect(trigger).to.include({ source: 'webhook', execution_count: 1 });
    expect(trigger.body).to.deep.equal({ order: 42, items: ['a'] });
    expect(trigger.query).to.deep.equal({ priority: 'high', tag: ['a', 'b'] });
    expect(trigger.headers).to.include({ 'content-type': 'application/json', 'x-tav-delivery': 'd-1', 'x-request-id': 'req-7' });
    expect(trigger.headers).to.not.have.any.keys('authorization', 'cookie', 'x-api-key', 'x-tav-signature');
    expect(execution.node_results.hook.outputs.body).to.deep.equal({ order: 42, items: ['a'] });
    expect(execution.node_results.say.outputs.text).to.equal('order 42');
  });

  it('refuses a bad or missing signature with 401 and enqueues nothing', async function () {
    const before = await eventCount(daemon, signedId);
    const body = JSON.stringify({ order: 43 });
    expectError(await postWebhook(daemon, 'orders', body, { 'x-tav-signature': signature('wrong secret', body) }), 401, 'invalid_signature');
    expectError(await postWebhook(daemon, 'orders', body, { 'x-tav-signature': signature(secret, `${body} `) }), 401, 'invalid_signature');
    expectError(await postWebhook(daemon, 'orders', body, { 'x-tav-signature': 'not-hex' }), 401, 'invalid_signature');
    expectError(await postWebhook(daemon, 'orders', body), 401, 'invalid_signature');
    expect(await eventCount(daemon, signedId)).to.equal(before);
  });

  it('passes a non-JSON body on as text, and refuses malformed JSON and oversized bodies', async function () {
    const workflowId = await createWorkflow(daemon, hooked('plain'));
    await setMonitoring(daemon, workflowId, 'start');
    const { event_id: eventId } = expectOk(await postWebhook(daemon, 'plain', 'hello=world', { 'content-type': 'text/plain' }), 202);
    const event = await waitForEventEnd(daemon, eventId);
    expect((await getExecution(daemon, event.execution_id)).trigger_data.body).to.equal('hello=world');
    expectError(await postWebhook(daemon, 'plain', '{"order":'), 400, 'malformed_json');
    expectError(await postWebhook(daemon, 'plain', 'x'.repeat(1_048_577), { 'content-type': 'text/plain' }), 413, 'payload_too_large');
    await setMonitoring(daemon, workflowId, 'stop');
  });

  it('runs a webhook workflow by hand too: the trigger node hands on the event data as the body', async function () {
    const response = await daemon.request('POST', `/api/v1/workflows/${signedId}/execute`, { event_data: { order: 7 } }, { 'x-await-completion': 'true' });
    const { execution } = expectOk(response);
    expect(execution.execution_source).to.equal('manual');
    expect(execution.node_results.hook.outputs).to.deep.equal({ body: { order: 7 }, headers: {}, query: {} });
    expect(execution.node_results.say.outputs.text).to.equal('order 7');
  });

  it('records webhook deliveries in the audit trail', async function () {
    const logs = expectOk(await daemon.request('GET', `/api/v1/audit-logs?action=${encodeURIComponent('POST /webhooks/:path')}`)).items;
    expect(logs.map((row: any) => row.status_code)).to.include.members([202, 401, 404]);
  });

  it('follows a PUT to a new path and a stop, then a DELETE', async function () {
    const moved = expectOk(await daemon.request('PUT', `/api/v1/workflows/${signedId}`, hooked('orders-v2')));
    expect(moved.id).to.equal(signedId);
    const body = JSON.stringify({ order: 1 });
    expectError(await postWebhook(daemon, 'orders', body), 404, 'webhook_not_found');
    expectOk(await postWebhook(daemon, 'orders-v2', body), 202);
    expect((await monitoringStatus(daemon, signedId)).triggers[0]).to.include({ webhook_path: 'orders-v2', execution_count: 2 });

    const stopped = await setMonitoring(daemon, signedId, 'stop');
    expect(stopped).to.include({ monitoring: false, status: 'stopped' });
    expect(stopped.stopped_at).to.be.a('string');
    expectError(await postWebhook(daemon, 'orders-v2', body), 404, 'webhook_not_found');
    // Stopping twice is fine too.
    expect((await setMonitoring(daemon, signedId, 'stop')).stopped_at).to.equal(stopped.stopped_at);

    const gone = await createWorkflow(daemon, hooked('short-lived'));
    await setMonitoring(daemon, gone, 'start');
    expectOk(await daemon.request('DELETE', `/api/v1/workflows/${gone}`), 204);
    expectError(await postWebhook(daemon, 'short-lived', body), 404, 'webhook_not_found');
  });

  it('refuses to monitor a workflow without a trigger node, an inactive one, a missing one, or a taken path', async function () {
    const plain = await createWorkflow(daemon, oneNode());
    expectError(await daemon.request('POST', `/api/v1/workflows/${plain}/monitoring/start`), 409, 'no_trigger_nodes');
    const inactive = await createWorkflow(daemon, { ...hooked('sleepy'), is_active: false });
    expectError(await daemon.request('POST', `/api/v1/workflows/${inactive}/monitoring/start`), 409, 'workflow_inactive');
    expectError(await daemon.request('POST', '/api/v1/workflows/00000000-0000-0000-0000-000000000000/monitoring/start'), 404, 'not_found');
    expectError(await daemon.request('GET', '/api/v1/workflows/00000000-0000-0000-0000-000000000000/monitoring/status'), 404, 'not_found');
    const holder = await createWorkflow(daemon, hooked('shared'));
    const rival = await createWorkflow(daemon, hooked('shared'));
    await setMonitoring(daemon, holder, 'start');
    expectError(await daemon.request('POST', `/api/v1/workflows/${rival}/monitoring/start`), 409, 'webhook_path_taken');
    await setMonitoring(daemon, holder, 'stop');
  });

  it('needs an API key with the admin scope to start monitoring, but none for a webhook', async function () {
    expectError(await daemon.request('POST', `/api/v1/workflows/${signedId}/monitoring/start`, undefined, { authorization: '' }), 401, 'unauthorized');
  });

  describe('trigger configs refused at save time with 400', function () {
    const refused: Array<[string, unknown, string]> = [
      ['a cron croner cannot read', { cron: 'every day at noon' }, 'cron'],
      ['a cron with an impossible field', { cron: '99 * * * *' }, 'cron'],
      ['an interval of 0 seconds in total', { interval_hours: 0, interval_minutes: 0, interval_seconds: 0 }, 'interval_seconds'],
      ['a negative interval', { interval_seconds: -5 }, 'interval_seconds'],
      ['an unknown time zone', { cron: '0 9 * * *', timezone: 'Mars/Olympus_Mons' }, 'cron'],
    ];
    for (const [what, config, key] of refused) {
      it(`refuses a schedule with ${what}`, async function () {
        const response = await daemon.request('POST', '/api/v1/workflows', workflowBody('bad schedule', [node('tick', 'schedule_trigger', config as Record<string, unknown>)]));
        expectError(response, 400, 'invalid_workflow');
        expect(response.body.error.details.map((problem: any) => problem.path)).to.include(`nodes[0].config.${key}`);
      });
    }

    it('refuses a webhook without a path, with a path of several segments, or two webhooks on one path', async function () {
      for (const config of [{}, { path: 'a/b' }, { path: '' }]) {
        expectError(await daemon.request('POST', '/api/v1/workflows', workflowBody('bad hook', [node('hook', 'webhook_trigger', config)])), 400, 'invalid_workflow');
      }
      const twice = workflowBody('two hooks', [node('a', 'webhook_trigger', { path: 'same' }), node('b', 'webhook_trigger', { path: '/same/' })]);
      expectError(await daemon.request('POST', '/api/v1/workflows', twice), 400, 'invalid_workflow');
    });

    it('refuses a file poller without a watch folder or with an unknown mode, and a bad PUT', async function () {
      expectError(await daemon.request('POST', '/api/v1/workflows', workflowBody('bad poll', [node('poll', 'file_polling_trigger', { trigger_mode: 'sometimes' })])), 400, 'invalid_workflow');
      expectError(await daemon.request('PUT', `/api/v1/workflows/${signedId}`, workflowBody('bad', [node('tick', 'schedule_trigger', { cron: 'nope' })])), 400, 'invalid_workflow');
    });

    it('accepts a valid cron with a time zone, an interval given in seconds only, and a leading slash on a path', async function () {
      await createWorkflow(daemon, workflowBody('ok cron', [node('tick', 'schedule_trigger', { cron: '0 9 * * 1-5', timezone: 'America/New_York' })]));
      await createWorkflow(daemon, workflowBody('ok interval', [node('tick', 'schedule_trigger', { interval_seconds: 30 })]));
      await createWorkflow(daemon, workflowBody('ok hook', [node('hook', 'webhook_trigger', { path: '/leading-slash' })]));
    });
  });
});
