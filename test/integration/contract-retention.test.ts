// The store contract, retention part: runRetention (src/maintenance/retention.ts) over store.retention(),
// on SQLite and PostgreSQL alike (test/helpers/contract.ts). Every row is made through the port as a
// daemon makes it (runs claimed and finished, node records, questions, state, audit, uploads) while the
// fake clock stands at an old day; then the clock moves on and retention runs. Held: finished executions
// beyond the newest `keep` per workflow go with every row of theirs; each table's rows go once past their
// age; live work (running, waiting to retry, paused, re-queued) keeps everything however old; deletes
// respect their batch limit; a dry run counts exactly what a run removes. The finders and deletes row by
// row, and another daemon holding a row meanwhile, are pg-retention.test.ts.
import { expect } from 'chai';
import type { ClaimedEvent } from '../../src/domain/event.js';
import type { ExecutionStatus, PayloadLimits } from '../../src/domain/execution.js';
import { createLogger } from '../../src/log.js';
import { cutoffsAt, runRetention, type RetentionDeps, type RetentionReport } from '../../src/maintenance/retention.js';
import type { RetentionSettings } from '../../src/maintenance/retention-settings.js';
import type { OpenedStore } from '../../src/store/open-store.js';
import type { FileRecord } from '../../src/store/file-store.js';
import { forEachBackend, sortKeyAt } from '../helpers/contract.js';
import { openQuestion, runFinish } from '../helpers/queue-backends.js';

const dayMs = 86_400_000;
// Outputs over 64 bytes are kept in a result file, so retention has files to remove too.
const limits: PayloadLimits = { maxChars: 1_000, inlineMaxBytes: 64 };
const log = createLogger('error', { silent: true });

/** Retention's limits: 30 days of results and uploads, 7 of events, 90 of audit, 1000 runs per workflow. */
function settingsWith(overrides: Partial<RetentionSettings>): RetentionSettings {
  const ages = { resultStorageMs: 30 * dayMs, eventRetentionMs: 7 * dayMs, auditRetentionMs: 90 * dayMs, uploadStorageMs: 30 * dayMs, tempFileMaxAgeMs: dayMs };
  return { autoCleanup: false, cleanupIntervalMs: 3_600_000, maxExecutionHistory: 1_000, uploadDir: 'uploads', ...ages, ...overrides };
}

