// The file poller against real temp folders, with a recording emit. Files are dropped or changed from
// inside the poller's own "polled" log line, i.e. between two polls, so what each poll sees is exact
// and no test sleeps or races the timer.
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import type { Json } from '../../workers/node-contract.js';
import { systemClock } from '../../src/domain/clock.js';
import type { Logger } from '../../src/log.js';
import { createFilePoller, type FilePollerDeps } from '../../src/triggers/file-poller.js';
import { moveWithoutOverwrite } from '../../src/triggers/processed-move.js';
import type { TriggerSource } from '../../src/triggers/trigger-source.js';
import { makeDataDir, waitFor } from '../helpers/daemon.js';

/** A poller under test, what it emitted and logged, and a way to act between two of its polls. */
class PollerProbe {
  readonly events: any[] = [];
  readonly emitCalls: any[] = [];
  readonly logged: Array<{ level: string; message: string; meta: any }> = [];
  polls = 0;
  /** What emit answers; a function may also hold the answer back. */
  answer: (eventData: Json) => boolean | Promise<boolean> = () => true;
  private readonly betweenPolls: Array<() => void> = [];
  poller!: TriggerSource;

  constructor(
    readonly folder: string,
    private readonly config: Record<string, Json>,
    private readonly extraDeps: Partial<FilePollerDeps> = {},
  ) {}

  start(): this {
    this.poller = createFilePoller({ watch_folder: this.folder, polling_interval: 0.1, ...this.config }, this.emit, {
      clock: systemClock,
      log: this.logger(),
      ...this.extraDeps,
    });
    this.poller.start();
    return this;
  }

  /** Runs `action` right after the next poll ends (before the next one can begin). */
  afterNextPoll(action: () => void): Promise<void> {
    return new Promise((resolve) => this.betweenPolls.push(() => (action(), resolve())));
  }

  /** Resolves once `count` more polls have ended. */
  async polled(count: number): Promise<void> {
    const target = this.polls + count;
    await waitFor(() => this.polls >= target, `${count} polls`, 10_000, 10);
  }

  messages(level: string): string[] {
    return this.logged.filter((entry) => entry.level === level).map((entry) => entry.message);
  }

  private readonly emit = async (eventData: Json) => {
    this.emitCalls.push(eventData);
    const accepted = await this.answer(eventData);
    if (accepted) this.events.push(eventData);
    return accepted;
  };

