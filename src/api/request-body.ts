// Reading a JSON body: the content type must be JSON, the size within `max_content_length`, the
// text valid JSON. Each failure is a distinct 4xx.
import type Koa from 'koa';
import getRawBody from 'raw-body';
import { AppError } from '../errors.js';

/** Reads and parses the request body; an empty body reads as `{}`. */
export async function readJsonBody(ctx: Koa.Context, limitBytes: number): Promise<unknown> {
  const length = ctx.request.length;
  if (!ctx.request.type && !length && !ctx.req.headers['transfer-encoding']) return {};
  if (ctx.request.type !== 'application/json' && !ctx.request.type.endsWith('+json')) {
    throw new AppError('unsupported_media_type', 'the body must be application/json', { status: 415 });
  }
  if (length !== undefined && length > limitBytes) throw tooLarge(limitBytes);
  let text: string;
  try {
    text = await getRawBody(ctx.req, { length, limit: limitBytes, encoding: 'utf8' });
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') throw tooLarge(limitBytes);
    throw new AppError('bad_body', 'the request body could not be read', { status: 400, cause: error });
  }
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('malformed_json', 'the request body is not valid JSON', { status: 400 });
  }
}

function tooLarge(limitBytes: number): AppError {
  return new AppError('payload_too_large', `the request body exceeds ${limitBytes} bytes`, { status: 413 });
}
