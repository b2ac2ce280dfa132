// A local SMTP server (smtp-server) the tests send mail to: it accepts any sender on 127.0.0.1 without
// TLS or login and keeps every message, parsed just enough to read its headers and text body.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { waitFor } from './daemon.js';

/** One received message. */
export interface ReceivedMail {
  from: string | null;
  recipients: string[];
  subject: string;
  /** The decoded text body. */
  text: string;
  raw: string;
}

/** A running SMTP sink. */
export interface SmtpSink {
  port: number;
  messages: ReceivedMail[];
  /** Waits for the first message matching `check`. */
  waitForMail(check: (mail: ReceivedMail) => boolean, what: string): Promise<ReceivedMail>;
  close(): Promise<void>;
}

/** Starts an SMTP sink on an ephemeral loopback port. */
export async function startSmtpSink(): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const recipients = session.envelope.rcptTo.map((rcpt) => rcpt.address);
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : null;
        messages.push(parseMail(Buffer.concat(chunks).toString('utf8'), from, recipients));
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    waitForMail: async (check, what) => (await waitFor(() => messages.find(check), what))!,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Headers, and a single-part body decoded from quoted-printable or base64. */
function parseMail(raw: string, from: string | null, recipients: string[]): ReceivedMail {
  const split = raw.indexOf('\r\n\r\n');
  const headerText = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const headers = new Map<string, string>();
  for (const line of headerText.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '').toLowerCase();
  const text =
    encoding === 'quoted-printable'
      ? Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8')
      : encoding === 'base64'
        ? Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
        : body;
  return { from, recipients, subject: headers.get('subject') ?? '', text: text.replace(/\r\n/g, '\n'), raw };
}
