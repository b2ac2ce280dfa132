// file_polling_trigger: polls a folder and enqueues an event for each new, complete file (or one
// event per poll in batch mode). A file is complete once its size and mtime held still for one poll
// interval, so a file still being written is not picked up half-way. What was fired is remembered
// in memory (path + size + mtime) while the poller runs; with move_processed_files the file leaves
// the folder right after its event is durable, so nothing is remembered across restarts. Without
// moving, a restart with ignore_existing true takes the files present as already seen, and with
// ignore_existing false fires them again (that is what the option asks for).
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Json } from '../../workers/node-contract.js';
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../log.js';
import { buildBatchEvent, buildFileEvent, type FileFacts } from './file-payload.js';
import { parseFilePollConfig, type FilePollConfig } from './file-poll-config.js';
import { compilePattern, scanFolder, scanFolderSync, type ScanOptions, type ScannedFile } from './folder-scan.js';
import { moveWithoutOverwrite, planDestination } from './processed-move.js';
import type { TriggerEmit, TriggerSource } from './trigger-source.js';

/** What a file poller needs besides its config. */
export interface FilePollerDeps {
  clock: Clock;
  log: Logger;
  /** The daemon's data folder; a relative watch_folder is taken relative to it. */
  dataDir?: string;
  /** Fires already counted for this trigger (the registry may persist it); `execution_count` goes on from here. */
  executionCount?: number;
}

/** Builds the poller of one file_polling_trigger node; throws `invalid_trigger_config` (400) on a bad config. */
export function createFilePoller(config: Record<string, Json>, emit: TriggerEmit, deps: FilePollerDeps): TriggerSource {
  return new FilePoller(parseFilePollConfig(config, deps.dataDir), emit, deps);
}

/** Which kind of trouble a logged problem was; each kind is logged once until it clears. */
type ProblemKind = 'scan' | 'subfolder' | 'enqueue' | 'move' | 'poll';

const signatureOf = (file: ScannedFile): string => `${file.size}:${file.mtimeMs}`;

/** The polling loop of one watched folder. */
class FilePoller implements TriggerSource {
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private stopped = false;
  private polling: Promise<void> = Promise.resolve();
  /** Signature of every matching file at the previous poll: a file is stable when it is unchanged. */
  private previous = new Map<string, string>();
  /** Signature each file had when fired (or when found at start with ignore_existing). */
  private readonly fired = new Map<string, string>();
  private readonly problems = new Map<ProblemKind, string>();
  private readonly matches: (relativePath: string) => boolean;
  private executionCount: number;

