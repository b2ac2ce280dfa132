// Human in the loop (semantics §8) on a real daemon and a local SMTP server: email_approval mails a
// review link and pauses the run (holding no slot); the link's token alone answers it; approve and
// reject take different branches; wrong tokens, double answers, expiry, cancel and a restart.
import Database from 'better-sqlite3';
import net from 'node:net';
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, enqueue, expectError, expectOk, removeIfAllPassed, waitForEventEnd } from '../helpers/api-assertions.js';
import { startSmtpSink, type ReceivedMail, type SmtpSink } from '../helpers/smtp-sink.js';
import { getExecution, runToEnd, waitForExecution } from '../helpers/workflow-runs.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

/** The review link a mail carries. */
interface ReviewLink {
  id: string;
  token: string;
  /** Path and query, for requests to the daemon. */
  path: string;
}

/** A paused approval: its event, execution and the link the reviewer got. */
interface PausedApproval {
  eventId: number;
  executionId: string;
  mail: ReceivedMail;
  link: ReviewLink;
}

function linkIn(mail: ReceivedMail): ReviewLink {
  const match = /(https?:\/\/[^\s/]+)(\/api\/v1\/interactions\/([0-9a-f-]{36})\?token=([A-Za-z0-9_-]+))/.exec(mail.text);
  expect(match, `a review link in:\n${mail.text}`).to.not.equal(null);
  return { path: match![2]!, id: match![3]!, token: match![4]! };
}

/** draft → approval → decide(approved?) → on_approve | on_reject. */
function approvalWorkflow(name: string, approvalConfig: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return workflowBody(
    name,
    [
      node('draft', 'text_input', { text: '{{trigger.draft}}' }),
      node('approval', 'email_approval', { timeout_hours: 1, ...approvalConfig }),
      node('decide', 'decision', { condition: 'contains "approved":true' }),
      node('on_approve', 'test_echo'),
      node('on_reject', 'test_echo'),
    ],
    [link('draft', 'text', 'approval', 'draft'), link('approval', 'result', 'decide', 'input'), link('decide', 'true', 'on_approve', 'input'), link('decide', 'false', 'on_reject', 'input')],
    extra,
  );
}

/** Sets an interaction's deadline in the past, straight in the database file (timeout_hours is at least 1). */
function expireInDatabase(dbPath: string, interactionId: string): void {
  const db = new Database(dbPath);
  try {
    db.pragma('busy_timeout = 5000');
    const changed = db.prepare(`UPDATE email_interactions SET expires_at = ? WHERE interaction_id = ?`).run(new Date(Date.now() - 60_000).toISOString(), interactionId).changes;
    expect(changed).to.equal(1);
  } finally {
    db.close();
  }
}

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const statuses = (execution: any) => Object.fromEntries(Object.entries(execution.node_results as Record<string, { status: string }>).map(([id, record]) => [id, record.status]));

