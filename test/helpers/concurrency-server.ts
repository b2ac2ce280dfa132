// A loopback HTTP server that holds every request for a while before answering, and records per
// path how many requests it has seen, how many are in flight now and the most that ever were: the
// node-side view of how many runs of a workflow execute at once.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running holding server. */
export interface ConcurrencyServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Requests `path` has received (answered or not). */
  calls(path: string): number;
  /** Requests to `path` being held now. */
  inFlight(path: string): number;
  /** The most requests to `path` ever held at once. */
  maxInFlight(path: string): number;
  close(): Promise<void>;
}

/** Starts a server on 127.0.0.1 that answers each request 200 after `holdMs`. */
export async function startConcurrencyServer(holdMs: number): Promise<ConcurrencyServer> {
  const calls = new Map<string, number>();
  const open = new Map<string, number>();
  const most = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://loopback').pathname;
    calls.set(path, (calls.get(path) ?? 0) + 1);
    const now = (open.get(path) ?? 0) + 1;
    open.set(path, now);
    most.set(path, Math.max(most.get(path) ?? 0, now));
    request.resume();
    const timer = setTimeout(() => {
      timers.delete(timer);
      open.set(path, (open.get(path) ?? 1) - 1);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: true }));
    }, holdMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls: (path) => calls.get(path) ?? 0,
    inFlight: (path) => open.get(path) ?? 0,
    maxInFlight: (path) => most.get(path) ?? 0,
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
