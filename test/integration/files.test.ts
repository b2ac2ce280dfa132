// Uploads on a real daemon: POST /api/v1/files streams a multipart upload to the upload folder under
// a UUID name (SHA-256 and type from the bytes, never from the client), the other routes read, download
// and delete it, an oversized upload leaves nothing behind, a hostile filename is only display text,
// and a csv_reader reads an upload by file id.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { startDaemon, type TestDaemon, type TestResponse } from '../helpers/daemon.js';
import { createWorkflow, expectError, expectOk, removeIfAllPassed } from '../helpers/api-assertions.js';
import { runToEnd } from '../helpers/workflow-runs.js';
import { node, workflowBody } from '../helpers/workflows.js';

const maxContentLength = 1_048_576;

/** A file part: bytes, the filename the client claims and the type it declares. */
interface FilePart {
  data: Uint8Array | string;
  filename: string;
  type?: string;
}

/** Sends `POST /api/v1/files` as Node's fetch builds multipart/form-data. */
async function upload(daemon: TestDaemon, file: FilePart | null, fields: Record<string, string> = {}, fileField = 'file'): Promise<TestResponse> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  if (file) form.append(fileField, new Blob([file.data], { type: file.type ?? 'application/octet-stream' }), file.filename);
  const response = await fetch(`${daemon.baseUrl}/api/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${daemon.key}` }, body: form });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