describe('approvals: email_approval pauses the run until a person answers', function () {
  let daemon: TestDaemon;
  let smtp: SmtpSink;
  let workflowId: string;
  let draftCount = 0;

  /** Keyless request, as the reviewer following the mailed link makes it. */
  const asReviewer = (method: string, path: string, body?: unknown) => daemon.request(method, path, body, { authorization: '' });

  /** Enqueues an approval run with a unique draft and waits for its mail and its pause. */
  async function startApproval(id = workflowId): Promise<PausedApproval> {
    const draft = `Draft number ${++draftCount}: the refund is approved.`;
    const { id: eventId } = await enqueue(daemon, id, { event_data: { draft } });
    const mail = await smtp.waitForMail((candidate) => candidate.text.includes(draft), `the review mail of "${draft}"`);
    const event = await waitFor(async () => {
      const current = expectOk(await daemon.request('GET', `/api/v1/events/${eventId}`));
      return current.status === 'paused' ? current : null;
    }, `event ${eventId} to pause`);
    return { eventId, executionId: event.execution_id, mail, link: linkIn(mail) };
  }

  async function credentialFor(port: number): Promise<number> {
    const created = expectOk(
      await daemon.request('POST', '/api/v1/credentials', { name: `smtp ${port}`, credential_type: 'smtp', data: { host: '127.0.0.1', port, secure: false, from: 'tav@example.com' } }),
      201,
    );
    return created.id as number;
  }

  before(async function () {
    smtp = await startSmtpSink();
    // One run at a time: a paused approval must not hold that one slot.
    daemon = await startDaemon({ settings: { execution: { max_concurrent_runs_global: 1 } } });
    const credentialId = await credentialFor(smtp.port);
    workflowId = await createWorkflow(
      daemon,
      approvalWorkflow('approval', { send_notification: true, notification_email: 'reviewer@example.com', base_url: daemon.baseUrl, credential_id: credentialId }),
    );
  });

  after(async function () {
    await daemon?.stop('SIGTERM');
    await smtp?.close();
    if (daemon) removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  it('mails a working review link, pauses, and takes the approve branch with the edited draft', async function () {
    const paused = await startApproval();
    expect(paused.mail.recipients).to.deep.equal(['reviewer@example.com']);
    expect(paused.mail.subject).to.equal('Approval requested');

    const execution = await getExecution(daemon, paused.executionId);
    expect(execution.status).to.equal('paused');
    expect(execution.node_results.approval.status).to.equal('waiting');
    expect(execution.node_results.draft.status).to.equal('completed');

    const pending = expectOk(await daemon.request('GET', '/api/v1/interactions?status=pending'));
    const listed = pending.items.find((item: any) => item.id === paused.link.id);
    expect(listed).to.include({ status: 'pending', execution_id: paused.executionId, node_id: 'approval' });
    expect(JSON.stringify(pending)).not.to.include(paused.link.token);
    expect(JSON.stringify(pending)).not.to.match(/token_hash/);
    const queue = expectOk(await daemon.request('GET', '/api/v1/queue'));
    expect(queue.depth.paused).to.be.at.least(1);
    expect(queue.in_flight).to.equal(0);

    // The reviewer has no API key: the link's token is enough to read and answer.
    const shown = expectOk(await asReviewer('GET', paused.link.path));
    expect(shown.email_data.draft).to.include('Draft number');
    const answered = expectOk(await asReviewer('POST', `/api/v1/interactions/${paused.link.id}`, { token: paused.link.token, action: 'approve', edited_draft: 'Edited by the reviewer' }));
    expect(answered).to.include({ id: paused.link.id, status: 'approved', resumed: true });

    const event = await waitForEventEnd(daemon, paused.eventId);
    expect(event.status).to.equal('completed');
    const finished = await getExecution(daemon, paused.executionId);
    expect(statuses(finished)).to.deep.equal({ draft: 'completed', approval: 'completed', decide: 'completed', on_approve: 'completed', on_reject: 'skipped' });
    expect(finished.node_results.approval.outputs.result).to.include({ action: 'approve', approved: true, edited_draft: 'Edited by the reviewer' });
    expect(finished.node_results.approval.outputs.final_draft).to.equal('Edited by the reviewer');

    // Answered twice: 409. The answer left an audit row although no key was used.
    expectError(await asReviewer('POST', `/api/v1/interactions/${paused.link.id}`, { token: paused.link.token, action: 'reject' }), 409, 'already_answered');
    const audit = expectOk(await daemon.request('GET', `/api/v1/audit-logs?resource_type=interactions&resource_id=${paused.link.id}`));
    expect(audit.items.map((row: any) => row.status_code)).to.include(200);
  });

  it('takes the reject branch with the original draft when rejected', async function () {
    const paused = await startApproval();
    expectOk(await asReviewer('POST', `/api/v1/interactions/${paused.link.id}`, { token: paused.link.token, action: 'reject' }));

    expect((await waitForEventEnd(daemon, paused.eventId)).status).to.equal('completed');
    const finished = await getExecution(daemon, paused.executionId);
    expect(statuses(finished)).to.include({ on_approve: 'skipped', on_reject: 'completed' });
    expect(finished.node_results.approval.outputs.result).to.include({ action: 'reject', approved: false, edited_draft: null });
    expect(finished.node_results.approval.outputs.final_draft).to.match(/^Draft number \d+: the refund is approved\.$/);
  });

  it('answers a wrong token like an unknown id (404), and a malformed answer with 400', async function () {
    const paused = await startApproval();
    const wrong = `${paused.link.token.slice(0, -2)}xx`;
    expectError(await asReviewer('GET', `/api/v1/interactions/${paused.link.id}?token=${wrong}`), 404, 'not_found');
    expectError(await asReviewer('POST', `/api/v1/interactions/${paused.link.id}`, { token: wrong, action: 'approve' }), 404, 'not_found');
    expectError(await asReviewer('POST', '/api/v1/interactions/00000000-0000-4000-8000-000000000000', { token: paused.link.token, action: 'approve' }), 404, 'not_found');
    expectError(await asReviewer('GET', `/api/v1/interactions/${paused.link.id}`), 400, 'validation_failed');
    expectError(await asReviewer('POST', `/api/v1/interactions/${paused.link.id}`, { token: paused.link.token, action: 'maybe' }), 400, 'validation_failed');
    expectError(await asReviewer('POST', `/api/v1/interactions/${paused.link.id}`, '{"token":'), 400, 'malformed_json');
    // The list is not public.
    expectError(await asReviewer('GET', '/api/v1/interactions?status=pending'), 401, 'unauthorized');
    expect(expectOk(await daemon.request('GET', `/api/v1/executions/${paused.executionId}`)).status).to.equal('paused');

    // Clean up: the run goes on once answered.
    expectOk(await asReviewer('POST', `/api/v1/interactions/${paused.link.id}`, { token: paused.link.token, action: 'reject' }));
    await waitForEventEnd(daemon, paused.eventId);
  });

  it('holds no run slot while paused: another workflow runs meanwhile with max_concurrent_runs_global 1', async function () {
    const paused = await startApproval();
    const other = await createWorkflow(daemon, workflowBody('other', [node('only', 'text_input', { text: 'ran' })]));
    const { event } = await runToEnd(daemon, other);
    expect(event.status).to.equal('completed');
    expect((await getExecution(daemon, paused.executionId)).status).to.equal('paused');

    expectOk(await asReviewer('POST', `/api/v1/interactions/${paused.link.id}`, { token: paused.link.token, action: 'approve' }));
    expect((await waitForEventEnd(daemon, paused.eventId)).status).to.equal('completed');
  });

  it('answers 410 after the deadline and resumes the run down its expired path', async function () {
    const paused = await startApproval();
    expireInDatabase(daemon.dbPath, paused.link.id);

    expectError(await asReviewer('GET', paused.link.path), 410, 'interaction_expired');
    expectError(await asReviewer('POST', `/api/v1/interactions/${paused.link.id}`, { token: paused.link.token, action: 'approve' }), 410, 'interaction_expired');

    expect((await waitForEventEnd(daemon, paused.eventId)).status).to.equal('completed');
    const finished = await getExecution(daemon, paused.executionId);
    expect(statuses(finished)).to.include({ on_approve: 'skipped', on_reject: 'completed' });
    expect(finished.node_results.approval.outputs.result).to.include({ action: 'expired', approved: false });
    expectError(await asReviewer('POST', `/api/v1/interactions/${paused.link.id}`, { token: paused.link.token, action: 'approve' }), 410, 'interaction_expired');
  });

  it('cancels a paused execution; its link then answers 409', async function () {
    const paused = await startApproval();
    const cancelled = expectOk(await daemon.request('POST', `/api/v1/executions/${paused.executionId}/cancel`));
    expect(cancelled.status).to.equal('cancelled');
    expect((await waitForEventEnd(daemon, paused.eventId)).status).to.equal('cancelled');
    const listed = expectOk(await daemon.request('GET', `/api/v1/interactions?execution_id=${paused.executionId}`));
    expect(listed.items.map((item: any) => item.status)).to.deep.equal(['cancelled']);
    expectError(await asReviewer('POST', `/api/v1/interactions/${paused.link.id}`, { token: paused.link.token, action: 'approve' }), 409, 'interaction_closed');
  });

  it('lets an admin key answer an approval that was not mailed, without a token', async function () {
    const quiet = await createWorkflow(daemon, approvalWorkflow('approval, no mail', {}));
    const { id: eventId } = await enqueue(daemon, quiet, { event_data: { draft: 'not mailed' } });
    const event = await waitFor(async () => {
      const current = expectOk(await daemon.request('GET', `/api/v1/events/${eventId}`));
      return current.status === 'paused' ? current : null;
    }, 'the unmailed approval to pause');
    const listed = expectOk(await daemon.request('GET', `/api/v1/interactions?execution_id=${event.execution_id}`));
    const id = listed.items[0].id as string;
    expect(listed.items[0].email_data).to.include({ draft: 'not mailed', notified: false });

    expectError(await asReviewer('POST', `/api/v1/interactions/${id}`, { action: 'approve' }), 401, 'unauthorized');
    const readKey = expectOk(await daemon.request('POST', '/api/v1/api-keys', { name: 'reader', scopes: ['read'] }), 201).key as string;
    expectError(await daemon.request('POST', `/api/v1/interactions/${id}`, { action: 'approve' }, { authorization: `Bearer ${readKey}` }), 403, 'forbidden');
    expect(expectOk(await daemon.request('POST', `/api/v1/interactions/${id}`, { action: 'approve' }))).to.include({ status: 'approved', resumed: true });

    expect((await waitForEventEnd(daemon, eventId)).status).to.equal('completed');
    expect(statuses(await getExecution(daemon, event.execution_id))).to.include({ on_approve: 'completed', on_reject: 'skipped' });
  });

  it('fails the node with a clear, retryable SMTP error when the mail server is down', async function () {
    const credentialId = await credentialFor(await closedPort());
    const broken = await createWorkflow(
      daemon,
      approvalWorkflow('approval, mail down', { send_notification: true, notification_email: 'reviewer@example.com', base_url: daemon.baseUrl, credential_id: credentialId }, { execution_config: { retry_enabled: false } }),
    );
    const { event, execution } = await runToEnd(daemon, broken, { draft: 'never mailed' });
    expect(event.status).to.equal('failed');
    expect(execution.node_results.approval.error).to.include({ code: 'smtp_connection_failed', retryable: true });
    expect(execution.node_results.approval.error.message).to.match(/could not talk to the SMTP server 127\.0\.0\.1:\d+/);
    const listed = expectOk(await daemon.request('GET', `/api/v1/interactions?execution_id=${execution.id}`));
    expect(listed.items).to.deep.equal([]);
  });

  it('keeps paused executions across a restart: the sweeper expires a due one, the other is still answerable', async function () {
    const toExpire = await startApproval();
    const toAnswer = await startApproval();
    await daemon.stop('SIGTERM');
    expireInDatabase(daemon.dbPath, toExpire.link.id);
    daemon = await startDaemon({ dataDir: daemon.dataDir });

    // Nobody answers the first: the sweeper expires it on start and the run resumes.
    expect((await waitForEventEnd(daemon, toExpire.eventId)).status).to.equal('completed');
    const expired = await getExecution(daemon, toExpire.executionId);
    expect(expired.node_results.approval.outputs.result).to.include({ action: 'expired' });
    expect(statuses(expired)).to.include({ on_reject: 'completed', on_approve: 'skipped' });

    expect((await getExecution(daemon, toAnswer.executionId)).status).to.equal('paused');
    expectOk(await asReviewer('POST', `/api/v1/interactions/${toAnswer.link.id}`, { token: toAnswer.link.token, action: 'approve' }));
    const answered = await waitForExecution(daemon, toAnswer.executionId, (execution) => execution.status === 'completed', 'the answered run to complete');
    expect(statuses(answered)).to.include({ on_approve: 'completed', on_reject: 'skipped' });
    // Finished nodes were reused, not run again: the draft node ran once.
    expect(answered.node_results.draft.attempts).to.equal(1);
  });
});
