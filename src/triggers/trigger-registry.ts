// The trigger registry: arms the triggers of every monitoring workflow (schedules, folder watches,
// webhook paths), re-arms them when the workflow changes, disarms them when it stops or goes away.
// Every fire goes through the one enqueue function the API uses: the dispatcher stays the one place
// that runs work. Each fire stamps the payload with `triggered_at`, `execution_count` and `source`,
// and persists the trigger's last fire and count so both survive a restart.
import type { Json } from '../../workers/node-contract.js';
import { isoAt, type Clock } from '../domain/clock.js';
import { defaultPriority } from '../domain/event.js';
import { parseSchedule, parseWebhook, triggerNodesOf, type TriggerKind, type TriggerNode, type WebhookSpec } from '../domain/trigger-config.js';
import { normalizeWorkflowData } from '../domain/workflow.js';
import type { EngineSettings } from '../engine/engine-settings.js';
import type { Logger } from '../log.js';
import type { Enqueue } from '../queue/enqueue.js';
import type { MonitoringStore, TriggerState } from '../store/monitoring-store.js';
import type { EnqueueOutcome, WorkflowStore } from '../store/store.js';
import { DropLog } from './drop-log.js';
import { ScheduleTrigger } from './schedule-trigger.js';
import type { TriggerEmit, TriggerSource } from './trigger-source.js';

/** Builds the watcher of one file_polling_trigger node (file-poller.ts). */
export type FilePollerFactory = (
  config: Record<string, Json>,
  emit: TriggerEmit,
  deps: { clock: Clock; log: Logger; dataDir?: string; executionCount?: number },
) => TriggerSource;

/** What the registry needs. */
export interface TriggerRegistryDeps {
  store: Pick<WorkflowStore, 'getWorkflow'> & Pick<MonitoringStore, 'getMonitoring' | 'listMonitoringWorkflowIds' | 'triggerStates' | 'saveTriggerState'>;
  enqueue: Enqueue;
  settings: () => Pick<EngineSettings, 'eventMaxAttempts'>;
  clock: Clock;
  log: Logger;
  /** The daemon's data folder: a relative watch folder is taken relative to it. */
  dataDir: string;
  createFilePoller: FilePollerFactory;
  /**
   * Whether this daemon runs the timed triggers (schedules, folder watches). On a fleet sharing one
   * PostgreSQL database only the leader does, or each tick would fire once per daemon; webhooks are
   * armed on every daemon, since a delivery may reach any of them. Always true when absent.
   */
  leads?: () => boolean;
}

/** One armed trigger node. */
export interface ArmedTrigger {
  workflowId: string;
  nodeId: string;
  kind: TriggerKind;
  /** Shared with every arming of the same node, so a re-arm never reads a count older than memory's. */
  state: TriggerState;
  source: TriggerSource | null;
  webhook: WebhookSpec | null;
  /** Why the node could not be armed, or null when it is. */
  error: string | null;
}

/** A trigger as the monitoring status shows it. */
export interface TriggerStatus {
  node_id: string;
  kind: TriggerKind;
  armed: boolean;
  next_fire_at: string | null;
  last_fired_at: string | null;
  execution_count: number;
  webhook_path?: string;
  error?: string;
}

