// email_composer: builds a mail (recipients, subject, text and HTML body) from config and inputs,
// ready for email_sender. No network: it only shapes and checks the message.
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeModule } from '../node-contract.js';

// Config strings are templated by the engine ({{trigger.x}}, shared outputs); what it could not
// resolve and names `data` is filled here from the node's own `data` input.
const dataReference = /\{\{\s*data((?:\.[A-Za-z0-9_-]+)*)\s*\}\}/g;
const maxRecipients = 100;

/**
 * The email_composer node: outputs `email` {to, cc, bcc, from, reply_to, subject, text, html} and its
 * `to`, `subject` and `body` on their own ports. `{{data.field}}` in subject/body/html reads the `data` input.
 */
export const node: NodeModule = {
  definition: {
    type: 'email_composer',
    category: 'integration',
    description: 'Composes an email (to, subject, text/HTML body) from templated config and inputs, for email_sender.',
    inputs: [{ name: 'data' }, { name: 'to' }, { name: 'subject' }, { name: 'body' }],
    outputs: [{ name: 'email' }, { name: 'to' }, { name: 'subject' }, { name: 'body' }],
    config: [
      { name: 'to', type: 'any' },
      { name: 'cc', type: 'any' },
      { name: 'bcc', type: 'any' },
      { name: 'from', type: 'string' },
      { name: 'reply_to', type: 'string' },
      { name: 'subject', type: 'string', default: '' },
      { name: 'body', type: 'any', default: '' },
      { name: 'html', type: 'string' },
    ],
    isolation: 'batched',
  },
  run(task) {
    const data = task.inputs.data ?? null;
    const to = recipients(task.inputs.to, 'to');
    if (to.length === 0) throw new NodeFailure('invalid_config', 'the email needs at least one recipient in "to"', false);
    const subject = fill(asText(task.inputs.subject ?? ''), data).replace(/[\r\n]+/g, ' ').trim();
    if (subject === '') throw new NodeFailure('invalid_config', 'the email needs a "subject"', false);
    const body = fill(asText(task.inputs.body ?? ''), data);
    const html = typeof task.config.html === 'string' ? fill(task.config.html, data) : null;
    const email: Record<string, Json> = { to, subject, text: body };
    const cc = recipients(task.config.cc, 'cc');
    const bcc = recipients(task.config.bcc, 'bcc');
    if (cc.length > 0) email.cc = cc;
    if (bcc.length > 0) email.bcc = bcc;
    if (typeof task.config.from === 'string' && task.config.from !== '') email.from = task.config.from;
    if (typeof task.config.reply_to === 'string' && task.config.reply_to !== '') email.reply_to = task.config.reply_to;
    if (html !== null) email.html = html;
    return { email, to, subject, body };
  },
};

/** Addresses from a comma-separated string or a list; each must parse as one mailbox. */
function recipients(value: Json | undefined, field: string): string[] {
  if (value === undefined || value === null || value === '') return [];
  const parts = Array.isArray(value) ? value : [value];
  const addresses: string[] = [];
  for (const part of parts) {
    if (typeof part !== 'string') throw new NodeFailure('invalid_config', `"${field}" must hold email addresses as text`, false);
    for (const parsed of addressparser(part, { flatten: true })) {
      if (!/^[^\s@]+@[^\s@]+$/.test(parsed.address)) throw new NodeFailure('invalid_config', `"${field}" holds an invalid address: ${part}`, false);
      addresses.push(parsed.name ? `${parsed.name} <${parsed.address}>` : parsed.address);
    }
  }
  if (addresses.length > maxRecipients) throw new NodeFailure('invalid_config', `"${field}" holds more than ${maxRecipients} addresses`, false);
  return addresses;
}

function fill(template: string, data: Json): string {
  return template.replace(dataReference, (match, path: string) => {
    const value = lookup(data, path.split('.').filter(Boolean));
    return value === undefined ? match : asText(value);
  });
}

function lookup(value: Json, path: string[]): Json | undefined {
  let current: Json | undefined = value;
  for (const step of path) {
    if (Array.isArray(current) && /^\d+$/.test(step)) current = current[Number(step)];
    else if (typeof current === 'object' && current !== null && !Array.isArray(current)) current = current[step];
    else return undefined;
    if (current === undefined) return undefined;
  }
  return current;
}

function asText(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}
