// Composition root: config → lock → migrate → open store → rescue orphans → pool → API listen →
// dispatcher → ready. stop() drains in the reverse order. On PostgreSQL (TAV_DATABASE_URL) the daemon
// is one of a fleet: no lock file, leases kept alive by a heartbeat, maintenance on the elected leader
// only, and wake-ups and cache invalidations passed to the others by NOTIFY (service/fleet.ts).
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import http from 'node:http';
import { hostname } from 'node:os';
import type { Readiness } from './api/api-deps.js';
import { createApp } from './api/app.js';
import { ensureAdminKey } from './auth/bootstrap-key.js';
import { openCredentialVault } from './auth/credential-vault.js';
import { loadKeyring } from './auth/encryption-keys.js';
import type { Config } from './config.js';
import { systemClock, type Clock } from './domain/clock.js';
import { CompletionWaiter } from './engine/completion-waiter.js';
import { ExecutionStream } from './engine/execution-stream.js';
import { observeAll } from './domain/run-event.js';
import { SettingsCache } from './engine/engine-settings.js';
import { catalogWithPlugins } from './engine/node-catalog.js';
import { Runner } from './engine/runner.js';
import { withFileReferences } from './engine/node-files.js';
import { FileLibrary } from './files/file-library.js';
import { FileStorage } from './files/file-storage.js';
import { WorkflowCache } from './engine/workflow-cache.js';
import type { Logger } from './log.js';
import { Metrics } from './observability/metrics.js';
import { Dispatcher } from './queue/dispatcher.js';
import { createEnqueuer } from './queue/enqueue.js';
import { NodePool } from './queue/pool.js';
import { openDaemonStore, type StoreHandle } from './store/open-store.js';
import { DatabaseHealth } from './service/database-health.js';
import { joinFleet } from './service/fleet-member.js';
import { createApprovalService } from './engine/approval-service.js';
import { startSystemdService } from './service/systemd-service.js';
import { stallAfterMsFor } from './service/progress-monitor.js';
import { wedgeableClaim } from './service/test-wedge.js';
import { createTriggers } from './triggers/triggers-service.js';
import { createRetentionScheduler } from './maintenance/retention-service.js';
import { createBackupService, refusingBackups } from './maintenance/backup-service.js';

/** A running daemon. */
export interface Daemon {
  port: number;
  /** Drains and stops; `force` hands running work back at once instead of waiting for the grace period. */
  stop(options?: { force?: boolean }): Promise<void>;
  readiness(): Readiness;
}

// The settings table may be changed by another process (a `tav` command): re-read it this often.
const settingsReloadMs = 5_000;

/** Starts the daemon on the configured store (SQLite file or PostgreSQL) and port. */
export async function startDaemon(config: Config, log: Logger, clock: Clock = systemClock): Promise<Daemon> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  // Told by the store before the pieces that react exist; they are wired in as they are built.
  const hooks = { committed: (_size: number, _ms: number) => {}, enqueued: () => {}, connectionLost: (_error: unknown) => {} };
  const handle = await openDaemonStore(config, log, clock, {
    onCommit: (size, ms) => hooks.committed(size, ms),
    onEnqueued: () => hooks.enqueued(),
    onConnectionLost: (error) => hooks.connectionLost(error),
  });
  try {
    return await assemble(config, log, clock, handle, hooks);
  } catch (error) {
    await handle.store.close().catch(() => undefined);
    handle.release();
    throw error;
  }
}

type StoreReactions = { committed(size: number, ms: number): void; enqueued(): void; connectionLost(error: unknown): void };

