// The pure parts of uploads: type sniffing from bytes, display names, Content-Disposition, and file
// ids in node tasks.
import { expect } from 'chai';
import type { NodeTask } from '../../workers/node-contract.js';
import { resolveFileReferences } from '../../src/engine/node-files.js';
import { attachmentDisposition, cleanDisplayName } from '../../src/files/display-name.js';
import { sniffFileKind } from '../../src/files/file-kind.js';

const bytes = (...values: number[]) => Uint8Array.from(values);
const text = (value: string) => new TextEncoder().encode(value);

describe('upload type sniffing', function () {
  it('knows common binary formats by their first bytes, whatever the name says', function () {
    expect(sniffFileKind(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0), 'a.txt')).to.deep.equal({ mimeType: 'image/png', fileType: 'image', extension: '.png' });
    expect(sniffFileKind(bytes(0xff, 0xd8, 0xff, 0xe0), 'a.csv')).to.include({ mimeType: 'image/jpeg', fileType: 'image' });
    expect(sniffFileKind(text('GIF89a...'), '')).to.include({ mimeType: 'image/gif' });
    expect(sniffFileKind(text('%PDF-1.4'), 'x.png')).to.include({ mimeType: 'application/pdf', fileType: 'document' });
    expect(sniffFileKind(bytes(0x1f, 0x8b, 8), 'x')).to.include({ mimeType: 'application/gzip', fileType: 'archive' });
    expect(sniffFileKind(text('RIFF\0\0\0\0WAVEfmt '), 'x')).to.include({ mimeType: 'audio/wav', fileType: 'audio' });
    expect(sniffFileKind(text('\0\0\0\x18ftypmp42'), 'x')).to.include({ mimeType: 'video/mp4', fileType: 'video' });
  });

  it('names an office document by its extension only once the bytes say zip', function () {
    const zip = bytes(0x50, 0x4b, 0x03, 0x04, 20, 0);
    expect(sniffFileKind(zip, 'report.XLSX')).to.include({ fileType: 'document', extension: '.xlsx' });
    expect(sniffFileKind(zip, 'archive.zip')).to.include({ mimeType: 'application/zip', fileType: 'archive', extension: '.zip' });
    expect(sniffFileKind(text('not a zip'), 'report.xlsx')).to.include({ mimeType: 'text/plain', extension: '.txt' });
  });

  it('treats UTF-8 text by a harmless extension, never as HTML, and other bytes as octet-stream', function () {
    expect(sniffFileKind(text('a,b\n1,2\n'), 'data.csv')).to.deep.equal({ mimeType: 'text/csv', fileType: 'document', extension: '.csv' });
    expect(sniffFileKind(text('{"a":1}'), 'x.json')).to.include({ mimeType: 'application/json' });
    expect(sniffFileKind(text('<script>alert(1)</script>'), 'page.html')).to.include({ mimeType: 'text/plain', extension: '.txt' });
    expect(sniffFileKind(bytes(0, 1, 2, 3), 'x.csv')).to.deep.equal({ mimeType: 'application/octet-stream', fileType: 'other', extension: '.bin' });
    expect(sniffFileKind(bytes(0xc3), 'x.txt'), 'a character cut at the end of the head').to.include({ mimeType: 'text/plain' });
    expect(sniffFileKind(bytes(0xc3, 0x28), 'x.txt'), 'invalid UTF-8').to.include({ mimeType: 'application/octet-stream' });
    expect(sniffFileKind(bytes(), 'empty.csv')).to.include({ mimeType: 'text/csv' });
  });
});

describe('upload display names', function () {
  it('keeps the last path segment without control or direction characters', function () {
    expect(cleanDisplayName('../../etc/passwd')).to.equal('passwd');
    expect(cleanDisplayName('..\\..\\x.csv')).to.equal('x.csv');
    expect(cleanDisplayName('a\u0000b\u001b[1m\u202Ec.csv')).to.equal('ab[1mc.csv');
    expect(cleanDisplayName('..')).to.equal('upload');
    expect(cleanDisplayName('dir/')).to.equal('upload');
    expect(cleanDisplayName('  \u200b ')).to.equal('upload');
  });

  it('cuts a long name to 255 characters, keeping its extension and whole characters', function () {
    const cut = cleanDisplayName(`${'é'.repeat(5000)}.csv`);
    expect(Array.from(cut)).to.have.length(255);
    expect(cut.endsWith('é.csv')).to.equal(true);
    const emoji = cleanDisplayName('😀'.repeat(300));
    expect(Array.from(emoji)).to.have.length(255);
    expect(emoji).to.equal('😀'.repeat(255));
  });

  it('offers an ASCII fallback and the exact name in Content-Disposition', function () {
    expect(attachmentDisposition('a "b"\\%.txt')).to.equal(`attachment; filename="a _b___.txt"; filename*=UTF-8''a%20%22b%22%5C%25.txt`);
    expect(attachmentDisposition('日本.csv')).to.equal(`attachment; filename="__.csv"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.csv`);
    expect(attachmentDisposition(cleanDisplayName('\ud800x.txt'))).to.contain(`filename*=UTF-8''%EF%BF%BDx.txt`);
  });
});

describe('file ids in node tasks', function () {
  const files = { getFile: async (id: number) => (id === 7 ? { file_path: 'uploads/document/u.csv' } : null) };
  const task = (config: NodeTask['config'], inputs: NodeTask['inputs'] = {}): NodeTask => ({ executionId: 'e', nodeId: 'n', nodeType: 'csv_reader', config, inputs, trigger: null, attempt: 1, timeoutMs: 1000 });
  const resolved = async (t: NodeTask) => {
    const result = await resolveFileReferences(t, files);
    if (!result.ok) throw new Error(result.error.code);
    return result.task;
  };

  it('turns a file id on the file port or in config into {path}', async function () {
    expect((await resolved(task({}, { file: 7 }))).inputs.file).to.deep.equal({ path: 'uploads/document/u.csv' });
    expect((await resolved(task({}, { file: { file_id: '7' } }))).inputs.file).to.deep.equal({ path: 'uploads/document/u.csv' });
    expect((await resolved(task({ file: { file_id: 7 } }))).config.file).to.deep.equal({ path: 'uploads/document/u.csv' });
    expect((await resolved(task({ file_id: '7' }))).config.file).to.deep.equal({ path: 'uploads/document/u.csv' });
  });

  it('leaves tasks without file ids as they are', async function () {
    const plain = task({ delimiter: ',' }, { file: 'a,b\n1,2' });
    expect(await resolveFileReferences(plain, files)).to.deep.equal({ ok: true, task: plain });
    expect((await resolved(task({}, { file: { path: 'x.csv' } }))).inputs.file).to.deep.equal({ path: 'x.csv' });
    // A file value given in config wins over config file_id, as a port value wins over config.
    expect((await resolved(task({ file: 'x.csv', file_id: 7 }))).config.file).to.equal('x.csv');
  });

  it('fails with file_not_found for an unknown id and invalid_input for a bad one, neither retryable', async function () {
    expect(await resolveFileReferences(task({}, { file: 8 }), files)).to.deep.equal({ ok: false, error: { code: 'file_not_found', message: 'no uploaded file with id 8', retryable: false } });
    const bad = await resolveFileReferences(task({}, { file: { file_id: 'abc' } }), files);
    expect(bad.ok === false && bad.error).to.include({ code: 'invalid_input', retryable: false });
    const negative = await resolveFileReferences(task({ file_id: -1 }), files);
    expect(negative.ok === false && negative.error.code).to.equal('invalid_input');
  });
});