  constructor(
    private readonly config: FilePollConfig,
    private readonly emit: TriggerEmit,
    private readonly deps: FilePollerDeps,
  ) {
    this.matches = compilePattern(config.filePattern);
    this.executionCount = deps.executionCount ?? 0;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const { watchFolder, filePattern, pollIntervalMs, triggerMode, recursive, moveProcessedFiles } = this.config;
    this.deps.log.info('file poller started', { watchFolder, filePattern, pollIntervalMs, triggerMode, recursive, moveProcessedFiles });
    if (this.config.ignoreExisting) this.takeExisting();
    this.scheduleNext(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.polling;
    if (this.started) this.deps.log.info('file poller stopped', { watchFolder: this.config.watchFolder });
  }

  /** One timer at a time, armed only after the previous poll ended: polls never overlap. */
  private scheduleNext(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      // Nothing a poll meets may crash the daemon; pollOnce handles what it expects, this the rest.
      this.polling = this.pollOnce().catch((err: unknown) => this.report('poll', 'file poll failed', err)).finally(() => {
        this.deps.log.debug('watch folder polled', { watchFolder: this.config.watchFolder });
        this.scheduleNext(this.config.pollIntervalMs);
      });
    }, delayMs);
    // A watch must never be what keeps the daemon alive.
    this.timer.unref();
  }

  private async pollOnce(): Promise<void> {
    const files = await this.scan();
    if (files === null) return;
    const current = new Map(files.map((file) => [file.path, signatureOf(file)]));
    const ready = files.filter((file) => this.previous.get(file.path) === signatureOf(file) && this.fired.get(file.path) !== signatureOf(file));
    // Forget files that left, so memory stays bounded and a file dropped again later fires again.
    for (const filePath of this.fired.keys()) if (!current.has(filePath)) this.fired.delete(filePath);
    this.previous = current;
    if (ready.length === 0) return;
    // Oldest first: the order the files were finished in.
    ready.sort((a, b) => a.mtimeMs - b.mtimeMs || a.relativePath.localeCompare(b.relativePath));
    if (this.config.triggerMode === 'batch') {
      await this.fire(ready);
      return;
    }
    for (const file of ready) {
      // A refusal (queue full) would refuse the rest too; they wait for the next poll.
      if (this.stopped || !(await this.fire([file]))) return;
    }
  }

  /**
   * Records the files there now as already fired (ignore_existing). Synchronous, so a file dropped
   * once start() returned (e.g. right after the monitoring API answered) is never taken for an old
   * one; the price is one blocking listing per arm. A folder unreadable now has nothing existing.
   */
  private takeExisting(): void {
    try {
      for (const file of scanFolderSync(this.config.watchFolder, this.scanOptions(() => {}), this.matches)) this.fired.set(file.path, signatureOf(file));
    } catch (err) {
      this.reportScanFailure(err);
    }
  }

  /** The matching files now, or null when the watch folder cannot be read (logged once per cause). */
  private async scan(): Promise<ScannedFile[] | null> {
    let subfolderTrouble = false;
    try {
      const files = await scanFolder(this.config.watchFolder, this.scanOptions(() => (subfolderTrouble = true)), this.matches);
      this.clear('scan');
      if (!subfolderTrouble) this.clear('subfolder');
      return files;
    } catch (err) {
      this.reportScanFailure(err);
      return null;
    }
  }

  private scanOptions(onTrouble: () => void): ScanOptions {
    return {
      recursive: this.config.recursive,
      pattern: this.config.filePattern,
      skipFolder: this.config.processedFolder,
      onFolderError: (folder, err) => {
        onTrouble();
        this.report('subfolder', 'file poller cannot read a sub-folder', err, { folder });
      },
    };
  }

  /** A missing folder is not fatal: it may be mounted or created later, and then it is watched. */
  private reportScanFailure(err: unknown): void {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    this.report('scan', missing ? 'watch folder missing' : 'file poller cannot read watch folder', err);
  }

  /** Enqueues one event for `files`; on success remembers them and moves them if configured. */
  private async fire(files: ScannedFile[]): Promise<boolean> {
    const nowMs = this.deps.clock.now();
    const facts: FileFacts[] = files.map((file) => ({ file, processedPath: this.config.moveProcessedFiles ? this.planMove(file, nowMs) : undefined }));
    const count = this.executionCount + 1;
    const eventData = this.config.triggerMode === 'batch' ? buildBatchEvent(facts, nowMs, count) : buildFileEvent(facts[0]!, nowMs, count);
    // The same file version must not sit in the queue twice (e.g. a quick restart with ignore_existing false).
    const dedupKey = `file:${createHash('sha256').update(files.map((file) => `${file.path}\0${signatureOf(file)}`).join('\0')).digest('hex')}`;
    let accepted: boolean;
    try {
      accepted = await this.emit(eventData, { dedupKey });
    } catch (err) {
      this.report('enqueue', 'file poller could not enqueue', err);
      return false;
    }
    // Refused (queue full): the registry logged and counted it; the files stay and are tried next poll.
    if (!accepted) return false;
    this.clear('enqueue');
    this.executionCount = count;
    this.deps.log.debug('file trigger fired', { watchFolder: this.config.watchFolder, files: files.length, executionCount: count });
    for (const fact of facts) {
      this.fired.set(fact.file.path, signatureOf(fact.file));
      if (fact.processedPath !== undefined) this.moveProcessed(fact.file, fact.processedPath, nowMs);
    }
    return true;
  }

  /** The processed folder mirrors the file's sub-folder below the watch folder. */
  private processedFolderOf(file: ScannedFile): string {
    return path.join(this.config.processedFolder, path.dirname(file.relativePath));
  }

  private planMove(file: ScannedFile, nowMs: number): string {
    return planDestination(this.processedFolderOf(file), file.name, nowMs);
  }

  /** Runs right after the event is durable; a failed move is logged and the file is not fired again. */
  private moveProcessed(file: ScannedFile, planned: string, nowMs: number): void {
    try {
      const moved = moveWithoutOverwrite(file.path, this.processedFolderOf(file), file.name, nowMs, planned);
      if (moved !== planned) this.deps.log.warn('processed file name taken meanwhile', { planned, moved });
      this.fired.delete(file.path);
      this.clear('move');
    } catch (err) {
      this.report('move', 'file poller could not move processed file', err, { file: file.path });
    }
  }

  /** Logs a problem unless the same one (same kind, code and message) was the last logged of its kind. */
  private report(kind: ProblemKind, message: string, err: unknown, fields: Record<string, unknown> = {}): void {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const text = err instanceof Error ? err.message : String(err);
    const key = `${message}\0${code ?? ''}\0${text}`;
    if (this.problems.get(kind) === key) return;
    this.problems.set(kind, key);
    this.deps.log.warn(message, { watchFolder: this.config.watchFolder, code, error: text, ...fields });
  }

  /** Forgets a kind of problem once it cleared, so it is logged again should it come back. */
  private clear(kind: ProblemKind): void {
    if (this.problems.delete(kind) && kind === 'scan') this.deps.log.info('watch folder readable', { watchFolder: this.config.watchFolder });
  }
}
