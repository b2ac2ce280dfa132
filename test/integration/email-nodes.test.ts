// email_composer + email_sender on a real daemon against a local SMTP server: the composed mail
// arrives with its subject and templated body; a server that is down fails the sender clearly.
import net from 'node:net';
import { expect } from 'chai';
import { startDaemon, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, expectOk, removeIfAllPassed } from '../helpers/api-assertions.js';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.js';
import { runToEnd } from '../helpers/workflow-runs.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

/** compose → send, with the report taken from the trigger. */
function mailWorkflow(name: string, credentialId: number, composer: Record<string, unknown> = {}) {
  return workflowBody(
    name,
    [
      node('compose', 'email_composer', {
        to: 'Ops Team <ops@example.com>, second@example.com',
        subject: 'Daily report for {{trigger.day}}',
        body: 'Total: {{data.total}}\nFirst item: {{data.items.0}}',
        data: '{{trigger.report}}',
        ...composer,
      }),
      node('send', 'email_sender', { credential_id: credentialId }),
    ],
    [link('compose', 'email', 'send', 'email')],
    { execution_config: { retry_enabled: false } },
  );
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('email_composer and email_sender', function () {
  let daemon: TestDaemon;
  let smtp: SmtpSink;
  let sinkCredential: number;

  async function credentialFor(port: number): Promise<number> {
    const data = { host: '127.0.0.1', port, secure: false, from: 'TAV Engine <tav@example.com>' };
    return expectOk(await daemon.request('POST', '/api/v1/credentials', { name: `smtp ${port}`, credential_type: 'smtp', data }), 201).id as number;
  }

  before(async function () {
    smtp = await startSmtpSink();
    daemon = await startDaemon();
    sinkCredential = await credentialFor(smtp.port);
  });

  after(async function () {
    await daemon?.stop('SIGTERM');
    await smtp?.close();
    if (daemon) removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  it('delivers the composed mail with its subject and templated body', async function () {
    const workflowId = await createWorkflow(daemon, mailWorkflow('mail report', sinkCredential));
    const { event, execution } = await runToEnd(daemon, workflowId, { day: '2025-05-01', report: { total: 42, items: ['apples', 'pears'] } });

    expect(event.status).to.equal('completed');
    const mail = await smtp.waitForMail((candidate) => candidate.subject === 'Daily report for 2025-05-01', 'the report mail');
    expect(mail.recipients).to.have.members(['ops@example.com', 'second@example.com']);
    expect(mail.from).to.equal('tav@example.com');
    expect(mail.text.trim()).to.equal('Total: 42\nFirst item: apples');
    const sent = execution.node_results.send.outputs;
    expect(sent.accepted).to.have.members(['ops@example.com', 'second@example.com']);
    expect(sent.message_id).to.be.a('string').and.match(/^<.+@.+>$/);
    expect(execution.node_results.compose.outputs.email).to.include({ subject: 'Daily report for 2025-05-01' });
  });

  it('fails the composer without a recipient, before anything is sent', async function () {
    const workflowId = await createWorkflow(daemon, mailWorkflow('no recipient', sinkCredential, { to: '' }));
    const { event, execution } = await runToEnd(daemon, workflowId, { day: 'x', report: {} });
    expect(event.status).to.equal('failed');
    expect(execution.node_results.compose.error).to.include({ code: 'invalid_config' });
    expect(execution.node_results.compose.error.message).to.match(/recipient/);
  });

  it('fails the sender with a clear connection error when the SMTP server is down', async function () {
    const port = await closedPort();
    const workflowId = await createWorkflow(daemon, mailWorkflow('smtp down', await credentialFor(port)));
    const { event, execution } = await runToEnd(daemon, workflowId, { day: 'x', report: { total: 1, items: [] } });

    expect(event.status).to.equal('failed');
    const error = execution.node_results.send.error;
    expect(error).to.include({ code: 'smtp_connection_failed', retryable: true });
    expect(error.message).to.include(`could not talk to the SMTP server 127.0.0.1:${port}`);
    expect(event.error_message).to.include('node send');
  });
});
