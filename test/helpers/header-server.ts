// A loopback server that remembers the request headers of the last call to each path, so a test can
// see what authentication a node sent. It answers 200 `{ok: true}` and never echoes a header back.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running header-recording server. */
export interface HeaderServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The Authorization header of the last call to `path`. */
  authorization(path: string): string | undefined;
  /** Every header of the last call to `path`. */
  headers(path: string): http.IncomingHttpHeaders | undefined;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 and an ephemeral port. */
export async function startHeaderServer(): Promise<HeaderServer> {
  const seen = new Map<string, http.IncomingHttpHeaders>();
  const server = http.createServer((request, response) => {
    seen.set(new URL(request.url ?? '/', 'http://loopback').pathname, request.headers);
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ok: true }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    authorization: (path) => seen.get(path)?.authorization,
    headers: (path) => seen.get(path),
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
