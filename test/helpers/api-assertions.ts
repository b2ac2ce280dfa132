// Assertions and polls the API integration tests share: the error shape, and waiting for an event
// or execution to reach a state over HTTP.
import fs from 'node:fs';
import { expect } from 'chai';
import { waitFor, type TestDaemon, type TestResponse } from './daemon.js';

/** Asserts a 4xx/5xx answer with the `{error: {code, message}}` shape and no stack trace. */
export function expectError(response: TestResponse, status: number, code: string): void {
  expect(response.status, JSON.stringify(response.body)).to.equal(status);
  expect(response.body).to.be.an('object').with.property('error');
  expect(response.body.error.code).to.equal(code);
  expect(response.body.error.message).to.be.a('string').and.not.equal('');
  expect(JSON.stringify(response.body)).not.to.match(/\n\s+at .+:\d+:\d+|node:internal/);
}

/** Asserts a successful answer and returns its body. */
export function expectOk(response: TestResponse, status = 200): any {
  expect(response.status, JSON.stringify(response.body)).to.equal(status);
  return response.body;
}

/** Creates a workflow and returns its id. */
export async function createWorkflow(daemon: TestDaemon, body: unknown): Promise<string> {
  const created = expectOk(await daemon.request('POST', '/api/v1/workflows', body), 201);
  return created.id as string;
}

const finished = ['completed', 'failed', 'cancelled'];

/** Polls an event until it is completed, failed or cancelled, and returns it. */
export async function waitForEventEnd(daemon: TestDaemon, eventId: number, timeoutMs = 15_000): Promise<any> {
  return waitFor(
    async () => {
      const event = expectOk(await daemon.request('GET', `/api/v1/events/${eventId}`));
      return finished.includes(event.status) ? event : null;
    },
    `event ${eventId} to finish`,
    timeoutMs,
  );
}

/** Enqueues an event for `workflowId` (202 expected) and returns the answer's body. */
export async function enqueue(daemon: TestDaemon, workflowId: string, fields: Record<string, unknown> = {}): Promise<any> {
  return expectOk(await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, ...fields }), 202);
}

/** Deletes temp data folders once every test of `suite` passed; otherwise keeps them for inspection. */
export function removeIfAllPassed(suite: Mocha.Suite, ...dirs: string[]): void {
  if (!allPassed(suite)) return;
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
}

// A test that never ran (its hook failed, or it was filtered out) counts as not passed.
function allPassed(suite: Mocha.Suite): boolean {
  return suite.tests.every((test) => test.state === 'passed' || test.isPending()) && suite.suites.every(allPassed);
}