/** A multipart body written by hand, for part headers fetch would escape (a raw `filename*`). */
function handBuiltMultipart(boundary: string, dispositionParams: string, data: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; ${dispositionParams}\r\nContent-Type: text/plain\r\n\r\n`),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

/** Every regular file below `dir` (none when it does not exist). */
function filesBelow(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).map((name) => path.join(dir, name)).filter((file) => fs.statSync(file).isFile());
}

/** True when `target` is strictly below `root`. */
function isInside(root: string, target: string): boolean {
  const relative = path.relative(root, target);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

const pngHead = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

describe('files API', function () {
  let daemon: TestDaemon;
  let uploadRoot: string;

  before(async function () {
    daemon = await startDaemon({ settings: { security: { max_content_length: maxContentLength } } });
    uploadRoot = path.join(daemon.dataDir, 'uploads');
  });

  after(async function () {
    if (!daemon) return;
    await daemon.stop('SIGTERM');
    removeIfAllPassed(this.test!.parent!, daemon.dataDir);
  });

  /** Every file under the upload folder, the incoming area included. */
  const storedFiles = () => filesBelow(uploadRoot);

  describe('round trip', function () {
    it('uploads a file, lists it, reads it, downloads it byte for byte and deletes it with its bytes', async function () {
      const data = randomBytes(300_000);
      const created = expectOk(await upload(daemon, { data, filename: 'report.bin', type: 'application/x-thing' }), 201);

      expect(created).to.include({ original_filename: 'report.bin', mime_type: 'application/octet-stream', file_type: 'other', size_bytes: data.length, workflow_id: null, execution_id: null });
      expect(created.file_metadata).to.deep.equal({ sha256: sha256(data), declared_content_type: 'application/x-thing' });
      expect(created.stored_filename).to.match(/^[0-9a-f-]{36}\.bin$/);
      const onDisk = path.resolve(daemon.dataDir, created.file_path);
      expect(isInside(path.join(uploadRoot, 'other'), onDisk), onDisk).to.equal(true);
      expect(fs.readFileSync(onDisk).equals(data)).to.equal(true);

      const listed = expectOk(await daemon.request('GET', '/api/v1/files'));
      expect(listed.items.map((item: any) => item.id)).to.include(created.id);
      expect(expectOk(await daemon.request('GET', `/api/v1/files/${created.id}`))).to.deep.equal(created);

      const download = await fetch(`${daemon.baseUrl}/api/v1/files/${created.id}/download`, { headers: { authorization: `Bearer ${daemon.key}` } });
      expect(download.status).to.equal(200);
      expect(download.headers.get('content-type')).to.equal('application/octet-stream');
      expect(download.headers.get('content-length')).to.equal(String(data.length));
      expect(download.headers.get('content-disposition')).to.equal(`attachment; filename="report.bin"; filename*=UTF-8''report.bin`);
      const downloaded = Buffer.from(await download.arrayBuffer());
      expect(downloaded.equals(data), 'downloaded bytes are the uploaded ones').to.equal(true);
      expect(sha256(downloaded)).to.equal(created.file_metadata.sha256);

      expect((await daemon.request('DELETE', `/api/v1/files/${created.id}`)).status).to.equal(204);
      expectError(await daemon.request('GET', `/api/v1/files/${created.id}`), 404, 'not_found');
      expectError(await daemon.request('GET', `/api/v1/files/${created.id}/download`), 404, 'not_found');
      expectError(await daemon.request('DELETE', `/api/v1/files/${created.id}`), 404, 'not_found');
      expect(fs.existsSync(onDisk), 'the bytes are deleted with the row').to.equal(false);
    });

    it('attaches an upload to a workflow, filters the list by it and pages with a cursor', async function () {
      const workflowId = await createWorkflow(daemon, workflowBody('owner', [node('input', 'text_input', { text: 'x' })]));
      const first = expectOk(await upload(daemon, { data: 'one\n', filename: 'one.txt' }, { workflow_id: workflowId }), 201);
      const second = expectOk(await upload(daemon, { data: 'two\n', filename: 'two.txt' }, { workflow_id: workflowId }), 201);
      expectOk(await upload(daemon, { data: 'other\n', filename: 'other.txt' }), 201);
      expect(first.workflow_id).to.equal(workflowId);

      const page1 = expectOk(await daemon.request('GET', `/api/v1/files?workflow_id=${workflowId}&limit=1`));
      expect(page1.items.map((item: any) => item.id)).to.deep.equal([second.id]);
      expect(page1.next_cursor).to.equal(second.id);
      const page2 = expectOk(await daemon.request('GET', `/api/v1/files?workflow_id=${workflowId}&limit=1&cursor=${page1.next_cursor}`));
      expect(page2.items.map((item: any) => item.id)).to.deep.equal([first.id]);
      const all = expectOk(await daemon.request('GET', `/api/v1/files?workflow_id=${workflowId}`));
      expect(all.items.map((item: any) => item.id)).to.deep.equal([second.id, first.id]);
    });

    it('encodes a non-ASCII display name safely in Content-Disposition', async function () {
      const created = expectOk(await upload(daemon, { data: 'a,b\n', filename: "Résumé (v1) 50%'s.csv" }), 201);
      expect(created.original_filename).to.equal("Résumé (v1) 50%'s.csv");
      const download = await fetch(`${daemon.baseUrl}/api/v1/files/${created.id}/download`, { headers: { authorization: `Bearer ${daemon.key}` } });
      expect(download.headers.get('content-disposition')).to.equal(`attachment; filename="R_sum_ (v1) 50_'s.csv"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%28v1%29%2050%25%27s.csv`);
      expect(download.headers.get('content-type')).to.match(/^text\/csv/);
    });
  });

  describe('type sniffing', function () {
    it('records a PNG sent as text/plain named .txt as image/png, filed under image/ with a .png name', async function () {
      const data = Buffer.concat([pngHead, randomBytes(64)]);
      const created = expectOk(await upload(daemon, { data, filename: 'notes.txt', type: 'text/plain' }), 201);
      expect(created).to.include({ mime_type: 'image/png', file_type: 'image' });
      expect(created.file_metadata.declared_content_type).to.equal('text/plain');
      expect(created.stored_filename).to.match(/\.png$/);
      expect(isInside(path.join(uploadRoot, 'image'), path.resolve(daemon.dataDir, created.file_path))).to.equal(true);
    });

    it('records text claimed to be a PNG as text, and a PDF as a document', async function () {
      const text = expectOk(await upload(daemon, { data: 'x,y\n1,2\n', filename: 'picture.png', type: 'image/png' }), 201);
      expect(text).to.include({ mime_type: 'text/plain', file_type: 'document' });
      expect(text.stored_filename).to.match(/\.txt$/);
      const pdf = expectOk(await upload(daemon, { data: '%PDF-1.7\n%âãÏÓ\n', filename: 'x', type: 'application/octet-stream' }), 201);
      expect(pdf).to.include({ mime_type: 'application/pdf', file_type: 'document' });
      const gzip = expectOk(await upload(daemon, { data: Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]), filename: 'a.tar.gz' }), 201);
      expect(gzip).to.include({ mime_type: 'application/gzip', file_type: 'archive' });
    });
  });

  describe('size limit', function () {
    it('answers an upload over security.max_content_length with 413 and leaves nothing on disk', async function () {
      const before = storedFiles();
      const rowsBefore = expectOk(await daemon.request('GET', '/api/v1/files?limit=500')).items.length;
      const response = await upload(daemon, { data: randomBytes(2 * maxContentLength), filename: 'big.bin' });
      expectError(response, 413, 'payload_too_large');
      expect(storedFiles()).to.deep.equal(before);
      expect(expectOk(await daemon.request('GET', '/api/v1/files?limit=500')).items.length).to.equal(rowsBefore);
    });

    it('answers a chunked upload that grows past the limit with 413 and removes the partial file', async function () {
      const before = storedFiles();
      const boundary = 'tav-test-boundary';
      const body = handBuiltMultipart(boundary, 'filename="big.bin"', randomBytes(2 * maxContentLength));
      let offset = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (offset >= body.length) return controller.close();
          controller.enqueue(body.subarray(offset, offset + 64 * 1024));
          offset += 64 * 1024;
        },
      });
      const response = await fetch(`${daemon.baseUrl}/api/v1/files`, {
        method: 'POST',
        headers: { authorization: `Bearer ${daemon.key}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
        body: stream,
        duplex: 'half',
      } as RequestInit);
      expect(response.status).to.equal(413);
      expect(response.headers.get('connection')).to.equal('close');
      expect(((await response.json()) as any).error.code).to.equal('payload_too_large');
      // The partial file is removed before the answer leaves.
      expect(storedFiles()).to.deep.equal(before);
      expect(filesBelow(path.join(uploadRoot, '.incoming'))).to.deep.equal([]);
    });

    it('accepts a file just under the limit', async function () {
      const data = randomBytes(maxContentLength - 4096);
      const created = expectOk(await upload(daemon, { data, filename: 'fits.bin' }), 201);
      expect(created.size_bytes).to.equal(data.length);
      expect(created.file_metadata.sha256).to.equal(sha256(data));
    });
  });

  describe('hostile filenames', function () {
    const names: Array<[string, string]> = [
      ['a parent-directory path', '../../etc/passwd'],
      ['a Windows parent-directory path', '..\\..\\x.csv'],
      ['nested folders', 'a/b/c.png'],
      ['a 5,000-character name', `${'a'.repeat(5000)}.csv`],
      ['a tab', 'tab\tname.csv'],
      ['only dots', '..'],
      ['a right-to-left override', 'invoice\u202Efdp.exe'],
    ];

    for (const [label, filename] of names) {
      it(`stores ${label} under a UUID inside the upload folder, keeping the name only as display text`, async function () {
        const created = expectOk(await upload(daemon, { data: 'a,b\n1,2\n', filename, type: 'text/csv' }), 201);
        expect(created.stored_filename).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[a-z0-9]+$/);
        const onDisk = path.resolve(daemon.dataDir, created.file_path);
        expect(isInside(uploadRoot, onDisk), `${onDisk} is inside ${uploadRoot}`).to.equal(true);
        expect(path.basename(onDisk)).to.equal(created.stored_filename);
        expect(fs.readFileSync(onDisk, 'utf8')).to.equal('a,b\n1,2\n');
        const shown: string = created.original_filename;
        expect(shown).not.to.match(/[\\/\u0000-\u001f\u007f\u202e]/);
        expect(shown).not.to.equal('..');
        expect(Array.from(shown).length).to.be.at.most(255);
        expect(shown.length).to.be.greaterThan(0);
      });
    }

    // Part headers cannot carry raw control characters; an RFC 5987 filename* can, percent-encoded.
    const encodedNames: Array<[string, string, string]> = [
      ['backslash parent directories and a NUL', `..%5C..%5Cx%00.csv`, 'x.csv'],
      ['NUL, control characters and an escape sequence', `evil%00name%01%1B%5B31m.csv`, 'evilname[31m.csv'],
      ['a slash path with a newline', `..%2F..%2Fetc%2Fpasswd%0A`, 'passwd'],
    ];
    for (const [label, encoded, shown] of encodedNames) {
      it(`keeps an encoded filename* with ${label} as cleaned display text only`, async function () {
        const boundary = 'tav-raw-name';
        const response = await fetch(`${daemon.baseUrl}/api/v1/files`, {
          method: 'POST',
          headers: { authorization: `Bearer ${daemon.key}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
          body: handBuiltMultipart(boundary, `filename*=UTF-8''${encoded}`, Buffer.from('a,b\n')),
        });
        const created = (await response.json()) as any;
        expect(response.status, JSON.stringify(created)).to.equal(201);
        expect(created.original_filename).to.equal(shown);
        expect(created.stored_filename).to.match(/^[0-9a-f-]{36}\.[a-z0-9]+$/);
        expect(isInside(uploadRoot, path.resolve(daemon.dataDir, created.file_path))).to.equal(true);
      });
    }

    it('refuses raw NUL and control characters in a part header with 400, storing nothing', async function () {
      const before = storedFiles();
      const response = await upload(daemon, { data: 'a,b\n', filename: 'evil\u0000name\u0001\u001b[31m.csv' });
      expectError(response, 400, 'malformed_multipart');
      expect(storedFiles()).to.deep.equal(before);
    });

    it('writes nothing outside the upload folder', function () {
      const outside = path.resolve(daemon.dataDir, '..', '..', 'etc', 'passwd');
      expect(fs.existsSync(outside)).to.equal(false);
      expect(fs.existsSync(path.resolve(daemon.dataDir, '..', 'x.csv'))).to.equal(false);
      for (const file of storedFiles()) expect(path.basename(file)).to.match(/^[0-9a-f-]{36}\.[a-z0-9]+$/);
    });
  });

  describe('bad requests', function () {
    it('answers a JSON body with 415', async function () {
      expectError(await daemon.request('POST', '/api/v1/files', { file: 'x' }), 415, 'unsupported_media_type');
    });

    it('answers a text/plain body and an empty body with 415', async function () {
      expectError(await daemon.request('POST', '/api/v1/files', 'hello', { 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
      expectError(await daemon.request('POST', '/api/v1/files'), 415, 'unsupported_media_type');
    });

    it('answers a form without the file field with 400', async function () {
      expectError(await upload(daemon, null, { workflow_id: 'x' }), 400, 'missing_file');
      expectError(await upload(daemon, { data: 'x', filename: 'x.txt' }, {}, 'attachment'), 400, 'missing_file');
    });

    it('answers a multipart type without a boundary, and a cut-off body, with 400', async function () {
      expectError(await daemon.request('POST', '/api/v1/files', 'x', { 'content-type': 'multipart/form-data' }), 400, 'malformed_multipart');
      const cut = handBuiltMultipart('b0', 'filename="a.txt"', Buffer.from('abc')).subarray(0, 90);
      expectError(await daemon.request('POST', '/api/v1/files', cut.toString('latin1'), { 'content-type': 'multipart/form-data; boundary=b0' }), 400, 'malformed_multipart');
    });

    it('answers two files with 400 and an unknown form field with 400, leaving nothing behind', async function () {
      const before = storedFiles();
      const form = new FormData();
      form.append('file', new Blob(['a']), 'a.txt');
      form.append('file', new Blob(['b']), 'b.txt');
      const two = await fetch(`${daemon.baseUrl}/api/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${daemon.key}` }, body: form });
      expect(two.status).to.equal(400);
      expect(((await two.json()) as any).error.code).to.equal('too_many_files');
      expectError(await upload(daemon, { data: 'x', filename: 'x.txt' }, { colour: 'red' }), 400, 'validation_failed');
      expect(storedFiles()).to.deep.equal(before);
    });

    it('answers an unknown workflow_id or execution_id with 404, leaving nothing behind', async function () {
      const before = storedFiles();
      expectError(await upload(daemon, { data: 'x', filename: 'x.txt' }, { workflow_id: 'no-such-workflow' }), 404, 'not_found');
      expectError(await upload(daemon, { data: 'x', filename: 'x.txt' }, { execution_id: '00000000-0000-0000-0000-000000000000' }), 404, 'not_found');
      expect(storedFiles()).to.deep.equal(before);
    });

    it('answers a malformed or unknown file id with 400 or 404', async function () {
      expectError(await daemon.request('GET', '/api/v1/files/abc'), 400, 'validation_failed');
      expectError(await daemon.request('GET', '/api/v1/files/999999'), 404, 'not_found');
      expectError(await daemon.request('GET', '/api/v1/files/999999/download'), 404, 'not_found');
      expectError(await daemon.request('GET', '/api/v1/files?limit=0'), 400, 'validation_failed');
    });

    it('needs an API key', async function () {
      expectError(await daemon.request('GET', '/api/v1/files', undefined, { authorization: '' }), 401, 'unauthorized');
    });
  });

  describe('file ids in workflows', function () {
    const csv = 'name,qty\nbolt,4\nnut,10\n';

    it('runs a csv_reader on an upload named by {file_id}, by a number and by config file_id', async function () {
      const created = expectOk(await upload(daemon, { data: csv, filename: 'parts.csv', type: 'text/csv' }), 201);
      for (const config of [{ file: { file_id: created.id } }, { file: created.id }, { file_id: String(created.id) }]) {
        const workflowId = await createWorkflow(daemon, workflowBody('read upload', [node('read', 'csv_reader', config)]));
        const { event, execution } = await runToEnd(daemon, workflowId);
        expect(event.status, JSON.stringify(execution.node_results)).to.equal('completed');
        const outputs = execution.node_results.read.outputs;
        expect(outputs.data).to.deep.equal([
          { name: 'bolt', qty: '4' },
          { name: 'nut', qty: '10' },
        ]);
        expect(outputs.metadata).to.include({ source: 'file', path: created.file_path });
      }
    });

    it('fails the node with file_not_found, not retried, for an unknown file id', async function () {
      const workflowId = await createWorkflow(daemon, workflowBody('missing upload', [node('read', 'csv_reader', { file: { file_id: 999999 } })]));
      const { event, execution } = await runToEnd(daemon, workflowId);
      expect(event.status).to.equal('failed');
      expect(execution.node_results.read.status).to.equal('failed');
      expect(execution.node_results.read.error).to.include({ code: 'file_not_found', retryable: false });
      expect(execution.node_results.read.attempts).to.equal(1);
    });
  });
});
