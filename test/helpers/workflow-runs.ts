// Running a workflow to its end over the API and reading what the run recorded: the execution, its
// logs per node, its loop iterations. Shared by the workflow-semantics integration tests.
import { expect } from 'chai';
import { waitFor, type TestDaemon } from './daemon.js';
import { enqueue, expectOk, waitForEventEnd } from './api-assertions.js';

/** A log row as GET /api/v1/executions/:id/logs returns it. */
export interface LogRow {
  id: number;
  node_id: string | null;
  level: string;
  event: string;
  message: string | null;
  data: unknown;
  attempt: number | null;
  duration_ms: number | null;
  created_at: string;
}

/** Enqueues an event for the workflow, waits until it ends, and returns the event and its execution. */
export async function runToEnd(daemon: TestDaemon, workflowId: string, eventData: unknown = {}, fields: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<{ event: any; execution: any }> {
  const { id } = await enqueue(daemon, workflowId, { event_data: eventData, ...fields });
  const event = await waitForEventEnd(daemon, id, timeoutMs);
  expect(event.execution_id, `event ${id} has an execution`).to.be.a('string');
  return { event, execution: await getExecution(daemon, event.execution_id) };
}

/** Reads one execution. */
export async function getExecution(daemon: TestDaemon, executionId: string): Promise<any> {
  return expectOk(await daemon.request('GET', `/api/v1/executions/${executionId}`));
}

/** Every log row of an execution, oldest first. */
export async function executionLogs(daemon: TestDaemon, executionId: string): Promise<LogRow[]> {
  return expectOk(await daemon.request('GET', `/api/v1/executions/${executionId}/logs?limit=500`)).items as LogRow[];
}

/** `event` names of one node's log rows, in order (e.g. node_started, node_failed, node_retry, …). */
export function nodeEvents(logs: LogRow[], nodeId: string): string[] {
  return logs.filter((row) => row.node_id === nodeId).map((row) => row.event);
}

/** Polls an execution until `check` holds, and returns it. */
export async function waitForExecution(daemon: TestDaemon, executionId: string, check: (execution: any) => boolean, what: string, timeoutMs = 15_000): Promise<any> {
  return waitFor(async () => {
    const execution = await getExecution(daemon, executionId);
    return check(execution) ? execution : null;
  }, what, timeoutMs);
}

/** Polls an event until it has an execution whose log shows `nodeId` started; returns the execution id. */
export async function waitForNodeStarted(daemon: TestDaemon, eventId: number, nodeId: string, timeoutMs = 15_000): Promise<string> {
  const executionId = await waitFor(async () => {
    const event = expectOk(await daemon.request('GET', `/api/v1/events/${eventId}`));
    if (!event.execution_id) return null;
    const logs = await executionLogs(daemon, event.execution_id);
    return logs.some((row) => row.node_id === nodeId && row.event === 'node_started') ? (event.execution_id as string) : null;
  }, `node ${nodeId} of event ${eventId} to start`, timeoutMs);
  return executionId!;
}
