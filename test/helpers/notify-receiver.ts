// The test's end of the sd_notify protocol: a python3 process (notify-receiver.py) bound to an AF_UNIX
// datagram socket, reporting each datagram with its arrival time and sender pid.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeDataDir, waitFor } from './daemon.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const script = path.join(repoRoot, 'test', 'helpers', 'notify-receiver.py');

/** One datagram as received. */
export interface NotifyMessage {
  /** Monotonic ms at arrival (comparable between messages only). */
  at: number;
  /** Date.now() when the test read it (to compare with the test's own clock). */
  receivedAt: number;
  /** The sender's pid as the kernel vouched for it. */
  pid: number | null;
  text: string;
  /** The KEY=VALUE assignments of the datagram. */
  fields: Record<string, string>;
}

/** A bound notify socket. */
export interface NotifyReceiver {
  /** The NOTIFY_SOCKET value to hand to the daemon. */
  socket: string;
  messages(): NotifyMessage[];
  /** Messages that assign `key`, oldest first. */
  withField(key: string): NotifyMessage[];
  close(): Promise<void>;
}

/** Binds a notify socket: a path in a temp folder, or an abstract name ('@…'). */
export async function startNotifyReceiver(options: { abstract?: boolean } = {}): Promise<NotifyReceiver> {
  const socket = options.abstract ? `@tav-test-${process.pid}-${randomBytes(6).toString('hex')}` : path.join(makeDataDir('notify'), 'notify.sock');
  const child = spawn('python3', ['-u', script, socket], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: NotifyMessage[] = [];
  let listening = false;
  let buffered = '';
  let errors = '';
  child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line === 'listening') listening = true;
      else messages.push(parse(JSON.parse(line) as { at: number; pid: number | null; text: string }));
    }
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`notify receiver exited: ${errors}`);
    return listening;
  }, 'the notify receiver to bind', 10_000, 10);
  return {
    socket,
    messages: () => messages,
    withField: (key) => messages.filter((message) => key in message.fields),
    close: async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

function parse(raw: { at: number; pid: number | null; text: string }): NotifyMessage {
  const fields: Record<string, string> = {};
  for (const assignment of raw.text.split('\n')) {
    const eq = assignment.indexOf('=');
    if (eq > 0) fields[assignment.slice(0, eq)] = assignment.slice(eq + 1);
  }
  return { ...raw, receivedAt: Date.now(), fields };
}
