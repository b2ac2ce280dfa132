// GET /api/v1/executions/:id/stream: live Server-Sent Events, with the state so far for late clients.
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, expectOk } from '../helpers/api-assertions.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

interface StreamEvent {
  event: string;
  data: any;
}

/** Reads an SSE response until its `end` event (or the stream closes). */
async function readStream(daemon: TestDaemon, executionId: string): Promise<StreamEvent[]> {
  const response = await fetch(`${daemon.baseUrl}/api/v1/executions/${executionId}/stream`, { headers: { authorization: `Bearer ${daemon.key}` } });
  expect(response.status).to.equal(200);
  expect(response.headers.get('content-type')).to.match(/^text\/event-stream/);
  const events: StreamEvent[] = [];
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) events.push({ event, data: JSON.parse(data) });
    }
  }
  return events;
}

describe('execution stream', function () {
  let daemon: TestDaemon;
  let workflowId: string;

  before(async () => {
    daemon = await startDaemon();
    workflowId = await createWorkflow(daemon, workflowBody('streamed', [node('slow', 'test_slow', { ms: 600 }), node('after', 'test_echo')], [link('slow', 'output', 'after', 'input')]));
  });

  after(async () => {
    expect(await daemon.stop()).to.equal(0);
  });

  it('streams node starts and finishes, progress and the end of a running execution', async () => {
    const event = expectOk(await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, {}), 202).event;
    const executionId = (await waitFor(async () => expectOk(await daemon.request('GET', `/api/v1/events/${event.id}`)).execution_id as string | null, 'an execution'))!;
    const events = await readStream(daemon, executionId);
    const names = events.map((item) => item.event);
    expect(names[0]).to.equal('snapshot');
    expect(names.at(-1)).to.equal('end');
    expect(events.at(-1)!.data.status).to.equal('completed');
    const finished = events.filter((item) => item.event === 'node_finished').map((item) => item.data.nodeId);
    expect(finished).to.include('after');
    expect(names).to.include('progress');
    expect(names).to.include('execution_finished');
  });

  it('gives a late client the state so far and the end at once', async () => {
    const done = expectOk(await daemon.request('POST', `/api/v1/workflows/${workflowId}/execute`, {}, { 'x-await-completion': 'true' }));
    const events = await readStream(daemon, done.execution.id);
    expect(events.map((item) => item.event)).to.deep.equal(['snapshot', 'end']);
    expect(events[0]!.data.execution.status).to.equal('completed');
    expect(events[0]!.data.logs.map((log: { event: string }) => log.event)).to.include('node_completed');
  });

  it('answers an unknown execution with 404 and no key with 401', async () => {
    expect((await daemon.request('GET', '/api/v1/executions/00000000-0000-7000-8000-000000000000/stream')).status).to.equal(404);
    expect((await daemon.request('GET', '/api/v1/executions/x/stream', undefined, { authorization: '' })).status).to.equal(401);
  });
});