/** Arms, re-arms and disarms triggers; looks webhooks up by path. */
export class TriggerRegistry {
  private readonly armed = new Map<string, ArmedTrigger[]>();
  private readonly webhooks = new Map<string, ArmedTrigger>();
  private readonly states = new Map<string, TriggerState>();
  private readonly drops: DropLog;
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly deps: TriggerRegistryDeps) {
    this.drops = new DropLog(deps.clock, deps.log);
  }

  /** Arms every monitoring workflow (daemon start). */
  async start(): Promise<void> {
    const ids = await this.deps.store.listMonitoringWorkflowIds();
    for (const id of ids) await this.refresh(id);
    this.deps.log.info('triggers armed', { workflows: this.armed.size, triggers: [...this.armed.values()].reduce((n, list) => n + list.length, 0) });
  }

  /** Re-arms every monitoring workflow (this daemon started or stopped leading the fleet). */
  async rearmAll(): Promise<void> {
    const ids = new Set([...(await this.deps.store.listMonitoringWorkflowIds()), ...this.armed.keys()]);
    for (const id of ids) await this.refresh(id);
  }

  /** Disarms everything; no trigger enqueues after this resolves. */
  async stop(): Promise<void> {
    await this.serial(async () => {
      this.closed = true;
      for (const id of [...this.armed.keys()]) await this.disarmNow(id);
    });
  }

  /** Brings one workflow's triggers in line with its stored state: armed iff it is active and monitoring. */
  refresh(workflowId: string): Promise<void> {
    return this.serial(async () => {
      await this.disarmNow(workflowId);
      const monitoring = await this.deps.store.getMonitoring(workflowId);
      if (!monitoring) for (const key of this.states.keys()) if (key.startsWith(`${workflowId}\0`)) this.states.delete(key);
      if (this.closed || !monitoring?.monitoring || !monitoring.isActive) return;
      const workflow = await this.deps.store.getWorkflow(workflowId);
      if (!workflow) return;
      const nodes = triggerNodesOf(normalizeWorkflowData(workflow.workflow_data));
      const stored = await this.deps.store.triggerStates(workflowId);
      this.armNow(workflowId, nodes, stored, Date.parse(monitoring.startedAt!));
    });
  }

  /** The armed webhook trigger on `path`, or null. */
  webhookAt(path: string): ArmedTrigger | null {
    return this.webhooks.get(path) ?? null;
  }

  /** The workflow whose armed webhook holds `path`, if any. */
  webhookOwner(path: string): string | null {
    return this.webhooks.get(path)?.workflowId ?? null;
  }

  /** The armed triggers of a workflow as status rows, or null when it is not armed. */
  statusOf(workflowId: string): TriggerStatus[] | null {
    const triggers = this.armed.get(workflowId);
    return triggers ? triggers.map((trigger) => this.describe(trigger)) : null;
  }

  /** The persisted state of a trigger node (for the status of a workflow that is not armed). */
  async stateOf(workflowId: string, nodeId: string): Promise<TriggerState> {
    return this.states.get(`${workflowId}\0${nodeId}`) ?? (await this.deps.store.triggerStates(workflowId)).get(nodeId) ?? { lastFiredAt: null, executionCount: 0 };
  }

  /**
   * Enqueues one event for `trigger` with `data` stamped as TAV's payload. Rejects as the enqueue does
   * (a full queue is an AppError `queue_full`, 429): a webhook answers with it, a source is told false.
   */
  async fire(trigger: ArmedTrigger, data: Json, dedupKey: string | null = null): Promise<EnqueueOutcome> {
    const now = this.deps.clock.now();
    // Reserved before the await so concurrent deliveries get distinct counts; handed back on refusal.
    const count = ++trigger.state.executionCount;
    const fields = typeof data === 'object' && data !== null && !Array.isArray(data) ? data : { data };
    const eventData: Json = { ...fields, triggered_at: typeof fields.triggered_at === 'string' ? fields.triggered_at : isoAt(now), execution_count: count, source: trigger.kind };
    trigger.state.lastFiredAt = now;
    try {
      const request = { workflowId: trigger.workflowId, eventType: trigger.kind, eventData, priority: defaultPriority, source: trigger.kind, runAt: now, maxAttempts: this.deps.settings().eventMaxAttempts, dedupKey };
      return await this.deps.enqueue(request);
    } catch (error) {
      if (trigger.state.executionCount === count) trigger.state.executionCount = count - 1;
      throw error;
    } finally {
      // Saved on refusal too: a schedule's missed tick is then not caught up again after a restart.
      await this.deps.store
        .saveTriggerState(trigger.workflowId, trigger.nodeId, { ...trigger.state })
        .catch((error: unknown) => this.deps.log.debug('trigger state not saved', { workflowId: trigger.workflowId, nodeId: trigger.nodeId, error: String(error) }));
    }
  }

  /** The emit a trigger source calls: true once durable, false when refused (logged here, not retried here). */
  private emitterFor(trigger: ArmedTrigger): TriggerEmit {
    return async (data, options) => {
      try {
        await this.fire(trigger, data, options?.dedupKey ?? null);
        return true;
      } catch (error) {
        if ((error as { code?: unknown }).code === 'queue_full') this.drops.note(trigger.workflowId, trigger.nodeId, trigger.kind);
        else this.deps.log.error('trigger event not enqueued', { workflowId: trigger.workflowId, nodeId: trigger.nodeId, error: String(error) });
        return false;
      }
    };
  }

  private armNow(workflowId: string, nodes: TriggerNode[], stored: Map<string, TriggerState>, since: number): void {
    const armed = nodes.map((node) => this.armTrigger(workflowId, node, stored, since));
    this.armed.set(workflowId, armed);
    // A fleet's follower holds its timed triggers without running them: counted apart, so the log
    // says which daemon runs a schedule.
    const leftToLeader = armed.filter((trigger) => trigger.error === null && trigger.source === null && trigger.webhook === null).length;
    const running = armed.filter((trigger) => trigger.error === null).length - leftToLeader;
    this.deps.log.info('workflow triggers armed', { workflowId, triggers: running, failed: armed.filter((trigger) => trigger.error !== null).length, ...(leftToLeader > 0 ? { leftToLeader } : {}) });
  }

  private armTrigger(workflowId: string, node: TriggerNode, stored: Map<string, TriggerState>, since: number): ArmedTrigger {
    const key = `${workflowId}\0${node.nodeId}`;
    let state = this.states.get(key);
    const persisted = stored.get(node.nodeId);
    if (!state) this.states.set(key, (state = persisted ?? { lastFiredAt: null, executionCount: 0 }));
    // On a fleet another daemon may have fired it since (the old leader's schedule, a webhook served
    // elsewhere): the stored state is then ahead of memory's, and counting on from memory would repeat.
    else if (persisted && persisted.executionCount > state.executionCount) Object.assign(state, persisted);
    const trigger: ArmedTrigger = { workflowId, nodeId: node.nodeId, kind: node.kind, state, source: null, webhook: null, error: null };
    const log = this.deps.log.child({ workflowId, nodeId: node.nodeId, trigger: node.kind });
    try {
      if (node.kind === 'webhook') this.armWebhook(trigger, node.config);
      else if (this.deps.leads && !this.deps.leads()) log.debug('timed trigger left to the fleet leader');
      else if (node.kind === 'schedule') trigger.source = this.scheduleFor(trigger, node.config, since, log);
      else trigger.source = this.deps.createFilePoller(node.config, this.emitterFor(trigger), { clock: this.deps.clock, log, dataDir: this.deps.dataDir, executionCount: state.executionCount });
      trigger.source?.start();
    } catch (error) {
      trigger.error = (error as Error).message;
      log.warn('trigger not armed', { error: trigger.error });
    }
    return trigger;
  }

  private scheduleFor(trigger: ArmedTrigger, config: Record<string, Json>, since: number, log: Logger): ScheduleTrigger {
    const spec = parseSchedule(config);
    if (typeof spec === 'string') throw new Error(spec);
    // Ticks missed while monitoring was stopped are not caught up: only those since it (re)started.
    const lastFiredAt = trigger.state.lastFiredAt === null || trigger.state.lastFiredAt < since ? null : trigger.state.lastFiredAt;
    return new ScheduleTrigger({ spec, emit: this.emitterFor(trigger), clock: this.deps.clock, log, lastFiredAt, since });
  }

  private armWebhook(trigger: ArmedTrigger, config: Record<string, Json>): void {
    const spec = parseWebhook(config);
    if (typeof spec === 'string') throw new Error(spec);
    const holder = this.webhooks.get(spec.path);
    if (holder && holder.workflowId !== trigger.workflowId) throw new Error(`webhook path '${spec.path}' is held by workflow ${holder.workflowId}`);
    trigger.webhook = spec;
    this.webhooks.set(spec.path, trigger);
  }

  private async disarmNow(workflowId: string): Promise<void> {
    const triggers = this.armed.get(workflowId);
    if (!triggers) return;
    this.armed.delete(workflowId);
    for (const trigger of triggers) if (trigger.webhook && this.webhooks.get(trigger.webhook.path) === trigger) this.webhooks.delete(trigger.webhook.path);
    await Promise.all(triggers.map((trigger) => trigger.source?.stop()));
    this.deps.log.info('workflow triggers disarmed', { workflowId });
  }

  private describe(trigger: ArmedTrigger): TriggerStatus {
    const next = trigger.source instanceof ScheduleTrigger ? trigger.source.nextFireAt : null;
    return {
      node_id: trigger.nodeId,
      kind: trigger.kind,
      armed: trigger.error === null,
      next_fire_at: next === null ? null : isoAt(next),
      last_fired_at: trigger.state.lastFiredAt === null ? null : isoAt(trigger.state.lastFiredAt),
      execution_count: trigger.state.executionCount,
      ...(trigger.webhook ? { webhook_path: trigger.webhook.path } : {}),
      ...(trigger.error !== null ? { error: trigger.error } : {}),
    };
  }

  /** Runs arm/disarm work one piece at a time, so a re-arm never interleaves with another. */
  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.tail.then(task, task);
    this.tail = run.catch(() => undefined);
    return run;
  }
}
