// What the queue and failure tests share: enqueue over HTTP, wait for an event to reach a status,
// read rows straight from the daemon's SQLite file (read-only), and measure how many runs overlapped.
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { TestDaemon } from './daemon.js';
import { waitFor } from './daemon.js';

/** An event as the API returns it. */
export interface EventBody {
  id: number;
  status: string;
  priority: number;
  attempts: number;
  max_attempts: number;
  execution_id: string | null;
  error_message: string | null;
  run_at: string;
  processed_at: string | null;
  finished_at: string | null;
  deduplicated?: boolean;
  [field: string]: unknown;
}

/** Creates a workflow and returns its id; throws with the answer when the daemon refuses it. */
export async function createWorkflow(daemon: TestDaemon, body: unknown): Promise<string> {
  const response = await daemon.request('POST', '/api/v1/workflows', body);
  if (response.status !== 201) throw new Error(`workflow refused: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body.id as string;
}

/** Enqueues an event; resolves with the accepted (202) event. */
export async function enqueue(daemon: TestDaemon, workflowId: string, fields: Record<string, unknown> = {}): Promise<EventBody> {
  const response = await daemon.request('POST', '/api/v1/events', { workflow_id: workflowId, ...fields });
  if (response.status !== 202) throw new Error(`enqueue not accepted: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as EventBody;
}

/** Reads one event. */
export async function getEvent(daemon: TestDaemon, id: number): Promise<EventBody> {
  const response = await daemon.request('GET', `/api/v1/events/${id}`);
  if (response.status !== 200) throw new Error(`event ${id} not readable: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as EventBody;
}

/** Polls an event until its status is one of `statuses`. */
export async function waitForStatus(daemon: TestDaemon, id: number, statuses: string | string[], timeoutMs = 20_000): Promise<EventBody> {
  const wanted = Array.isArray(statuses) ? statuses : [statuses];
  let last: EventBody | undefined;
  try {
    const reached = await waitFor(async () => {
      last = await getEvent(daemon, id);
      return wanted.includes(last.status) ? last : null;
    }, `event ${id} to be ${wanted.join(' or ')}`, timeoutMs);
    return reached!;
  } catch (error) {
    throw new Error(`${(error as Error).message}; last seen ${JSON.stringify(last)}`);
  }
}

/** Runs `read` on a read-only connection to the daemon's database (never a write behind its back). */
export function readDatabase<T>(dbPath: string, read: (db: Database.Database) => T): T {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    return read(db);
  } finally {
    db.close();
  }
}

/** A span of time in epoch ms. */
export interface Interval {
  start: number;
  end: number;
}

/**
 * The most intervals open at one instant. An interval ending at the instant another starts does not
 * overlap it: a slot freed and taken again in the same millisecond is one slot.
 */
export function maxOverlap(intervals: Interval[]): number {
  const edges = intervals.flatMap((interval) => [
    { at: interval.start, delta: 1 },
    { at: interval.end, delta: -1 },
  ]);
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let most = 0;
  for (const edge of edges) {
    open += edge.delta;
    most = Math.max(most, open);
  }
  return most;
}

/** Removes a test's data folder when the test passed; a failing test leaves it for inspection. */
export function removeIfPassed(test: Mocha.Runnable | undefined, dataDir: string | undefined): void {
  if (!dataDir) return;
  if ((test as Mocha.Test | undefined)?.state === 'passed') fs.rmSync(dataDir, { recursive: true, force: true });
  else process.stderr.write(`    kept the data folder of a failed test: ${dataDir}\n`);
}
