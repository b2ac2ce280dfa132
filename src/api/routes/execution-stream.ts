// GET /api/v1/executions/:id/stream — Server-Sent Events: node start/finish/failure, retries,
// progress, and a terminal event. A client that connects late first gets the state so far.
import Router from '@koa/router';
import type Koa from 'koa';
import type { RunEvent } from '../../domain/run-event.js';
import { notFound } from '../../errors.js';
import type { ApiDeps } from '../api-deps.js';

const terminal = new Set(['completed', 'failed', 'cancelled']);
// A comment line now and then keeps proxies from closing an idle stream.
const heartbeatMs = 15_000;

/** The execution stream route. */
export function executionStreamRoutes(deps: ApiDeps): Router {
  const router = new Router();
  router.get('/executions/:id/stream', async (ctx) => {
    const id = ctx.params.id!;
    if (!(await deps.store.getExecution(id))) throw notFound('execution', id);
    await openStream(ctx, deps, id);
  });
  return router;
}

async function openStream(ctx: Koa.Context, deps: ApiDeps, executionId: string): Promise<void> {
  ctx.respond = false;
  const res = ctx.res;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  let closed = false;
  // Follow before reading the snapshot, so nothing between the two is lost (a duplicate may be).
  const buffered: RunEvent[] = [];
  let live = false;
  const close = () => {
    if (closed) return;
    closed = true;
    unfollow();
    clearInterval(heartbeat);
    res.end();
  };
  const onEvent = (event: RunEvent) => {
    if (!live) return void buffered.push(event);
    send(event.type, event);
    if (event.type === 'execution_finished' && terminal.has(event.status)) {
      send('end', { status: event.status });
      close();
    }
  };
  const unfollow = deps.executionStream.follow(executionId, onEvent);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), heartbeatMs);
  ctx.req.on('close', close);

  const execution = (await deps.store.getExecution(executionId))!;
  send('snapshot', { execution, logs: await deps.store.listLogs(executionId, 1000) });
  if (terminal.has(execution.status)) {
    send('end', { status: execution.status });
    return close();
  }
  live = true;
  for (const event of buffered.splice(0)) onEvent(event);
}
