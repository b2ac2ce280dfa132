// A loopback HTTP server the tests point http_request nodes at: it counts calls per path and answers
// each call with whatever the test scripted for that path, so a test can prove how often a node ran.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What one call gets back. */
export interface ScriptedAnswer {
  status: number;
  body?: unknown;
}

/** Answers the `n`-th call (1-based) to a path. */
export type Script = (n: number) => ScriptedAnswer;

/** A running loopback server. */
export interface LoopbackServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** How many calls `path` has received. */
  calls(path: string): number;
  /** The bodies `path` has received, as text, oldest first. */
  bodies(path: string): string[];
  /** Replaces the script of a path (later calls follow it). */
  script(path: string, script: Script): void;
  close(): Promise<void>;
}

/** Answers 200 with `{path, n}` to every call. */
export const alwaysOk: Script = (n) => ({ status: 200, body: { ok: true, n } });

/** Starts a server on 127.0.0.1 and an ephemeral port; unscripted paths answer 200. */
export async function startLoopbackServer(scripts: Record<string, Script> = {}): Promise<LoopbackServer> {
  const counts = new Map<string, number>();
  const received = new Map<string, string[]>();
  const routes = new Map(Object.entries(scripts));
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://loopback').pathname;
    const n = (counts.get(path) ?? 0) + 1;
    counts.set(path, n);
    // The body is read whole before answering so the client never sees a reset connection.
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (!received.has(path)) received.set(path, []);
      received.get(path)!.push(Buffer.concat(chunks).toString('utf8'));
      const answer = (routes.get(path) ?? alwaysOk)(n);
      response.writeHead(answer.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer.body ?? { path, n }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls: (path) => counts.get(path) ?? 0,
    bodies: (path) => received.get(path) ?? [],
    script: (path, script) => void routes.set(path, script),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
