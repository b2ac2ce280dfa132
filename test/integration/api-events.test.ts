// POST/GET /api/v1/events and cancel, through a real daemon over loopback HTTP.
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, expectError, expectOk, waitForEventEnd, removeIfAllPassed } from '../helpers/api-assertions.js';
import { node, oneNode, workflowBody } from '../helpers/workflows.js';

const hourMs = 3_600_000;
const maxContentLength = 1_048_576;

describe('events API', function () {
  let daemon: TestDaemon;
  let workflowId: string;
  let slowWorkflowId: string;

  before(async function () {
    daemon = await startDaemon({ settings: { security: { max_content_length: maxContentLength } } });
    workflowId = await createWorkflow(daemon, oneNode());
    slowWorkflowId = await createWorkflow(daemon, workflowBody('slow', [node('slow', 'test_slow', { ms: 800 })]));
  });

  after(async function () {
    if (!daemon) return;
    expect(await daemon.stop('SIGTERM')).to.equal(0);
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  describe('POST /api/v1/events', function () {
    it('accepts an event with 202, its id and status, and a Location that reads it back with the defaults', async function () {
      const response = await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId });
      const body = expectOk(response, 202);
      expect(body.id).to.be.a('number');
      expect(body.status).to.equal('pending');
      expect(body.deduplicated).to.equal(false);
      expect(response.headers.get('location')).to.equal(`/api/v1/events/${body.id}`);

      const read = expectOk(await daemon.request('GET', response.headers.get('location')!));
      expect(read).to.include({ id: body.id, workflow_id: workflowId, priority: 3, event_type: 'api', max_attempts: 3, source: 'api' });
      expect(read.event_data).to.deep.equal({});
    });

    it('runs an accepted event to completed with its execution id', async function () {
      const { id } = await enqueue(daemon, workflowId, { event_data: { n: 1 } });
      const event = await waitForEventEnd(daemon, id);
      expect(event.status).to.equal('completed');
      expect(event.attempts).to.equal(1);
      expect(event.execution_id).to.be.a('string');
      expect(event.finished_at).to.be.a('string');
    });

    it('keeps the given priority, event_type, event_data and max_attempts', async function () {
      const { id } = await enqueue(daemon, workflowId, { priority: 1, event_type: 'order.created', event_data: { order: 42, items: [1, 2] }, max_attempts: 5, delay_ms: hourMs });
      const event = expectOk(await daemon.request('GET', `/api/v1/events/${id}`));
      expect(event).to.include({ priority: 1, event_type: 'order.created', max_attempts: 5, status: 'pending' });
      expect(event.event_data).to.deep.equal({ order: 42, items: [1, 2] });
    });

    it('delays an event by delay_ms', async function () {
      const before = Date.now();
      const { id } = await enqueue(daemon, workflowId, { delay_ms: 60_000 });
      const after = Date.now();
      const event = expectOk(await daemon.request('GET', `/api/v1/events/${id}`));
      const runAt = Date.parse(event.run_at);
      expect(runAt).to.be.within(before + 60_000, after + 60_000);
      expect(event.status).to.equal('pending');
    });

    it('schedules an event at run_at, given as ISO time or epoch milliseconds', async function () {
      const iso = new Date(Date.now() + hourMs).toISOString();
      const fromIso = await enqueue(daemon, workflowId, { run_at: iso });
      expect(expectOk(await daemon.request('GET', `/api/v1/events/${fromIso.id}`)).run_at).to.equal(iso);

      const epoch = Date.now() + 2 * hourMs;
      const fromEpoch = await enqueue(daemon, workflowId, { run_at: epoch });
      expect(expectOk(await daemon.request('GET', `/api/v1/events/${fromEpoch.id}`)).run_at).to.equal(new Date(epoch).toISOString());
    });

    it('runs an event whose run_at is already past at once', async function () {
      const { id } = await enqueue(daemon, workflowId, { run_at: new Date(Date.now() - hourMs).toISOString() });
      expect((await waitForEventEnd(daemon, id)).status).to.equal('completed');
    });

    it('refuses run_at and delay_ms together', async function () {
      const response = await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, delay_ms: 10, run_at: Date.now() });
      expectError(response, 400, 'validation_failed');
    });

    it('answers a repeated dedup_key with the first, still pending, event (200, deduplicated)', async function () {
      const first = await enqueue(daemon, workflowId, { dedup_key: 'pending-key', delay_ms: hourMs });
      const again = await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, dedup_key: 'pending-key', priority: 1 });
      const body = expectOk(again, 200);
      expect(body).to.include({ id: first.id, deduplicated: true, priority: 3, status: 'pending' });
      expect(again.headers.get('location')).to.equal(`/api/v1/events/${first.id}`);
    });

    it('answers a repeated dedup_key with the first event while it is processing, and makes a new one once it has finished', async function () {
      const first = await enqueue(daemon, slowWorkflowId, { dedup_key: 'processing-key' });
      await waitFor(async () => expectOk(await daemon.request('GET', `/api/v1/events/${first.id}`)).status === 'processing', 'the slow event to be claimed');
      const during = expectOk(await daemon.request('POST', '/api/v1/events', { workflow_id: slowWorkflowId, dedup_key: 'processing-key' }), 200);
      expect(during).to.include({ id: first.id, deduplicated: true });

      expect((await waitForEventEnd(daemon, first.id)).status).to.equal('completed');
      const later = await enqueue(daemon, slowWorkflowId, { dedup_key: 'processing-key', delay_ms: hourMs });
      expect(later.id).to.not.equal(first.id);
      expect(later.deduplicated).to.equal(false);
    });

    describe('bad input', function () {
      it('answers malformed JSON with 400 malformed_json', async function () {
        expectError(await daemon.request('POST', '/api/v1/events', '{"workflow_id": '), 400, 'malformed_json');
      });

      const wrongTypes: Array<[string, Record<string, unknown>, string]> = [
        ['a numeric workflow_id', { workflow_id: 5 }, 'workflow_id'],
        ['a string priority', { priority: '1' }, 'priority'],
        ['a fractional priority', { priority: 2.5 }, 'priority'],
        ['a string delay_ms', { delay_ms: 'soon' }, 'delay_ms'],
        ['a negative delay_ms', { delay_ms: -1 }, 'delay_ms'],
        ['a run_at that is not a time', { run_at: 'tomorrow' }, 'run_at'],
        ['a max_attempts of 0', { max_attempts: 0 }, 'max_attempts'],
        ['a numeric dedup_key', { dedup_key: 7 }, 'dedup_key'],
        ['an empty event_type', { event_type: '' }, 'event_type'],
      ];
      for (const [what, fields, field] of wrongTypes) {
        it(`answers ${what} with 400 validation_failed naming the field`, async function () {
          const response = await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, ...fields });
          expectError(response, 400, 'validation_failed');
          expect(response.body.error.details.map((detail: { path: string }) => detail.path)).to.include(field);
        });
      }

      it('answers a JSON array body with 400 validation_failed', async function () {
        expectError(await daemon.request('POST', '/api/v1/events', [{ workflow_id: workflowId }]), 400, 'validation_failed');
      });

      it('answers a missing workflow_id with 400 validation_failed', async function () {
        expectError(await daemon.request('POST', '/api/v1/events', { event_data: {} }), 400, 'validation_failed');
      });

      for (const priority of [0, 6]) {
        it(`answers priority ${priority} with 400 validation_failed`, async function () {
          const response = await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, priority });
          expectError(response, 400, 'validation_failed');
          expect(response.body.error.details[0].path).to.equal('priority');
        });
      }

      it('answers unknown keys with 400 validation_failed naming them', async function () {
        const response = await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, colour: 'red' });
        expectError(response, 400, 'validation_failed');
        expect(JSON.stringify(response.body.error.details)).to.contain('colour');
      });

      it('answers an unknown workflow with 404', async function () {
        expectError(await daemon.request('POST', '/api/v1/events', { workflow_id: 'no-such-workflow' }), 404, 'not_found');
      });

      it('answers a body over security.max_content_length with 413', async function () {
        const big = { workflow_id: workflowId, event_data: { blob: 'x'.repeat(2 * maxContentLength) } };
        expectError(await daemon.request('POST', '/api/v1/events', big), 413, 'payload_too_large');
      });

      it('answers a chunked body over security.max_content_length with 413', async function () {
        const chunk = new TextEncoder().encode('x'.repeat(64 * 1024));
        let sent = 0;
        const stream = new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= 2 * maxContentLength) return controller.close();
            sent += chunk.length;
            controller.enqueue(chunk);
          },
        });
        const response = await fetch(`${daemon.baseUrl}/api/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${daemon.key}`, 'content-type': 'application/json' },
          body: stream,
          duplex: 'half',
        } as RequestInit);
        expect(response.status).to.equal(413);
        // The server stops reading the oversized body, so it must close the socket rather than leave the client uploading.
        expect(response.headers.get('connection')).to.equal('close');
        expect(((await response.json()) as any).error.code).to.equal('payload_too_large');
      });

      it('answers a body nested thousands of levels deep with 400, and accepts ordinary nesting', async function () {
        const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
        const deep = await daemon.request('POST', '/api/v1/events', `{"workflow_id":"${workflowId}","event_data":${nested(20_000)}}`);
        expectError(deep, 400, 'too_deeply_nested');
        const ordinary = await daemon.request('POST', '/api/v1/events', `{"workflow_id":"${workflowId}","delay_ms":${hourMs},"event_data":${nested(50)}}`);
        expectOk(ordinary, 202);
      });

      it('answers a text/plain body with 415', async function () {
        const response = await daemon.request('POST', '/api/v1/events', JSON.stringify({ workflow_id: workflowId }), { 'content-type': 'text/plain' });
        expectError(response, 415, 'unsupported_media_type');
      });

      it('answers a request without a key with 401', async function () {
        expectError(await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId }, { authorization: '' }), 401, 'unauthorized');
        expectError(await daemon.request('GET', '/api/v1/events', undefined, { authorization: '' }), 401, 'unauthorized');
      });

      it('answers a wrong key with 401, as Bearer token and as X-API-Key', async function () {
        expectError(await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId }, { authorization: 'Bearer tav_not-a-real-key' }), 401, 'unauthorized');
        expectError(await daemon.request('GET', '/api/v1/events', undefined, { authorization: '', 'x-api-key': 'tav_not-a-real-key' }), 401, 'unauthorized');
        expectError(await daemon.request('GET', '/api/v1/events', undefined, { authorization: `Basic ${daemon.key}` }), 401, 'unauthorized');
      });

      it('keeps answering after all the bad input', async function () {
        expectOk(await daemon.request('GET', '/health'));
        await enqueue(daemon, workflowId, { delay_ms: hourMs });
      });
    });

    it('accepts the key in an X-API-Key header', async function () {
      const response = await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, delay_ms: hourMs }, { authorization: '', 'x-api-key': daemon.key });
      expectOk(response, 202);
    });
  });

  describe('GET /api/v1/events', function () {
    let pagedWorkflowId: string;
    const pagedIds: number[] = [];

    before(async function () {
      pagedWorkflowId = await createWorkflow(daemon, oneNode());
      for (let i = 0; i < 7; i += 1) pagedIds.push((await enqueue(daemon, pagedWorkflowId, { delay_ms: hourMs, event_data: { i } })).id);
    });

    it('filters by workflow_id, newest first', async function () {
      const page = expectOk(await daemon.request('GET', `/api/v1/events?workflow_id=${pagedWorkflowId}`));
      expect(page.items.map((event: { id: number }) => event.id)).to.deep.equal([...pagedIds].reverse());
      expect(page.next_cursor).to.equal(null);
    });

    it('filters by status', async function () {
      const { id } = await enqueue(daemon, pagedWorkflowId);
      await waitForEventEnd(daemon, id);
      const completed = expectOk(await daemon.request('GET', `/api/v1/events?status=completed&workflow_id=${pagedWorkflowId}`));
      expect(completed.items.map((event: { id: number }) => event.id)).to.deep.equal([id]);
      const pending = expectOk(await daemon.request('GET', `/api/v1/events?status=pending&workflow_id=${pagedWorkflowId}`));
      expect(pending.items).to.have.length(7);
      expect(pending.items.every((event: { status: string }) => event.status === 'pending')).to.equal(true);
    });

    it('pages with a cursor across pages without duplicates or gaps', async function () {
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `status=pending&workflow_id=${pagedWorkflowId}&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const page = expectOk(await daemon.request('GET', `/api/v1/events?${query}`));
        expect(page.items.length).to.be.at.most(3);
        seen.push(...page.items.map((event: { id: number }) => event.id));
        cursor = page.next_cursor;
        pages += 1;
      } while (cursor !== null && pages < 10);
      expect(pages).to.equal(3);
      expect(seen).to.deep.equal([...pagedIds].reverse());
    });

    for (const limit of ['0', '501', 'ten', '-1']) {
      it(`refuses limit=${limit} with 400`, async function () {
        expectError(await daemon.request('GET', `/api/v1/events?limit=${limit}`), 400, 'validation_failed');
      });
    }

    it('accepts limit=1 and limit=500', async function () {
      expect(expectOk(await daemon.request('GET', '/api/v1/events?limit=1')).items).to.have.length(1);
      expectOk(await daemon.request('GET', '/api/v1/events?limit=500'));
    });

    it('refuses an unknown status and a non-numeric cursor with 400', async function () {
      expectError(await daemon.request('GET', '/api/v1/events?status=sleeping'), 400, 'validation_failed');
      expectError(await daemon.request('GET', '/api/v1/events?cursor=abc'), 400, 'validation_failed');
    });
  });

  describe('GET /api/v1/events/:id', function () {
    it('answers an unknown id with 404', async function () {
      expectError(await daemon.request('GET', '/api/v1/events/999999'), 404, 'not_found');
    });

    it('answers a non-numeric id with 400', async function () {
      expectError(await daemon.request('GET', '/api/v1/events/abc'), 400, 'validation_failed');
    });
  });

  describe('POST /api/v1/events/:id/cancel', function () {
    it('cancels a pending delayed event, which then never runs', async function () {
      const doomed = await enqueue(daemon, workflowId, { delay_ms: 500 });
      const cancelled = expectOk(await daemon.request('POST', `/api/v1/events/${doomed.id}/cancel`));
      expect(cancelled).to.include({ id: doomed.id, status: 'cancelled' });

      // A later event of the same workflow finishing shows the dispatcher went past the cancelled one's time.
      const later = await enqueue(daemon, workflowId, { delay_ms: 700 });
      expect((await waitForEventEnd(daemon, later.id)).status).to.equal('completed');
      const after = expectOk(await daemon.request('GET', `/api/v1/events/${doomed.id}`));
      expect(after).to.include({ status: 'cancelled', attempts: 0, execution_id: null });
    });

    it('refuses to cancel a completed event with 409', async function () {
      const { id } = await enqueue(daemon, workflowId);
      await waitForEventEnd(daemon, id);
      expectError(await daemon.request('POST', `/api/v1/events/${id}/cancel`), 409, 'not_pending');
    });

    it('refuses to cancel a cancelled event with 409', async function () {
      const { id } = await enqueue(daemon, workflowId, { delay_ms: hourMs });
      expectOk(await daemon.request('POST', `/api/v1/events/${id}/cancel`));
      expectError(await daemon.request('POST', `/api/v1/events/${id}/cancel`), 409, 'not_pending');
    });

    it('answers an unknown id with 404 and a non-numeric one with 400', async function () {
      expectError(await daemon.request('POST', '/api/v1/events/999999/cancel'), 404, 'not_found');
      expectError(await daemon.request('POST', '/api/v1/events/abc/cancel'), 400, 'validation_failed');
    });

    it('answers a wrong key with 401', async function () {
      expectError(await daemon.request('POST', '/api/v1/events/1/cancel', undefined, { authorization: 'Bearer tav_wrong' }), 401, 'unauthorized');
    });
  });
});
