// Receives one multipart/form-data upload (busboy parses it): the part named `file` is streamed to a
// file in the incoming folder while its SHA-256, size and first bytes are taken; text fields are kept
// as strings. Nothing is held whole in memory. Whatever goes wrong, the incoming file is removed before
// the error leaves, so a refused upload leaves nothing on disk.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { AppError, badRequest } from '../errors.js';
import { sniffBytes } from './file-kind.js';

/** The name of the form field that carries the file. */
export const fileFieldName = 'file';

/** An upload written to the incoming folder; the caller moves or removes `incomingPath`. */
export interface ReceivedUpload {
  incomingPath: string;
  sizeBytes: number;
  sha256: string;
  /** The first bytes, for sniffing the type. */
  head: Buffer;
  /** As the client sent them: display text only, never a path. */
  clientFilename: string;
  declaredContentType: string;
  fields: Record<string, string>;
}

/** Limits and where to write. */
export interface ReceiveOptions {
  maxFileBytes: number;
  incomingDir: string;
}

interface WrittenFile {
  sizeBytes: number;
  sha256: string;
  head: Buffer;
  clientFilename: string;
  declaredContentType: string;
}

// Text fields are ids; a handful of short ones is all a valid form has.
const fieldLimits = { fields: 8, fieldSize: 1024, fieldNameSize: 100, parts: 16, headerPairs: 20 };

/** Parses the request body; throws 400/413 AppErrors (with nothing left on disk). */
export async function receiveUpload(request: IncomingMessage, options: ReceiveOptions): Promise<ReceivedUpload> {
  const incomingPath = path.join(options.incomingDir, `${randomUUID()}.part`);
  const parser = openParser(request, options.maxFileBytes);
  const fields: Record<string, string> = {};
  let written: Promise<WrittenFile> | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      parser.on('file', (name, stream, info) => {
        if (name !== fileFieldName || written) return void stream.resume();
        stream.once('limit', () => reject(tooLarge(options.maxFileBytes)));
        written = writePart(stream, incomingPath, info);
        // A failed write (disk full) ends the upload at once rather than after the whole body.
        written.catch(reject);
      });
      parser.on('field', (name, value, info) => {
        if (info.nameTruncated || info.valueTruncated) reject(badRequest('field_too_long', `form field "${name.slice(0, 100)}" is too long`));
        else fields[name] = value;
      });
      parser.on('filesLimit', () => reject(badRequest('too_many_files', `the form may carry one file, in the field "${fileFieldName}"`)));
      parser.on('fieldsLimit', () => reject(badRequest('too_many_fields', 'the form has too many fields')));
      parser.on('partsLimit', () => reject(badRequest('too_many_fields', 'the form has too many parts')));
      parser.on('error', (error) => reject(badRequest('malformed_multipart', 'the multipart body could not be parsed', { reason: String((error as Error)?.message ?? error) })));
      parser.on('close', () => resolve());
      // A client that goes away mid-body: busboy would wait for ever for the rest.
      request.on('close', () => {
        if (!request.complete) reject(badRequest('upload_aborted', 'the upload ended before the body was complete'));
      });
      request.pipe(parser);
    });
    if (!written) throw badRequest('missing_file', `the form has no file in the field "${fileFieldName}"`);
    return { incomingPath, fields, ...(await written) };
  } catch (error) {
    request.unpipe(parser);
    parser.destroy();
    // The write stream must have closed before the unlink, or it could create the file again after it.
    await written?.catch(() => undefined);
    await rm(incomingPath, { force: true });
    throw error;
  }
}

function openParser(request: IncomingMessage, maxFileBytes: number): busboy.Busboy {
  try {
    // busboy reports `limit` on reaching fileSize, so one byte over the largest allowed file.
    return busboy({ headers: request.headers, preservePath: true, defParamCharset: 'utf8', limits: { ...fieldLimits, files: 1, fileSize: maxFileBytes + 1 } });
  } catch (error) {
    throw badRequest('malformed_multipart', 'the multipart body could not be parsed', { reason: (error as Error).message });
  }
}

/** Streams one file part to `target`, hashing and counting as it goes. */
async function writePart(stream: Readable & { truncated?: boolean }, target: string, info: busboy.FileInfo): Promise<WrittenFile> {
  const hash = createHash('sha256');
  const headChunks: Buffer[] = [];
  let headLength = 0;
  let sizeBytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      sizeBytes += chunk.length;
      if (headLength < sniffBytes) {
        headChunks.push(chunk.subarray(0, sniffBytes - headLength));
        headLength += Math.min(chunk.length, sniffBytes - headLength);
      }
      callback(null, chunk);
    },
  });
  await pipeline(stream, tap, createWriteStream(target, { flags: 'wx', mode: 0o600 }));
  if (stream.truncated) throw new AppError('payload_too_large', 'the file is too large', { status: 413 });
  return {
    sizeBytes,
    sha256: hash.digest('hex'),
    head: Buffer.concat(headChunks),
    clientFilename: info.filename ?? '',
    declaredContentType: info.mimeType,
  };
}

/**
 * Reads and drops what is left of a refused request body, up to `maxBytes` and `timeoutMs`. Answering
 * before the client has sent its body makes many clients fail with EPIPE instead of reading the
 * answer; a body larger than the budget is not worth reading, and the caller closes the connection.
 */
export async function discardRemainingBody(request: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<void> {
  if (request.complete || request.destroyed || request.closed || Number(request.headers['content-length'] ?? 0) > maxBytes) return;
  await new Promise<void>((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      request.off('data', onData).off('end', done).off('close', done).off('error', done);
      request.pause();
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > maxBytes) done();
    };
    const timer = setTimeout(done, timeoutMs);
    request.on('data', onData).once('end', done).once('close', done).once('error', done);
    request.resume();
  });
}

function tooLarge(maxFileBytes: number): AppError {
  return new AppError('payload_too_large', `the file exceeds ${maxFileBytes} bytes`, { status: 413 });
}
