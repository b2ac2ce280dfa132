// The schedule's arithmetic with a fixed clock: when it fires first, that a missed schedule fires
// once (not once per missed tick), and the webhook signature and header allowlist it sits beside.
import { expect } from 'chai';
import { parseSchedule, type ScheduleSpec } from '../../src/domain/trigger-config.js';
import { allowedWebhookHeaders } from '../../src/domain/webhook-payload.js';
import { createLogger } from '../../src/log.js';
import { ScheduleTrigger } from '../../src/triggers/schedule-trigger.js';
import { isValidWebhookSignature, signWebhookBody } from '../../src/triggers/webhook-signature.js';
import type { Json, NodeModule, NodeTask } from '../../workers/node-contract.js';
import { node as filePollingTrigger } from '../../workers/nodes/file-polling-trigger.js';
import { node as scheduleTrigger } from '../../workers/nodes/schedule-trigger.js';
import { node as webhookTrigger } from '../../workers/nodes/webhook-trigger.js';

const hour = 3600_000;
const now = Date.parse('2026-03-10T12:00:00.000Z');
const log = createLogger('error', { silent: true });

/** Arms a schedule at `now` and returns what it emitted at once and when it will fire next. */
async function armAt(spec: ScheduleSpec, lastFiredAt: number | null, since: number): Promise<{ emitted: Json[]; next: number | null }> {
  const emitted: Json[] = [];
  const schedule = new ScheduleTrigger({ spec, clock: { now: () => now }, log, lastFiredAt, since, emit: async (data) => (emitted.push(data), true) });
  schedule.start();
  const next = schedule.nextFireAt;
  await schedule.stop();
  return { emitted, next };
}

describe('schedule trigger', function () {
  const hourly = parseSchedule({ interval_hours: 1, interval_minutes: 0 }) as ScheduleSpec;

  it('waits a whole interval after monitoring starts when it never fired', async function () {
    const { emitted, next } = await armAt(hourly, null, now - 10 * 60_000);
    expect(emitted).to.have.length(0);
    expect(next).to.equal(now + 50 * 60_000);
  });

  it('fires a missed interval once on start, then an interval from now', async function () {
    const { emitted, next } = await armAt(hourly, now - 5 * hour, now - 6 * hour);
    expect(emitted).to.have.length(1);
    expect(emitted[0]).to.include({ catch_up: true, source: 'schedule', scheduled_for: new Date(now - 4 * hour).toISOString() });
    expect(next).to.equal(now + hour);
  });

  it('fires a missed cron tick once on start, then on its next tick in its time zone', async function () {
    const daily = parseSchedule({ cron: '0 9 * * *', timezone: 'America/New_York' }) as ScheduleSpec;
    // 12:00 UTC is 08:00 in New York (EDT from 8 March 2026): the next 09:00 there is 13:00 UTC.
    const { emitted, next } = await armAt(daily, now - 3 * 24 * hour, now - 4 * 24 * hour);
    expect(emitted).to.have.length(1);
    expect(next).to.equal(Date.parse('2026-03-10T13:00:00.000Z'));
  });

  it('reads the interval keys as given, and defaults to 5 minutes only when none is given', function () {
    expect(parseSchedule({ interval_seconds: 30 })).to.deep.equal({ type: 'interval', intervalMs: 30_000 });
    expect(parseSchedule({})).to.deep.equal({ type: 'interval', intervalMs: 300_000 });
    expect(parseSchedule({ interval_minutes: '2', interval_seconds: '0.5' })).to.deep.equal({ type: 'interval', intervalMs: 120_500 });
    expect(parseSchedule({ interval_seconds: 0 })).to.be.a('string');
    expect(parseSchedule({ cron: '0 9 * * *', timezone: 'Nowhere/Special' })).to.match(/unknown time zone/);
  });
});

describe('webhook signature and headers', function () {
  const body = Buffer.from('{"a":1}');
  const signed = signWebhookBody('s', body);

  it('accepts the hex HMAC-SHA256 of the raw body, with or without sha256=', function () {
    expect(isValidWebhookSignature('s', body, signed)).to.equal(true);
    expect(isValidWebhookSignature('s', body, `sha256=${signed.toUpperCase()}`)).to.equal(true);
  });

  it('refuses another secret, another body, a truncated or missing signature', function () {
    expect(isValidWebhookSignature('t', body, signed)).to.equal(false);
    expect(isValidWebhookSignature('s', Buffer.from('{"a":2}'), signed)).to.equal(false);
    expect(isValidWebhookSignature('s', body, signed.slice(0, 40))).to.equal(false);
    expect(isValidWebhookSignature('s', body, undefined)).to.equal(false);
  });

  it('keeps allowlisted and x-tav-* headers, never credentials or the signature', function () {
    const kept = allowedWebhookHeaders({ 'content-type': 'application/json', authorization: 'Bearer x', cookie: 'c', 'x-tav-signature': signed, 'x-tav-source': 'crm', 'x-other': 'y' });
    expect(kept).to.deep.equal({ 'content-type': 'application/json', 'x-tav-source': 'crm' });
  });
});

describe('trigger nodes', function () {
  const run = (module: NodeModule, trigger: Json) => {
    const task: NodeTask = { executionId: 'e', nodeId: 'n', nodeType: module.definition.type, config: {}, inputs: {}, trigger, attempt: 1, timeoutMs: 1000 };
    return module.run(task, { signal: new AbortController().signal });
  };

  it('hand on the trigger payload: schedule as signal, webhook as body/headers/query, file as file/file_name', async function () {
    expect(await run(scheduleTrigger, { execution_count: 3 })).to.deep.equal({ signal: { execution_count: 3 } });
    expect(await run(webhookTrigger, { body: { a: 1 }, headers: { 'user-agent': 'x' }, query: { q: '1' } })).to.deep.equal({ body: { a: 1 }, headers: { 'user-agent': 'x' }, query: { q: '1' } });
    const file = { name: 'a.csv', path: '/in/a.csv' };
    expect(await run(filePollingTrigger, { file, file_name: 'a.csv' })).to.deep.equal({ file, file_name: 'a.csv' });
    expect(await run(filePollingTrigger, { files: [file, { name: 'b.csv' }] })).to.deep.equal({ file: [file, { name: 'b.csv' }], file_name: ['a.csv', 'b.csv'] });
  });

  it('work in a manual run: the event data stands for the webhook body', async function () {
    expect(await run(webhookTrigger, { order: 7 })).to.deep.equal({ body: { order: 7 }, headers: {}, query: {} });
    expect(await run(scheduleTrigger, null)).to.deep.equal({ signal: {} });
  });
});
