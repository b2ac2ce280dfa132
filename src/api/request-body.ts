// Reading a JSON body: the content type must be JSON, the size within `max_content_length`, the
// text valid JSON. Each failure is a distinct 4xx.
import type Koa from 'koa';
import getRawBody from 'raw-body';
import { AppError } from '../errors.js';
import { discardRemainingBody } from '../files/upload-receiver.js';

/** Reads and parses the request body; an empty body reads as `{}`. */
export async function readJsonBody(ctx: Koa.Context, limitBytes: number): Promise<unknown> {
  const length = ctx.request.length;
  if (!ctx.request.type && !length && !ctx.req.headers['transfer-encoding']) return {};
  if (ctx.request.type !== 'application/json' && !ctx.request.type.endsWith('+json')) {
    throw new AppError('unsupported_media_type', 'the body must be application/json', { status: 415 });
  }
  return parseJsonText((await readRawBody(ctx, limitBytes)).toString('utf8'));
}

/** Reads the body's bytes as they came (a webhook signature is over these), within `limitBytes` (413 beyond). */
export async function readRawBody(ctx: Koa.Context, limitBytes: number): Promise<Buffer> {
  const length = ctx.request.length;
  if (length !== undefined && length > limitBytes) throw await tooLarge(ctx, limitBytes);
  try {
    return await getRawBody(ctx.req, { length, limit: limitBytes });
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') throw await tooLarge(ctx, limitBytes);
    throw new AppError('bad_body', 'the request body could not be read', { status: 400, cause: error });
  }
}

/** Parses a JSON body's text: blank reads as `{}`; malformed or too deeply nested is a 400. */
export function parseJsonText(text: string): unknown {
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError('malformed_json', 'the request body is not valid JSON', { status: 400 });
  }
  if (exceedsDepth(body, maxJsonDepth)) throw new AppError('too_deeply_nested', `the request body nests deeper than ${maxJsonDepth} levels`, { status: 400 });
  return body;
}

// JSON.parse copes with any depth, but validation, serialisation and postMessage recurse and would
// overflow the stack (a 500) from about a thousand levels; no real payload nests this far.
const maxJsonDepth = 256;

/** True when `value` nests objects/arrays more than `limit` deep; iterative, so it cannot overflow itself. */
function exceedsDepth(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
  }
  return false;
}

// The rest of an oversized body is read and dropped within a bound (so the client, still sending,
// reads the answer rather than a broken pipe), then the connection closes: a keep-alive client would
// otherwise wait for ever to send the rest, and later requests on that socket would hang behind it.
async function tooLarge(ctx: Koa.Context, limitBytes: number): Promise<AppError> {
  await discardRemainingBody(ctx.req, limitBytes + 16 * 1024 * 1024, 5_000);
  ctx.set('Connection', 'close');
  return new AppError('payload_too_large', `the request body exceeds ${limitBytes} bytes`, { status: 413 });
}