async function assemble(config: Config, log: Logger, clock: Clock, handle: StoreHandle, hooks: StoreReactions): Promise<Daemon> {
  const { store, pg } = handle;
  // First: a key file that must be fixed (mode, content) stops the start before anything opens.
  const keyring = loadKeyring({ envKey: config.encryptionKey, keyFile: config.encryptionKeyFile });
  if (pg && config.encryptionKey === null) {
    log.warn('on a shared PostgreSQL database every daemon must seal credentials with the same key: set TAV_ENCRYPTION_KEY on each (this daemon uses its own key file)', { keyFile: config.encryptionKeyFile });
  }
  // The gauges read the store, pool and dispatcher at scrape time, after all are built.
  const metrics: Metrics = new Metrics({
    queueDepth: () => store.queueDepth(),
    nowMs: () => clock.now(),
    pool: () => pool.stats,
    inFlight: (): number => dispatcher.inFlightCount,
  });
  hooks.committed = (size, ms) => metrics.committed(size, ms);
  const database = pg ? new DatabaseHealth(pg.db, log.child({ component: 'database' })) : null;
  hooks.connectionLost = (error) => database?.markLost(error);
  database?.start();
  const rescued = await store.rescueOrphans();
  if (rescued.requeued > 0) log.info('events left processing by a previous process returned to the queue', { rescued: rescued.requeued });
  if (rescued.failed > 0) log.error('events failed: the daemon stopped during every attempt of each', { failed: rescued.failed });
  await ensureAdminKey(store, config.adminKeyFile, log);
  const credentials = await openCredentialVault(keyring, store, clock, log.child({ component: 'credentials' }));

  const settings = await SettingsCache.open(() => store.loadSettings());
  const settingsTimer = setInterval(() => {
    settings.reload().catch((error: unknown) => log.warn('settings not re-read', { error: String(error) }));
  }, settingsReloadMs).unref();
  const catalog = await catalogWithPlugins(config.enableTestNodes, config.pluginDir);
  for (const problem of catalog.problems) log.warn('plug-in not loaded', problem);
  const workflows = new WorkflowCache(store, catalog);
  const fileStorage = new FileStorage({ dataDir: config.dataDir, uploadDir: () => settings.value.uploadDir, log: log.child({ component: 'files' }) });
  const abandoned = await fileStorage.clearIncoming();
  if (abandoned > 0) log.info('half-written uploads of a previous process removed', { abandoned });
  const pool = new NodePool({ threads: config.workers, enableTestNodes: config.enableTestNodes, dataDir: config.dataDir, pluginDir: fs.existsSync(config.pluginDir) ? config.pluginDir : undefined, memoryLimitMb: settings.value.memoryLimitMb, log: log.child({ component: 'pool' }) });
  const completions = new CompletionWaiter();
  const executionStream = new ExecutionStream();
  const approvals = createApprovalService({ store, credentials, priorityAgingMs: () => settings.value.priorityAgingMs, wake: () => dispatcher.wake(), clock, log: log.child({ component: 'approvals' }) });
  const runner = new Runner({
    approvals: approvals.nodes,
    store,
    workflows,
    runNode: withFileReferences((task, options) => pool.run(task, options), store),
    credentials,
    settings: () => settings.value,
    clock,
    log: log.child({ component: 'runner' }),
    onFinished: (eventId, _executionId, status) => completions.notify(eventId, status),
    onAttemptFinished: (outcome, status, durationMs) => metrics.attemptFinished(outcome, status, durationMs),
    observer: observeAll([metrics, executionStream]),
    onRetryScheduled: (runAt) => dispatcher.wakeAt(runAt),
  });
  const owner = `${hostname()}:${process.pid}`;
  const dispatcher = new Dispatcher({
    // On a fleet the global limit is counted in the database across every daemon.
    claim: wedgeableClaim(config.enableTestNodes, (limit) => store.claim(limit, owner, config.leaseMs, settings.value.maxConcurrentRunsPerWorkflow, pg ? settings.value.maxConcurrentRunsGlobal : undefined), log),
    run: (event, stopSignal) => runner.run(event, stopSignal),
    capacity: () => settings.value.maxConcurrentRunsGlobal,
    clock,
    pollIntervalMs: config.pollIntervalMs,
    log: log.child({ component: 'dispatcher' }),
  });
  let draining = false;

  const readiness = (): Readiness => {
    const staleAfterMs = Math.max(3 * config.pollIntervalMs, 5_000);
    const checks = {
      ...(database ? { database_reachable: database.isReachable } : {}),
      writer_open: store.isWritable,
      migrations_current: true,
      pool_up: pool.isUp,
      dispatcher_ticking: dispatcher.isClaiming && clock.now() - dispatcher.lastTickAt < staleAfterMs,
      not_draining: !draining,
    };
    const reasons = Object.entries(checks)
      .filter(([, ok]) => !ok)
      .map(([name]) => name);
    const problem = database?.problem;
    // On a fleet an admin also wants to know which daemon runs the maintenance.
    const details = { ...(fleet ? { fleet_role: fleet.isLeader ? 'leader' : 'follower' } : {}), ...(problem ? { database: problem } : {}) };
    return { ready: reasons.length === 0, reasons, checks, ...(Object.keys(details).length > 0 ? { details } : {}) };
  };

  // PostgreSQL is backed up with its own tools (pg_dump); VACUUM INTO is SQLite's.
  const backups = pg ? refusingBackups() : createBackupService({ dbPath: config.dbPath, dataDir: config.dataDir, store, clock, log: log.child({ component: 'backup' }) });
  const retentionSources = { store, dataDir: config.dataDir, clock, log: log.child({ component: 'retention' }) };
  const retention = createRetentionScheduler(retentionSources);
  const enqueue = createEnqueuer({
    store,
    settings: () => settings.value,
    wake: (runAt) => {
      metrics.eventEnqueued();
      if (runAt > clock.now()) dispatcher.wakeAt(runAt);
      else dispatcher.wake();
    },
    refused: (request, reason) => metrics.eventRefused(reason, request.source),
  });
  // Triggers only enqueue, through the same function as the API: the dispatcher runs the work.
  const triggers = createTriggers({
    store, enqueue, settings: () => settings.value, clock, dataDir: config.dataDir, log: log.child({ component: 'triggers' }),
    leads: pg ? () => fleet?.isLeader ?? false : undefined,
    announce: (workflowId) => fleet?.triggersChanged(workflowId),
  });
  // On a fleet: retention and the timed triggers run on the leader only, from election to deposal.
  const fleet = pg
    ? joinFleet({ store: pg, owner, leaseMs: config.leaseMs, dispatcher, workflows, triggers, retention: retentionSources, isDraining: () => draining, log })
    : null;
  hooks.enqueued = () => fleet?.eventEnqueued();
  const app = createApp({
    store,
    enqueue,
    triggers: triggers.control,
    metrics,
    metricsPublic: config.metricsPublic,
    executionStream,
    files: new FileLibrary(store, fileStorage, log.child({ component: 'files' })),
    settings: () => settings.value,
    catalog,
    invalidateWorkflow: (id) => {
      workflows.invalidate(id);
      fleet?.workflowChanged(id);
    },
    completions,
    abortRun: (executionId) => runner.cancel(executionId),
    wakeDispatcher: () => dispatcher.wake(),
    workflowStructure: async (workflowId) => (await workflows.get(workflowId))?.structureHash ?? null,
    readiness,
    runState: () => ({ inFlight: dispatcher.inFlightCount, capacity: settings.value.maxConcurrentRunsGlobal, poolThreads: pool.stats.threads, poolQueued: pool.stats.queued }),
    clock,
    log: log.child({ component: 'api' }),
    reloadSettings: () => settings.reload(),
    credentials,
    cleanup: (dryRun) => retention.runNow(dryRun),
    backups,
  });
  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  dispatcher.start();
  approvals.start();
  await triggers.start();
  if (fleet) fleet.start();
  else retention.start();
  backups.start();
  const firstDelayed = await store.nextDueAt();
  if (firstDelayed !== null) dispatcher.wakeAt(firstDelayed);
  log.info('daemon ready', { host: config.host, port, ...(pg ? { database: 'postgresql', schema: pg.schema } : { dbPath: config.dbPath }), workers: config.workers });
  // systemd Type=notify: READY, STATUS, WATCHDOG (only while making progress), STOPPING.
  const systemd = await startSystemdService({
    env: config.systemd, pid: process.pid, isReady: () => readiness().ready, clock, log: log.child({ component: 'systemd' }),
    status: async () => ({ queueDepth: (await store.queueDepth()).byStatus.pending, inFlight: dispatcher.inFlightCount, capacity: settings.value.maxConcurrentRunsGlobal }),
    progress: { dispatcher, writerStats: () => store.writerStats(), isDraining: () => draining },
    stallAfterMs: stallAfterMsFor(config.pollIntervalMs, config.writerMaxDelayMs),
  });

  const drain = async (force: boolean): Promise<void> => {
    draining = true;
    systemd.stopping();
    // Triggers first: nothing new is enqueued while the daemon winds down.
    await triggers.stop();
    log.info('draining', { inFlight: dispatcher.inFlightCount, graceMs: force ? 0 : config.shutdownGraceMs });
    server.close();
    server.closeIdleConnections();
    await dispatcher.stopClaiming();
    approvals.stop();
    // Retention stops at its next batch: it must not delay the drain nor write after the store closes.
    await retention.stop();
    // Leadership (and its maintenance) passes to another daemon at once; the heartbeat goes on below.
    await fleet?.resign();
    // A backup being written is stopped and its partial file removed.
    await backups.stop();
    const finished = force ? false : await dispatcher.waitForRuns(config.shutdownGraceMs);
    if (!finished) {
      log.warn('handing unfinished runs back to the queue', { inFlight: dispatcher.inFlightCount });
      await dispatcher.releaseRuns();
    }
    server.closeAllConnections();
    clearInterval(settingsTimer);
    await pool.close();
    await systemd.close();
    await fleet?.stop();
    database?.stop();
    const writer = store.writerStats();
    await store.close();
    handle.release();
    log.info('stopped', { commits: writer.commits, writes: writer.operations });
  };
  let stopping: Promise<void> | null = null;
  const stop = (options: { force?: boolean } = {}): Promise<void> => {
    // A second, forced stop while draining skips the rest of the grace period.
    if (stopping && options.force) void dispatcher.releaseRuns();
    stopping ??= drain(options.force ?? false);
    return stopping;
  };
  return { port, stop, readiness };
}

