// Driving triggers in tests: monitoring calls, signed webhook deliveries (no API key: the secret is
// the auth), the executions a trigger started, and backdating a trigger's persisted state while the
// daemon is stopped (to stand for hours of downtime without waiting for them).
import { createHmac } from 'node:crypto';
import Database from 'better-sqlite3';
import { expectOk } from './api-assertions.js';
import type { TestDaemon, TestResponse } from './daemon.js';

/** POSTs to …/monitoring/start|stop and returns the status body (200 expected). */
export async function setMonitoring(daemon: TestDaemon, workflowId: string, action: 'start' | 'stop'): Promise<any> {
  return expectOk(await daemon.request('POST', `/api/v1/workflows/${workflowId}/monitoring/${action}`));
}

/** GET …/monitoring/status. */
export async function monitoringStatus(daemon: TestDaemon, workflowId: string): Promise<any> {
  return expectOk(await daemon.request('GET', `/api/v1/workflows/${workflowId}/monitoring/status`));
}

/** The hex HMAC-SHA256 of `body` under `secret`, as a sender puts in X-TAV-Signature. */
export function signature(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** One webhook delivery, without an API key. */
export async function postWebhook(daemon: TestDaemon, path: string, body: string, headers: Record<string, string> = {}): Promise<TestResponse> {
  return daemon.request('POST', `/webhooks/${path}`, body, { authorization: '', 'content-type': 'application/json', ...headers });
}

/** The workflow's executions started by `source`, newest first. */
export async function executionsBy(daemon: TestDaemon, workflowId: string, source: string): Promise<any[]> {
  return expectOk(await daemon.request('GET', `/api/v1/executions?workflow_id=${workflowId}&source=${source}&limit=500`)).items;
}

/** How many events the workflow has in the queue's history. */
export async function eventCount(daemon: TestDaemon, workflowId: string): Promise<number> {
  return expectOk(await daemon.request('GET', `/api/v1/events?workflow_id=${workflowId}&limit=500`)).items.length;
}

/**
 * Rewrites when monitoring started and a trigger's last fire and count, as hours of downtime would
 * have left them. Only while the daemon is stopped: a running daemon's writer owns the file.
 */
export function backdateTrigger(dbPath: string, workflowId: string, nodeId: string, state: { monitoringStartedAt: number; lastFiredAt: number; executionCount: number }): void {
  const db = new Database(dbPath, { fileMustExist: true });
  try {
    db.prepare(`UPDATE workflows SET monitoring_started_at = ? WHERE id = ?`).run(new Date(state.monitoringStartedAt).toISOString(), workflowId);
    const value = JSON.stringify({ last_fired_at: new Date(state.lastFiredAt).toISOString(), execution_count: state.executionCount });
    const updated = db.prepare(`UPDATE workflow_state SET state_value = ? WHERE workflow_id = ? AND namespace = '__triggers' AND state_key = ?`).run(value, workflowId, nodeId);
    if (updated.changes === 0) {
      db.prepare(`INSERT INTO workflow_state (workflow_id, namespace, state_key, state_value, created_at) VALUES (?, '__triggers', ?, ?, ?)`).run(workflowId, nodeId, value, new Date().toISOString());
    }
  } finally {
    db.close();
  }
}
