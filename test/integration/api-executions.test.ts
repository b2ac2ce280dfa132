// What a run recorded — GET /api/v1/executions/:id, /results and /logs — through a real daemon.
import { expect } from 'chai';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, expectError, expectOk, waitForEventEnd, removeIfAllPassed } from '../helpers/api-assertions.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

const payloadMaxChars = 100;
// 300 characters, 350 bytes in UTF-8: the projection is cut by characters, byte_size counts bytes.
const longText = 'é'.repeat(50) + 'a'.repeat(250);

describe('executions API', function () {
  let daemon: TestDaemon;

  before(async function () {
    daemon = await startDaemon({ settings: { execution: { payload_max_chars: payloadMaxChars, retry_delay: 0.1, max_retries: 0 } } });
  });

  after(async function () {
    if (!daemon) return;
    expect(await daemon.stop('SIGTERM')).to.equal(0);
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  describe('a completed two-node run', function () {
    let eventId: number;
    let executionId: string;
    let workflowId: string;

    before(async function () {
      workflowId = await createWorkflow(daemon, workflowBody('input to display', [node('input', 'text_input', { text: longText }), node('show', 'text_display')], [link('input', 'text', 'show', 'text')]));
      ({ id: eventId } = await enqueue(daemon, workflowId, { event_data: { from: 'test' } }));
      const event = await waitForEventEnd(daemon, eventId);
      expect(event.status).to.equal('completed');
      executionId = event.execution_id;
    });

    it('shows the execution completed with both nodes and the sink outputs', async function () {
      const execution = expectOk(await daemon.request('GET', `/api/v1/executions/${executionId}`));
      expect(execution).to.include({ id: executionId, workflow_id: workflowId, event_id: eventId, status: 'completed', error_message: null, execution_source: 'api' });
      expect(execution.trigger_data).to.deep.equal({ from: 'test' });
      expect(Date.parse(execution.completed_at)).to.be.at.least(Date.parse(execution.started_at));
      expect(Object.keys(execution.node_results).sort()).to.deep.equal(['input', 'show']);
      for (const nodeId of ['input', 'show']) expect(execution.node_results[nodeId]).to.include({ status: 'completed', attempts: 1 });
      expect(Object.keys(execution.final_outputs)).to.deep.equal(['show']);
      expect(execution.final_outputs.show.text).to.equal(longText);
      expect(execution.final_outputs.show.preview_data).to.include({ char_count: 300 });
    });

    it('lists one result row per output port, projection cut at payload_max_chars and byte_size in bytes', async function () {
      const { items } = expectOk(await daemon.request('GET', `/api/v1/executions/${executionId}/results`));
      expect(items.map((row: { node_id: string; port_name: string }) => `${row.node_id}.${row.port_name}`).sort()).to.deep.equal(['input.text', 'show.preview_data', 'show.text']);

      const text = items.find((row: { node_id: string }) => row.node_id === 'input');
      expect(text).to.include({ data_type: 'text', content: longText, byte_size: Buffer.byteLength(longText) });
      expect(text.byte_size).to.equal(350);
      expect(text.content_projection).to.have.length(payloadMaxChars);
      expect(text.content_projection).to.equal(longText.slice(0, payloadMaxChars));

      const preview = items.find((row: { port_name: string }) => row.port_name === 'preview_data');
      expect(preview.data_type).to.equal('json');
      expect(preview.content).to.be.an('object').with.property('char_count', 300);
      expect(preview.byte_size).to.equal(Buffer.byteLength(JSON.stringify(preview.content)));
      expect(preview.content_projection).to.have.length(payloadMaxChars);
    });

    it('logs node_started and node_completed for each node, oldest first', async function () {
      const { items, next_cursor } = expectOk(await daemon.request('GET', `/api/v1/executions/${executionId}/logs`));
      expect(next_cursor).to.equal(null);
      const rows = items.map((row: { node_id: string; event: string }) => `${row.node_id}:${row.event}`);
      expect(rows).to.have.members(['input:node_started', 'input:node_completed', 'show:node_started', 'show:node_completed']);
      expect(rows.indexOf('input:node_started')).to.be.below(rows.indexOf('input:node_completed'));
      expect(rows.indexOf('input:node_completed')).to.be.below(rows.indexOf('show:node_started'));
      const ids = items.map((row: { id: number }) => row.id);
      expect(ids).to.deep.equal([...ids].sort((a, b) => a - b));
      const completed = items.find((row: { event: string }) => row.event === 'node_completed');
      expect(completed).to.include({ level: 'info', attempt: 1 });
      expect(completed.duration_ms).to.be.a('number');
    });

    it('pages the logs with a cursor without duplicates or gaps', async function () {
      const all = expectOk(await daemon.request('GET', `/api/v1/executions/${executionId}/logs`)).items.map((row: { id: number }) => row.id);
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = expectOk(await daemon.request('GET', `/api/v1/executions/${executionId}/logs?limit=3${cursor ? `&cursor=${cursor}` : ''}`));
        expect(page.items.length).to.be.at.most(3);
        seen.push(...page.items.map((row: { id: number }) => row.id));
        cursor = page.next_cursor;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(pages).to.equal(2);
      expect(seen).to.deep.equal(all);
    });

    it('refuses log limits out of bounds with 400', async function () {
      for (const query of ['limit=0', 'limit=501', 'cursor=x']) {
        expectError(await daemon.request('GET', `/api/v1/executions/${executionId}/logs?${query}`), 400, 'validation_failed');
      }
    });

    it('answers a wrong or missing key with 401', async function () {
      for (const suffix of ['', '/results', '/logs']) {
        expectError(await daemon.request('GET', `/api/v1/executions/${executionId}${suffix}`, undefined, { authorization: 'Bearer tav_wrong' }), 401, 'unauthorized');
        expectError(await daemon.request('GET', `/api/v1/executions/${executionId}${suffix}`, undefined, { authorization: '' }), 401, 'unauthorized');
      }
    });
  });

  it('answers an unknown execution id with 404 on every route', async function () {
    for (const suffix of ['', '/results', '/logs']) {
      expectError(await daemon.request('GET', `/api/v1/executions/00000000-0000-0000-0000-000000000000${suffix}`), 404, 'not_found');
    }
  });

  it('records a failing node: execution failed with its error, a node_failed log row, the event failed with its attempts', async function () {
    const workflowId = await createWorkflow(
      daemon,
      workflowBody('fails', [node('input', 'text_input', { text: 'x' }), node('boom', 'test_fail', { code: 'deliberate', message: 'failed on purpose' })], [link('input', 'text', 'boom', 'input')]),
    );
    const { id } = await enqueue(daemon, workflowId);
    const event = await waitForEventEnd(daemon, id);
    expect(event.status).to.equal('failed');
    expect(event.attempts).to.equal(1);
    expect(event.error_message).to.contain('failed on purpose');

    const execution = expectOk(await daemon.request('GET', `/api/v1/executions/${event.execution_id}`));
    expect(execution.status).to.equal('failed');
    expect(execution.error_message).to.contain('failed on purpose').and.to.contain('boom');
    expect(execution.node_results.input.status).to.equal('completed');
    expect(execution.node_results.boom).to.include({ status: 'failed' });
    expect(execution.node_results.boom.error).to.include({ code: 'deliberate', retryable: false });

    const { items } = expectOk(await daemon.request('GET', `/api/v1/executions/${event.execution_id}/logs`));
    const failed = items.filter((row: { event: string }) => row.event === 'node_failed');
    expect(failed).to.have.length(1);
    expect(failed[0]).to.include({ node_id: 'boom', level: 'error', message: 'failed on purpose' });
    expect(failed[0].data).to.deep.equal({ code: 'deliberate', retryable: false });

    const results = expectOk(await daemon.request('GET', `/api/v1/executions/${event.execution_id}/results`)).items;
    expect(results.map((row: { node_id: string }) => row.node_id)).to.deep.equal(['input']);
  });

  it('retries a retryable failure up to max_attempts, then fails the event with its error and attempts', async function () {
    const workflowId = await createWorkflow(daemon, workflowBody('flaky', [node('flaky', 'test_fail', { message: 'try again later', retryable: true })]));
    const { id } = await enqueue(daemon, workflowId, { max_attempts: 2 });
    const event = await waitForEventEnd(daemon, id);
    expect(event).to.include({ status: 'failed', attempts: 2, max_attempts: 2 });
    expect(event.error_message).to.contain('try again later');

    const execution = expectOk(await daemon.request('GET', `/api/v1/executions/${event.execution_id}`));
    expect(execution.status).to.equal('failed');
    const { items } = expectOk(await daemon.request('GET', `/api/v1/executions/${event.execution_id}/logs`));
    expect(items.filter((row: { event: string }) => row.event === 'node_failed').map((row: { attempt: number }) => row.attempt)).to.deep.equal([1, 2]);
  });
});
