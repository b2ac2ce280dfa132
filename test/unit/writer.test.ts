// The single writer on a real temp SQLite file: group commit, answers in order, a failing write
// isolated from its batch, latest-only writes, flush and close.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expect } from 'chai';
import type { Logger } from '../../src/log.js';
import { openWriteConnection } from '../../src/store/sqlite/connection.js';
import { Writer, type WriterOptions } from '../../src/store/sqlite/writer.js';

const silentLog = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {} } as unknown as Logger;

describe('writer', function () {
  let dir: string;
  let db: Database.Database;
  let writer: Writer;

  const open = (options: Partial<WriterOptions> = {}) => new Writer(db, { maxBatch: 1000, maxDelayMs: 0, log: silentLog, ...options });
  const insert = (name: string) => (conn: Database.Database) => Number(conn.prepare('INSERT INTO items (name) VALUES (?)').run(name).lastInsertRowid);
  const names = () => (db.prepare('SELECT name FROM items ORDER BY id').all() as Array<{ name: string }>).map((row) => row.name);

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tav-writer-'));
    db = openWriteConnection(path.join(dir, 'writer.db'), 'NORMAL');
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, note TEXT)');
    writer = open();
  });

  afterEach(function () {
    db.close();
    // A failing test leaves its database behind for inspection.
    if (this.currentTest?.state === 'passed') fs.rmSync(dir, { recursive: true, force: true });
  });

  it('commits writes queued in the same tick in one transaction', async () => {
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => writer.write(insert(`item-${i}`))));
    expect(writer.stats.commits).to.equal(1);
    expect(writer.stats.operations).to.equal(100);
    expect(writer.stats.lastBatchSize).to.equal(100);
    expect(results).to.have.length(100);
    expect(names()).to.have.length(100);
  });

  it('splits a burst larger than maxBatch into bounded commits', async () => {
    writer = open({ maxBatch: 30 });
    await Promise.all(Array.from({ length: 100 }, (_, i) => writer.write(insert(`item-${i}`))));
    expect(writer.stats.commits).to.equal(4);
    expect(writer.stats.lastBatchSize).to.equal(10);
    expect(names()).to.have.length(100);
  });

  it('commits writes of different ticks separately', async () => {
    await writer.write(insert('a'));
    await writer.write(insert('b'));
    expect(writer.stats.commits).to.equal(2);
  });

  it('answers each write with its own result, in the order the writes were queued', async () => {
    const answered: number[] = [];
    const writes = Array.from({ length: 20 }, (_, i) => writer.write(insert(`item-${i}`)).then((rowId) => (answered.push(i), rowId)));
    const rowIds = await Promise.all(writes);
    expect(answered).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
    expect(rowIds).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(names()).to.deep.equal(Array.from({ length: 20 }, (_, i) => `item-${i}`));
  });

  it('rejects a failing write alone and commits the others of its batch', async () => {
    const outcomes = await Promise.allSettled([
      writer.write(insert('first')),
      writer.write((conn) => {
        // Half done, then fails: none of it may survive.
        insert('partial')(conn);
        throw new Error('constraint the caller violated');
      }),
      writer.write(insert('first')), // UNIQUE violation: fails too, on its own
      writer.write(insert('last')),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).to.deep.equal(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect(String((outcomes[1] as PromiseRejectedResult).reason)).to.include('constraint the caller violated');
    expect(String((outcomes[2] as PromiseRejectedResult).reason)).to.include('UNIQUE');
    expect(names()).to.deep.equal(['first', 'last']);
  });

  it('keeps writing after a failed batch', async () => {
    await writer.write(() => {
      throw new Error('bad write');
    }).catch(() => undefined);
    expect(await writer.write(insert('after'))).to.be.a('number');
    expect(names()).to.deep.equal(['after']);
  });

  it('applies only the newest latest-only write per key, after the ordinary writes of its batch', async () => {
    const applied: string[] = [];
    const note = (label: string) => (conn: Database.Database) => {
      applied.push(label);
      conn.prepare('UPDATE items SET note = ? WHERE name = ?').run(label, 'row');
    };
    writer.writeLatest('progress:row', note('older'));
    writer.writeLatest('progress:row', note('newer'));
    writer.writeLatest('progress:other', () => applied.push('other key'));
    // Queued after the latest-only writes, yet it must come first: they update the row it inserts.
    const inserted = writer.write((conn) => {
      applied.push('insert');
      return insert('row')(conn);
    });
    await inserted;
    await writer.flush();
    expect(applied).to.deep.equal(['insert', 'newer', 'other key']);
    expect(db.prepare('SELECT note FROM items WHERE name = ?').get('row')).to.deep.equal({ note: 'newer' });
    expect(writer.stats.commits).to.equal(1);
  });

  it('resolves flush only once what was queued is committed', async () => {
    let written = false;
    void writer.write(insert('queued')).then(() => (written = true));
    writer.writeLatest('k', (conn) => conn.prepare('UPDATE items SET note = ? WHERE name = ?').run('latest', 'queued'));
    await writer.flush();
    expect(written).to.equal(true);
    // A second connection sees the rows, so they are committed, not just applied.
    const reader = new Database(path.join(dir, 'writer.db'), { readonly: true });
    try {
      expect(reader.prepare('SELECT name, note FROM items').all()).to.deep.equal([{ name: 'queued', note: 'latest' }]);
    } finally {
      reader.close();
    }
  });

  it('resolves flush at once when nothing is queued', async () => {
    await writer.flush();
    expect(writer.stats.commits).to.equal(0);
  });

  it('waits maxDelayMs to gather a larger batch', async () => {
    writer = open({ maxDelayMs: 20 });
    const first = writer.write(insert('a'));
    await new Promise((resolve) => setImmediate(resolve));
    const second = writer.write(insert('b'));
    await Promise.all([first, second]);
    expect(writer.stats.commits).to.equal(1);
  });

  it('commits what is queued on close and rejects later writes', async () => {
    const queued = writer.write(insert('before close'));
    await writer.close();
    expect(await queued).to.equal(1);
    expect(writer.isOpen).to.equal(false);
    let error: unknown;
    await writer.write(insert('after close')).catch((caught: unknown) => (error = caught));
    expect(String(error)).to.include('writer is closed');
    writer.writeLatest('k', insert('latest after close'));
    await writer.flush();
    expect(names()).to.deep.equal(['before close']);
  });
});