forEachBackend('store contract: retention', (backend) => {
  const { clock } = backend;
  let store: OpenedStore;
  let uploadsRemoved: string[];

  beforeEach(function () {
    store = backend.store;
    uploadsRemoved = [];
  });

  /** One retention run through store.retention(), as the leader's maintenance runs it. */
  async function retain(overrides: Partial<RetentionSettings>, options: { dryRun?: boolean; batchSize?: number } = {}): Promise<RetentionReport> {
    // Audit rows and node starts are queued without waiting: flushed, so retention sees them.
    await store.flush();
    const deps: RetentionDeps = {
      store: store.retention(),
      settings: async () => settingsWith(overrides),
      // Uploads' bytes are the file storage's, not the store's: the run only names them.
      removeUpload: async (filePath) => {
        uploadsRemoved.push(filePath);
      },
      tempFolders: () => [],
      clock,
      log,
      batchSize: options.batchSize,
    };
    return runRetention(deps, { dryRun: options.dryRun ?? false });
  }

  /** A node's records on a running execution: a start and an outcome log, one output (a file when `big`), a loop pass. */
  async function recordNode(executionId: string, workflowId: string, big = false): Promise<void> {
    store.recordNodeStarted(executionId, 'work', 'text_input', 1);
    store.recordIterationStarted(executionId, 'loop', 0, 'first');
    store.recordIterationFinished(executionId, 'loop', 0, 'completed', { ok: true }, null);
    const text = big ? 'x'.repeat(500) : 'x';
    await store.recordNodeOutcome({ executionId, workflowId, nodeId: 'work', nodeType: 'text_input', attempt: 1, startedAtMs: clock.now(), durationMs: 1, outputs: { text }, error: null }, limits);
    await store.flush();
  }

  /** A run claimed a second after the last one, with a node's records, finished as `status`. */
  async function finishedRun(workflowId: string, options: { status?: ExecutionStatus; big?: boolean; questionFor?: number } = {}): Promise<ClaimedEvent> {
    clock.at += 1_000;
    const claimed = await backend.startRun(workflowId);
    await recordNode(claimed.executionId, workflowId, options.big);
    if (options.questionFor !== undefined) await openQuestion(store, workflowId, claimed.executionId, clock.now() + options.questionFor);
    const status = options.status ?? 'completed';
    const event = status === 'failed' ? { kind: 'failed' as const, error: 'boom' } : { kind: 'completed' as const };
    expect(await store.finishRun(runFinish(claimed, { executionStatus: status, event }))).to.equal(true);
    return claimed;
  }

  /** Everything the port shows of an execution, to compare before and after a run. */
  async function recordsOf(claimed: ClaimedEvent) {
    const { executionId } = claimed;
    const [execution, results, logs, iterations, questions, event] = await Promise.all([
      store.getExecution(executionId),
      store.listResults(executionId),
      store.listLogs(executionId, 1_000),
      store.listIterations(executionId),
      store.listInteractions({ executionId, limit: 100 }),
      store.getEvent(claimed.id),
    ]);
    return { execution, results, logs, iterations, questions, event };
  }

  /** How many rows of each execution table the runs have. */
  async function rowCounts(runs: ClaimedEvent[]) {
    const records = await Promise.all(runs.map(recordsOf));
    const sum = (pick: (one: Awaited<ReturnType<typeof recordsOf>>) => unknown[]) => records.reduce((total, one) => total + pick(one).length, 0);
    return { execution_results: sum((one) => one.results), execution_logs: sum((one) => one.logs), execution_iterations: sum((one) => one.iterations) };
  }

  async function file(workflowId: string, executionId: string | null, name: string): Promise<FileRecord> {
    const created = await store.createFile({ workflowId, executionId, originalFilename: name, storedFilename: name, filePath: `uploads/${name}`, fileType: 'text', mimeType: 'text/plain', sizeBytes: 1, metadata: {} });
    if (typeof created === 'string') expect.fail(`file not created: ${created}`);
    return created;
  }

  function audit(action: string): void {
    store.recordAudit({ userId: null, apiKeyId: null, action, resourceType: null, resourceId: null, ipAddress: null, userAgent: null, statusCode: 200, errorCode: null, errorMessage: null, details: {}, requestId: null });
  }

  it('deletes finished executions beyond the newest `keep` of each workflow, with every row and result file of theirs', async function () {
    const busy = await backend.createWorkflow();
    const quiet = await backend.createWorkflow();
    const runs: ClaimedEvent[] = [];
    for (let i = 0; i < 5; i++) runs.push(await finishedRun(busy, { status: i === 1 ? 'failed' : 'completed', big: true }));
    const quietRuns = [await finishedRun(quiet), await finishedRun(quiet)];
    const surplus = runs.slice(0, 3);
    expect(await store.retention().findSurplusExecutions(2)).to.deep.equal(surplus.map((run) => run.executionId).sort());
    const counts = await rowCounts(surplus);

    const report = await retain({ maxExecutionHistory: 2 });
    expect(report.tables).to.deep.equal({ executions: 3, ...counts, email_interactions: 0, workflow_state: 0, event_queue: 0, audit_logs: 0, files: 0 });
    expect(report.disk).to.deep.equal({ result_files: 3, upload_files: 0, temp_files: 0 });
    for (const run of surplus) {
      const left = await recordsOf(run);
      expect(left).to.deep.include({ execution: null, results: [], logs: [], iterations: [] });
      // The event stays, unlinked, until it ages out itself.
      expect(left.event).to.include({ status: run === runs[1] ? 'failed' : 'completed', executionId: null });
    }
    for (const run of [...runs.slice(3), ...quietRuns]) expect((await recordsOf(run)).results, 'a kept run keeps its results').to.have.length(1);
    expect((await retain({ maxExecutionHistory: 2 })).total_rows).to.equal(0);
  });

  it('never touches live work, however old: running, retry-waiting, paused and re-queued executions keep every row', async function () {
    const wf = await backend.createWorkflow();
    const done = await finishedRun(wf);
    const running = await backend.startRun(wf);
    await recordNode(running.executionId, wf);
    const retrying = await backend.startRun(wf);
    await recordNode(retrying.executionId, wf);
    await store.finishRun(runFinish(retrying, { executionStatus: 'pending', errorMessage: 'boom', event: { kind: 'retry', runAt: clock.now() + 1_000 * dayMs, error: 'boom' } }));
    const paused = await backend.startRun(wf);
    await recordNode(paused.executionId, wf);
    // Its question expires in an hour: long past when retention runs, and still not due, as its run is live.
    await backend.openQuestion(wf, paused.executionId);
    await store.finishRun(runFinish(paused, { executionStatus: 'paused', event: { kind: 'paused' } }));
    const requeued = await finishedRun(wf, { status: 'failed' });
    expect(await store.requeueExecution(requeued.executionId, sortKeyAt)).to.equal(true);
    const live = [running, retrying, paused, requeued];
    const before = await Promise.all(live.map(recordsOf));
    const doneCounts = await rowCounts([done]);
    clock.at += 100 * dayMs;

    // keep 1: every live run ranks beyond it, and is still never taken; the one finished run is.
    const report = await retain({ maxExecutionHistory: 1 });
    expect(report.tables).to.deep.equal({ executions: 1, ...doneCounts, email_interactions: 0, workflow_state: 0, event_queue: 1, audit_logs: 0, files: 0 });
    expect(await Promise.all(live.map(recordsOf))).to.deep.equal(before);
    expect(before.map((one) => one.execution!.status)).to.deep.equal(['running', 'pending', 'paused', 'pending']);
    expect(await store.getEvent(done.id)).to.equal(null);
  });

  it('ages out the rows of each table past its cutoff, and keeps the newer ones', async function () {
    const wf = await backend.createWorkflow();
    // Day 0: rows of every kind, of finished runs or of none.
    const old = await finishedRun(wf);
    const openQuestionRun = await finishedRun(wf, { questionFor: 200 * dayMs });
    const expiredQuestionRun = await finishedRun(wf, { questionFor: 3_600_000 });
    clock.at += 1_000;
    const asked = await backend.startRun(wf);
    const question = await backend.openQuestion(wf, asked.executionId);
    await store.finishRun(runFinish(asked, { executionStatus: 'paused', event: { kind: 'paused' } }));
    expect((await store.answerInteraction({ interactionId: question, tokenHash: null, action: 'approve', editedDraft: undefined }, sortKeyAt)).kind).to.equal('answered');
    const resumed = await backend.claimOne();
    await store.finishRun(runFinish(resumed));
    const dayZeroRuns = [old, openQuestionRun, expiredQuestionRun, asked];
    const state = (key: string, expiresInSeconds: number | null) =>
      store.runStateNode({ kind: 'set', workflowId: wf, namespace: 'default', key, value: 1, expiresInSeconds }, { executionId: old.executionId, workflowId: wf, nodeId: 'set', nodeType: 'state_set', attempt: 1, startedAtMs: clock.now() }, limits);
    await state('expired', 86_400);
    await state('expiring-later', 1_000 * 86_400);
    await state('forever', null);
    const cancelled = await backend.enqueue(wf);
    await store.cancelPendingEvent(cancelled.event.id);
    audit('audit-old');
    await file(wf, null, 'orphan');
    await file(wf, old.executionId, 'attached');
    const counts = await rowCounts(dayZeroRuns);
    clock.at += 60 * dayMs;
    audit('audit-mid');
    clock.at += 35 * dayMs;
    const recent = await finishedRun(wf);
    const recentFile = await file(wf, null, 'recent');
    audit('audit-new');
    clock.at += 5 * dayMs;

    const report = await retain({});
    expect(report.tables).to.deep.equal({ executions: 0, ...counts, email_interactions: 2, workflow_state: 1, event_queue: dayZeroRuns.length + 1, audit_logs: 1, files: 2 });
    expect(uploadsRemoved.sort()).to.deep.equal(['uploads/attached', 'uploads/orphan']);
    for (const run of dayZeroRuns) {
      const left = await recordsOf(run);
      expect(left).to.deep.include({ results: [], logs: [], iterations: [], event: null });
      expect(left.execution, 'executions go by history, never by age').to.not.equal(null);
    }
    expect((await recordsOf(recent)).results).to.have.length(1);
    expect((await recordsOf(recent)).event).to.include({ status: 'completed' });
    const questionsLeft = await store.listInteractions({ workflowId: wf, limit: 10 });
    expect(questionsLeft.map((one) => one.interaction.execution_id)).to.deep.equal([openQuestionRun.executionId]);
    expect(await store.retention().findAged('workflow_state', cutoffsAt(clock.now(), settingsWith({})), 0, 1_000)).to.deep.equal([]);
    expect((await store.listAuditLogs({ limit: 10 })).map((row) => row.action)).to.deep.equal(['audit-new', 'audit-mid']);
    expect((await store.listFiles({ limit: 10 })).map((row) => row.id)).to.deep.equal([recentFile.id]);
    expect(await store.getEvent(cancelled.event.id)).to.equal(null);
  });

  it('deletes at most `limit` rows of executions per call, and none of a live one', async function () {
    const wf = await backend.createWorkflow();
    const done = [await finishedRun(wf), await finishedRun(wf), await finishedRun(wf)];
    const live = await backend.startRun(wf);
    await recordNode(live.executionId, wf);
    const ids = [...done, live].map((run) => run.executionId);
    const doneLogs = (await rowCounts(done)).execution_logs;
    const liveBefore = await recordsOf(live);
    const retention = store.retention();
    expect(await retention.countExecutionRows('execution_logs', ids)).to.deep.equal({ rows: doneLogs + liveBefore.logs.length, files: 0 });
    const batches: number[] = [];
    for (;;) {
      const { deleted } = await retention.deleteExecutionRows('execution_logs', ids, 4);
      batches.push(deleted);
      if (deleted < 4) break;
    }
    expect(batches.every((n) => n <= 4), `batches ${batches}`).to.equal(true);
    expect(batches.reduce((sum, n) => sum + n, 0)).to.equal(doneLogs);
    expect(batches.length).to.equal(Math.floor(doneLogs / 4) + 1);
    expect((await retention.deleteExecutions(ids)).sort()).to.deep.equal(done.map((run) => run.executionId).sort());
    expect(await recordsOf(live)).to.deep.equal(liveBefore);
  });

  it('removes in batches of two exactly what a dry run counted, and the dry run changes nothing', async function () {
    const wf = await backend.createWorkflow();
    const runs: ClaimedEvent[] = [];
    for (let i = 0; i < 4; i++) runs.push(await finishedRun(wf, { big: i % 2 === 0 }));
    for (const action of ['a', 'b', 'c']) audit(action);
    await file(wf, null, 'one');
    await file(wf, null, 'two');
    clock.at += 100 * dayMs;
    const before = await Promise.all(runs.map(recordsOf));

    const dry = await retain({ maxExecutionHistory: 1 }, { dryRun: true });
    expect(dry).to.include({ dry_run: true, interrupted: false });
    expect(dry.tables).to.include({ executions: 3, audit_logs: 3, files: 2, event_queue: 4 });
    expect(await Promise.all(runs.map(recordsOf))).to.deep.equal(before);
    expect(await store.listAuditLogs({ limit: 10 })).to.have.length(3);
    expect(uploadsRemoved).to.deep.equal([]);

    const removed = await retain({ maxExecutionHistory: 1 }, { batchSize: 2 });
    expect({ tables: removed.tables, disk: removed.disk }).to.deep.equal({ tables: dry.tables, disk: dry.disk });
    expect((await retain({ maxExecutionHistory: 1 }, { dryRun: true })).total_rows).to.equal(0);
  });
});
