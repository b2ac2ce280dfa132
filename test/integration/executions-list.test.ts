// GET /api/v1/executions: filters by workflow, status, source and time, cursor paging newest first.
import { expect } from 'chai';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, expectError, expectOk } from '../helpers/api-assertions.js';
import { node, workflowBody } from '../helpers/workflows.js';

describe('executions list', function () {
  let daemon: TestDaemon;
  let okId: string;
  let failId: string;
  const testStart = new Date().toISOString();

  before(async () => {
    daemon = await startDaemon({ settings: { execution: { max_retries: 0 } } });
    okId = await createWorkflow(daemon, workflowBody('ok', [node('a', 'text_input', { text: 'x' })]));
    failId = await createWorkflow(daemon, workflowBody('fails', [node('f', 'test_fail')]));
    for (let i = 0; i < 5; i++) expectOk(await daemon.request('POST', `/api/v1/workflows/${okId}/execute`, {}, { 'x-await-completion': 'true' }));
    expectOk(await daemon.request('POST', `/api/v1/workflows/${failId}/execute`, {}, { 'x-await-completion': 'true' }));
  });

  after(async () => {
    expect(await daemon.stop()).to.equal(0);
  });

  it('filters by workflow and status', async () => {
    const failed = expectOk(await daemon.request('GET', '/api/v1/executions?status=failed')).items;
    expect(failed.map((item: { workflow_id: string }) => item.workflow_id)).to.deep.equal([failId]);
    const ofOk = expectOk(await daemon.request('GET', `/api/v1/executions?workflow_id=${okId}&source=manual`)).items;
    expect(ofOk).to.have.length(5);
    expect(ofOk[0]).to.not.have.property('node_results');
  });

  it('filters by start time', async () => {
    expect(expectOk(await daemon.request('GET', `/api/v1/executions?from=${encodeURIComponent(testStart)}&workflow_id=${failId}`)).items).to.have.length(1);
    expect(expectOk(await daemon.request('GET', `/api/v1/executions?to=${encodeURIComponent(testStart)}`)).items).to.have.length(0);
  });

  it('pages newest first with a cursor, without duplicates or gaps', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Array<{ id: string }>; next_cursor: string | null } = expectOk(
        await daemon.request('GET', `/api/v1/executions?workflow_id=${okId}&source=manual&limit=2${cursor ? `&cursor=${cursor}` : ''}`),
      );
      seen.push(...page.items.map((item) => item.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).to.have.length(5);
    expect([...seen].sort().reverse()).to.deep.equal(seen);
  });

  it('refuses bad filters with 400', async () => {
    expectError(await daemon.request('GET', '/api/v1/executions?status=weird'), 400, 'validation_failed');
    expectError(await daemon.request('GET', '/api/v1/executions?from=yesterday'), 400, 'validation_failed');
    expectError(await daemon.request('GET', '/api/v1/executions?cursor=nope'), 400, 'validation_failed');
    expectError(await daemon.request('GET', '/api/v1/executions?limit=501'), 400, 'validation_failed');
  });
});
