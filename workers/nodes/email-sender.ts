// email_sender: sends a mail composed by email_composer over SMTP, with the smtp credential that
// `credential_id` names (the engine opens it into `config.credential` for this task only).
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeModule } from '../node-contract.js';
import { readSmtpSettings, sendOverSmtp, type OutgoingMail } from '../smtp-transport.js';

/** The email_sender node: outputs `message_id`, `accepted`, `rejected` and the server's `response`. */
export const node: NodeModule = {
  definition: {
    type: 'email_sender',
    category: 'integration',
    description: 'Sends a composed email over SMTP using an smtp credential (credential_id).',
    inputs: [{ name: 'email', required: true }],
    outputs: [{ name: 'message_id' }, { name: 'accepted' }, { name: 'rejected' }, { name: 'response' }],
    config: [
      { name: 'credential_id', type: 'any' },
      { name: 'credential', type: 'object' },
      { name: 'from', type: 'string' },
    ],
    isolation: 'shared',
  },
  async run(task, { signal }) {
    const credential = task.config.credential;
    if (typeof credential !== 'object' || credential === null || Array.isArray(credential)) {
      throw new NodeFailure('invalid_config', 'email_sender needs "credential_id" naming an smtp credential', false);
    }
    const settings = readSmtpSettings(credential);
    const sent = await sendOverSmtp(settings, toMail(task.inputs.email, task.config.from), signal);
    return { message_id: sent.messageId, accepted: sent.accepted, rejected: sent.rejected, response: sent.response };
  },
};

/** The composed email object as nodemailer's message. */
function toMail(email: Json | undefined, from: Json | undefined): OutgoingMail {
  if (typeof email !== 'object' || email === null || Array.isArray(email)) {
    throw new NodeFailure('missing_input', 'input "email" must be an email object (from email_composer)', false);
  }
  const to = addresses(email.to);
  const subject = typeof email.subject === 'string' ? email.subject : '';
  if (to === undefined || subject === '') throw new NodeFailure('missing_input', 'the email needs "to" and "subject"', false);
  const sender = typeof from === 'string' && from !== '' ? from : typeof email.from === 'string' ? email.from : undefined;
  return {
    to,
    subject,
    cc: addresses(email.cc),
    bcc: addresses(email.bcc),
    replyTo: typeof email.reply_to === 'string' ? email.reply_to : undefined,
    text: typeof email.text === 'string' ? email.text : typeof email.body === 'string' ? email.body : undefined,
    html: typeof email.html === 'string' ? email.html : undefined,
    ...(sender !== undefined ? { from: sender } : {}),
  };
}

function addresses(value: Json | undefined): string[] | undefined {
  if (typeof value === 'string' && value !== '') return [value];
  if (Array.isArray(value)) {
    const list = value.filter((item): item is string => typeof item === 'string' && item !== '');
    return list.length > 0 ? list : undefined;
  }
  return undefined;
}
