// Sending one mail over SMTP (nodemailer), shared by email_sender (a pool node) and email_approval's
// notification (main thread). Settings come from a credential of type `smtp`; failures become
// NodeFailure with a stable code, retryable when another attempt may get through.
import { NodeFailure, type Json } from './node-contract.js';

/** Where and as whom to send, read from an `smtp` credential's fields. */
export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  username: string | null;
  password: string | null;
  from: string | null;
  /** false accepts a self-signed server certificate (a private relay). */
  rejectUnauthorized: boolean;
}

/** One message. */
export interface OutgoingMail {
  from?: string;
  to: string | string[];
  cc?: string | string[];
  bcc?: string | string[];
  replyTo?: string;
  subject: string;
  text?: string;
  html?: string;
}

/** What the server said. */
export interface SentMail {
  messageId: string;
  accepted: string[];
  rejected: string[];
  response: string;
}

// Bounded so a silent server fails the node instead of holding it for nodemailer's default minutes.
const connectionTimeoutMs = 10_000;
const socketTimeoutMs = 30_000;

/**
 * Reads SMTP settings from credential fields: host (required), port (587, or 465 when secure),
 * secure, username (or user), password (or pass), from, tls_reject_unauthorized (true).
 */
export function readSmtpSettings(fields: Record<string, Json>): SmtpSettings {
  const host = typeof fields.host === 'string' ? fields.host.trim() : '';
  if (host === '') throw new NodeFailure('invalid_config', 'the SMTP settings need a "host"', false);
  const secure = fields.secure === true || fields.secure === 'true';
  const port = fields.port === undefined || fields.port === null || fields.port === '' ? (secure ? 465 : 587) : Number(fields.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new NodeFailure('invalid_config', 'the SMTP "port" must be a whole number from 1 to 65535', false);
  return {
    host,
    port,
    secure,
    username: textOrNull(fields.username ?? fields.user),
    password: textOrNull(fields.password ?? fields.pass),
    from: textOrNull(fields.from),
    rejectUnauthorized: fields.tls_reject_unauthorized !== false && fields.tls_reject_unauthorized !== 'false',
  };
}

/** Sends `mail` over a transport opened for this message and closed after it; `signal` abandons it. */
export async function sendOverSmtp(settings: SmtpSettings, mail: OutgoingMail, signal?: AbortSignal): Promise<SentMail> {
  const from = mail.from ?? settings.from ?? settings.username;
  if (!from) throw new NodeFailure('invalid_config', 'no sender: give "from" in the mail or in the SMTP credential', false);
  // Loaded on first use: every worker thread imports the node catalogue, and most never send mail.
  const { default: nodemailer } = await import('nodemailer');
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    auth: settings.username !== null ? { user: settings.username, pass: settings.password ?? '' } : undefined,
    tls: { rejectUnauthorized: settings.rejectUnauthorized },
    connectionTimeout: connectionTimeoutMs,
    greetingTimeout: connectionTimeoutMs,
    socketTimeout: socketTimeoutMs,
  });
  const onAbort = () => transport.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const info = await transport.sendMail({ ...mail, from });
    return { messageId: info.messageId, accepted: info.accepted.map(addressText), rejected: info.rejected.map(addressText), response: info.response };
  } catch (error) {
    throw smtpFailure(error, settings);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    transport.close();
  }
}

const connectionCodes = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'ETLS', 'EPROTOCOL']);

/** A nodemailer error as a NodeFailure: where it failed, and whether trying again may help. */
function smtpFailure(error: unknown, settings: SmtpSettings): NodeFailure {
  const { code, responseCode, message } = error as { code?: string; responseCode?: number; message?: string };
  const where = `${settings.host}:${settings.port}`;
  const detail = message ?? String(error);
  if (code === 'EAUTH') return new NodeFailure('smtp_auth_failed', `the SMTP server ${where} refused the login: ${detail}`, false);
  if (code !== undefined && connectionCodes.has(code)) {
    return new NodeFailure('smtp_connection_failed', `could not talk to the SMTP server ${where}: ${detail}`, true);
  }
  if (code === 'EENVELOPE') return new NodeFailure('smtp_rejected', `the SMTP server ${where} refused the recipients: ${detail}`, false);
  // 4xx replies are temporary by definition (greylisting, a full queue); 5xx are not.
  const temporary = typeof responseCode !== 'number' || responseCode < 500;
  return new NodeFailure('smtp_error', `sending over ${where} failed: ${detail}`, temporary);
}

function addressText(address: string | { address: string }): string {
  return typeof address === 'string' ? address : address.address;
}

function textOrNull(value: Json | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : null;
}