  private logger(): Logger {
    const record = (level: string) => (message: string, meta?: unknown) => {
      this.logged.push({ level, message, meta });
      if (message === 'watch folder polled') {
        this.polls += 1;
        for (const action of this.betweenPolls.splice(0)) action();
      }
    };
    return { error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug') } as unknown as Logger;
  }
}

const probes: PollerProbe[] = [];

function watch(config: Record<string, Json> = {}, extraDeps: Partial<FilePollerDeps> = {}, folder = makeDataDir('watch')): PollerProbe {
  const probe = new PollerProbe(folder, config, extraDeps);
  probes.push(probe);
  return probe;
}

const names = (probe: PollerProbe) => probe.events.map((event) => event.file_name);

describe('file poller', function () {
  afterEach(async () => {
    await Promise.all(probes.splice(0).map((probe) => probe.poller?.stop()));
  });

  it('ignores files already there at start and fires a new one once, with its metadata', async () => {
    const probe = watch({}, { executionCount: 41 });
    fs.writeFileSync(path.join(probe.folder, 'old.csv'), 'a,b\n');
    probe.start();
    await probe.afterNextPoll(() => fs.writeFileSync(path.join(probe.folder, 'new.csv'), 'x,y\n1,2\n'));
    await waitFor(() => probe.events.length === 1, 'the new file to fire');
    await probe.polled(3);
    expect(names(probe)).to.deep.equal(['new.csv']);
    const event = probe.events[0];
    expect(event).to.include({ source: 'file_polling', execution_count: 42, file_name: 'new.csv' });
    expect(Date.parse(event.triggered_at)).to.be.closeTo(Date.now(), 60_000);
    expect(event.file).to.include({ path: path.join(probe.folder, 'new.csv'), name: 'new.csv', size: 8, extension: '.csv', mime_type: 'text/csv' });
    expect(event.file.modified_at).to.equal(fs.statSync(path.join(probe.folder, 'new.csv')).mtime.toISOString());
  });

  it('takes a file dropped right after start() for a new one', async () => {
    const probe = watch();
    fs.writeFileSync(path.join(probe.folder, 'old.csv'), 'a');
    probe.start();
    // Before the first poll could run: "existing" is what was there when start() returned.
    fs.writeFileSync(path.join(probe.folder, 'just-after.csv'), 'b');
    await waitFor(() => probe.events.length === 1, 'the file dropped after start to fire');
    await probe.polled(3);
    expect(names(probe)).to.deep.equal(['just-after.csv']);
  });

  it('fires files already there when ignore_existing is false', async () => {
    const probe = watch({ ignore_existing: false });
    fs.writeFileSync(path.join(probe.folder, 'old.csv'), 'a\n');
    probe.start();
    await waitFor(() => probe.events.length === 1, 'the existing file to fire');
    await probe.polled(3);
    expect(names(probe)).to.deep.equal(['old.csv']);
  });

  it('fires only files matching the pattern, and looks into sub-folders only when recursive', async () => {
    const flat = watch({ file_pattern: '*.csv' }).start();
    const deep = watch({ file_pattern: '*.csv', recursive: true }).start();
    for (const probe of [flat, deep]) {
      await probe.afterNextPoll(() => {
        fs.mkdirSync(path.join(probe.folder, 'sub'));
        fs.writeFileSync(path.join(probe.folder, 'notes.txt'), 'text');
        fs.writeFileSync(path.join(probe.folder, 'top.csv'), 'a');
        fs.writeFileSync(path.join(probe.folder, 'sub', 'deep.csv'), 'b');
      });
    }
    await waitFor(() => flat.events.length === 1 && deep.events.length === 2, 'the matching files to fire');
    await Promise.all([flat.polled(3), deep.polled(3)]);
    expect(names(flat)).to.deep.equal(['top.csv']);
    expect(names(deep).sort()).to.deep.equal(['deep.csv', 'top.csv']);
    expect(deep.events.find((event) => event.file_name === 'deep.csv').file.relative_path).to.equal('sub/deep.csv');
  });

  it('fires one event per poll with every new file in batch mode', async () => {
    const probe = watch({ trigger_mode: 'batch' }).start();
    await probe.afterNextPoll(() => {
      for (const name of ['a.csv', 'b.csv', 'c.csv']) fs.writeFileSync(path.join(probe.folder, name), name);
    });
    await waitFor(() => probe.events.length === 1, 'the batch to fire');
    await probe.polled(3);
    expect(probe.events).to.have.length(1);
    const event = probe.events[0];
    expect(event).to.include({ source: 'file_polling', execution_count: 1, file_count: 3 });
    expect(event.files.map((file: any) => file.name).sort()).to.deep.equal(['a.csv', 'b.csv', 'c.csv']);
  });

  it('waits until a file stops growing, then fires it once at its final size', async () => {
    const probe = watch().start();
    const file = path.join(probe.folder, 'growing.csv');
    // Grows between every two polls for five polls: never stable, so never fired meanwhile.
    for (let i = 0; i < 5; i++) await probe.afterNextPoll(() => fs.appendFileSync(file, 'row\n'));
    expect(probe.events).to.have.length(0);
    await waitFor(() => probe.events.length === 1, 'the finished file to fire');
    await probe.polled(3);
    expect(probe.events).to.have.length(1);
    expect(probe.events[0].file.size).to.equal(20);
  });

  it('fires a file again when it changes after it was fired', async () => {
    const probe = watch().start();
    const file = path.join(probe.folder, 'report.csv');
    await probe.afterNextPoll(() => fs.writeFileSync(file, 'v1'));
    await waitFor(() => probe.events.length === 1, 'the first version to fire');
    await probe.afterNextPoll(() => fs.writeFileSync(file, 'version 2'));
    await waitFor(() => probe.events.length === 2, 'the second version to fire');
    expect(probe.events.map((event) => event.file.size)).to.deep.equal([2, 9]);
    expect(probe.events.map((event) => event.execution_count)).to.deep.equal([1, 2]);
  });

  it('moves a fired file to the processed folder under a free name, never overwriting', async () => {
    const probe = watch({ move_processed_files: true, recursive: true });
    const processed = `${probe.folder}_processed`;
    fs.mkdirSync(processed);
    fs.writeFileSync(path.join(processed, 'report.csv'), 'earlier');
    fs.writeFileSync(path.join(processed, 'report (1).csv'), 'earlier 1');
    probe.start();
    await probe.afterNextPoll(() => {
      fs.writeFileSync(path.join(probe.folder, 'report.csv'), 'latest');
      fs.mkdirSync(path.join(probe.folder, 'sub'));
      fs.writeFileSync(path.join(probe.folder, 'sub', 'report.csv'), 'nested');
    });
    await waitFor(() => probe.events.length === 2, 'both files to fire');
    await probe.polled(3);
    const top = probe.events.find((event) => event.file.relative_path === 'report.csv');
    expect(top.file.path).to.equal(path.join(processed, 'report (2).csv'));
    expect(top.file.original_path).to.equal(path.join(probe.folder, 'report.csv'));
    expect(fs.readFileSync(path.join(processed, 'report.csv'), 'utf8')).to.equal('earlier');
    expect(fs.readFileSync(path.join(processed, 'report (1).csv'), 'utf8')).to.equal('earlier 1');
    expect(fs.readFileSync(path.join(processed, 'report (2).csv'), 'utf8')).to.equal('latest');
    expect(fs.readFileSync(path.join(processed, 'sub', 'report.csv'), 'utf8')).to.equal('nested');
    expect(fs.existsSync(path.join(probe.folder, 'report.csv'))).to.equal(false);
    expect(fs.existsSync(path.join(probe.folder, 'sub', 'report.csv'))).to.equal(false);
    expect(probe.events).to.have.length(2);
  });

  it('falls back to a timestamped name once the numbered names are all taken', () => {
    const folder = makeDataDir('processed');
    const source = path.join(makeDataDir('inbox'), 'data.csv');
    fs.writeFileSync(source, 'new');
    fs.writeFileSync(path.join(folder, 'data.csv'), 'old');
    for (let n = 1; n <= 99; n++) fs.writeFileSync(path.join(folder, `data (${n}).csv`), 'old');
    const nowMs = Date.parse('2025-01-02T03:04:05.678Z');
    const moved = moveWithoutOverwrite(source, folder, 'data.csv', nowMs);
    expect(path.basename(moved)).to.equal('data (2025-01-02T03-04-05-678Z).csv');
    expect(fs.readFileSync(moved, 'utf8')).to.equal('new');
    expect(fs.existsSync(source)).to.equal(false);
    // Taken as well (a second file in the same millisecond): a random tail keeps the names apart.
    fs.writeFileSync(source, 'newer');
    const again = moveWithoutOverwrite(source, folder, 'data.csv', nowMs);
    expect(path.basename(again)).to.match(/^data \(2025-01-02T03-04-05-678Z-[0-9a-f]{8}\)\.csv$/);
    expect(fs.readFileSync(moved, 'utf8')).to.equal('new');
  });

  it('leaves a refused file in place and fires it on a later poll', async () => {
    const probe = watch({ move_processed_files: true });
    let refusals = 3;
    probe.answer = () => refusals-- <= 0;
    probe.start();
    await probe.afterNextPoll(() => fs.writeFileSync(path.join(probe.folder, 'queued.csv'), 'x'));
    await waitFor(() => probe.emitCalls.length >= 2, 'a second attempt');
    expect(fs.existsSync(path.join(probe.folder, 'queued.csv'))).to.equal(true);
    await waitFor(() => probe.events.length === 1, 'the file to be accepted');
    await probe.polled(3);
    expect(probe.emitCalls).to.have.length(4);
    expect(probe.events).to.have.length(1);
    // A refused event is not a fire: the count goes on from the accepted ones.
    expect(probe.events[0].execution_count).to.equal(1);
    expect(fs.existsSync(path.join(probe.folder, 'queued.csv'))).to.equal(false);
    expect(fs.existsSync(path.join(`${probe.folder}_processed`, 'queued.csv'))).to.equal(true);
  });

  it('stop() waits for the poll in progress and then polls no more', async () => {
    const probe = watch({ move_processed_files: true });
    let release!: (accepted: boolean) => void;
    probe.answer = () => new Promise<boolean>((resolve) => (release = resolve));
    probe.start();
    await probe.afterNextPoll(() => fs.writeFileSync(path.join(probe.folder, 'slow.csv'), 'x'));
    await waitFor(() => probe.emitCalls.length === 1, 'the emit to begin');
    let stopped = false;
    const stopping = probe.poller.stop().then(() => (stopped = true));
    // The emit is still out: stop must not resolve before it.
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).to.equal(false);
    release(true);
    await stopping;
    expect(fs.existsSync(path.join(`${probe.folder}_processed`, 'slow.csv'))).to.equal(true);
    const pollsAtStop = probe.polls;
    fs.writeFileSync(path.join(probe.folder, 'after-stop.csv'), 'y');
    // Another poller on the same interval is the clock: after it polled a few times, the stopped one must not have.
    const witness = watch().start();
    await witness.polled(4);
    expect(probe.polls).to.equal(pollsAtStop);
    expect(probe.emitCalls).to.have.length(1);
  });

  it('logs a missing folder once and watches it once it appears', async () => {
    const parent = makeDataDir('watch-parent');
    const probe = watch({}, {}, path.join(parent, 'later')).start();
    await probe.polled(4);
    expect(probe.messages('warn')).to.deep.equal(['watch folder missing']);
    await probe.afterNextPoll(() => fs.mkdirSync(probe.folder));
    await probe.afterNextPoll(() => fs.writeFileSync(path.join(probe.folder, 'first.csv'), 'x'));
    await waitFor(() => probe.events.length === 1, 'the file in the new folder to fire');
    expect(probe.messages('info')).to.include('watch folder readable');
  });

  it('takes a relative watch folder inside the data folder', async () => {
    const dataDir = makeDataDir('data');
    fs.mkdirSync(path.join(dataDir, 'inbox'));
    const probe = watch({ watch_folder: 'inbox' }, { dataDir }, path.join(dataDir, 'inbox')).start();
    await probe.afterNextPoll(() => fs.writeFileSync(path.join(dataDir, 'inbox', 'in.json'), '{}'));
    await waitFor(() => probe.events.length === 1, 'the file to fire');
    expect(probe.events[0].file).to.include({ path: path.join(dataDir, 'inbox', 'in.json'), mime_type: 'application/json' });
  });

  it('refuses a config without a watch folder or with a bad value, listing the problems', () => {
    const emit = async () => true;
    const deps = { clock: systemClock, log: {} as Logger };
    const attempt = (config: Record<string, Json>) => {
      try {
        createFilePoller(config, emit, deps);
      } catch (err) {
        return err as any;
      }
      throw new Error('expected a config error');
    };
    const missing = attempt({});
    expect(missing.code).to.equal('invalid_trigger_config');
    expect(missing.status).to.equal(400);
    const bad = attempt({ watch_folder: '/tmp/x', polling_interval: 0, trigger_mode: 'sometimes', processed_folder_suffix: '/../y' });
    expect(bad.details.map((detail: any) => detail.path).sort()).to.deep.equal(['polling_interval', 'processed_folder_suffix', 'trigger_mode']);
    expect(attempt({ watch_folder: 'relative' }).code).to.equal('invalid_trigger_config');
  });
});
