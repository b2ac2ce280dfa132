// What a daemon does to share one PostgreSQL database with others (issue 7): keeps its leases alive
// (heartbeat), campaigns for leadership so exactly one daemon runs maintenance, reclaims the work of a
// daemon that died (leader only), and tells the others — by NOTIFY on one channel per schema — that an
// event is waiting, that a workflow changed (their planned-graph caches) or that a workflow's triggers
// changed (the leader arms schedules and folder watches; every daemon serves webhooks).
//
// Nothing here is needed for correctness of the queue itself: leases, SKIP LOCKED claims and fencing
// hold without it. It keeps latency low (wake-ups) and keeps work moving when a daemon dies.
import { createHash } from 'node:crypto';
import type { Logger } from '../log.js';
import { LeaderElection } from '../store/pg/pg-leader.js';
import { connectSessionsTo } from '../store/pg/pg-session-client.js';
import type { PgStore } from '../store/pg/pg-store.js';
import { notifyEnqueuedVia, WakeupListener, type Wake } from '../store/pg/pg-wakeup.js';

/** Maintenance that runs on the leader only; started on election, stopped on losing it. */
export interface LeaderDuties {
  start(): Promise<void> | void;
  stop(): Promise<void>;
}

/** What the fleet needs of the daemon. */
export interface FleetDeps {
  store: PgStore;
  url: string;
  schema: string;
  /** This daemon's lease owner id. */
  owner: string;
  leaseMs: number;
  /** Events whose runs are in flight here: only their leases are renewed (a run that ended without
   * recording its end must not keep its event for ever; its lease runs out and another daemon takes it). */
  heldEventIds(): number[];
  duties: LeaderDuties;
  /** Work may be waiting: look at the queue now. */
  wake(): void;
  /** Another daemon changed this workflow. */
  workflowChanged(workflowId: string): void;
  /** Another daemon changed this workflow's monitoring. */
  triggersChanged(workflowId: string): void;
  /** The listener (re)connected: notifications sent meanwhile are lost, so re-read what they would have said. */
  resync(): void;
  log: Logger;
}

type Message = { kind: 'wake' } | { kind: 'workflow' | 'triggers'; workflowId: string };

/** The channel a fleet shares: one per schema, so fleets on one database never hear each other. */
export function fleetChannel(schema: string): string {
  return `tav_fleet_${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`;
}

// A burst of enqueues sends one wake-up: the others look at the whole queue when woken.
const wakeCoalesceMs = 5;

/** Heartbeat, leader election, reclaim and notifications for one daemon of a fleet. */
export class Fleet {
  private readonly channel: string;
  private readonly election: LeaderElection;
  private readonly listener: WakeupListener;
  private readonly timers: NodeJS.Timeout[] = [];
  private wakePending = false;
  private listenedBefore = false;
  private duties: Promise<void> = Promise.resolve();

  constructor(private readonly deps: FleetDeps) {
    this.channel = fleetChannel(deps.schema);
    const connect = connectSessionsTo(deps.url, `tav-engine ${deps.owner}`);
    this.election = new LeaderElection({
      connect,
      lockName: `tav:maintenance:${deps.schema}`,
      retryIntervalMs: Math.min(2_000, Math.max(250, Math.floor(deps.leaseMs / 4))),
      log: deps.log.child({ component: 'leader' }),
      onElected: () => this.takeDuties(),
      onDeposed: (reason) => this.dropDuties(reason),
    });
    this.listener = new WakeupListener({
      connect,
      channel: this.channel,
      onWake: (wake) => this.receive(wake),
      checkIntervalMs: 5_000,
      reconnect: { initialDelayMs: 200, multiplier: 2, maxDelayMs: 5_000 },
      log: deps.log.child({ component: 'fleet-listener' }),
    });
  }

  get isLeader(): boolean {
    return this.election.isLeader;
  }

  start(): void {
    this.listener.start();
    this.election.start();
    // Renewed three times per lease: two missed beats (a long GC pause, a slow query) still leave it held.
    this.every(Math.max(100, Math.floor(this.deps.leaseMs / 3)), () => this.heartbeat());
    this.every(Math.max(200, Math.min(5_000, Math.floor(this.deps.leaseMs / 2))), () => this.reclaim());
  }

  /** Gives up leadership (maintenance passes to another daemon at once) and stops listening; the heartbeat goes on. */
  async resign(): Promise<void> {
    await this.election.stop();
    await this.duties;
    await this.listener.stop();
  }

  /** Stops everything, heartbeat last: call once no run of this daemon holds a lease. */
  async stop(): Promise<void> {
    await this.resign();
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
  }

  /** Tells the others an event is waiting (coalesced). */
  eventEnqueued(): void {
    if (this.wakePending) return;
    this.wakePending = true;
    setTimeout(() => {
      this.wakePending = false;
      this.send({ kind: 'wake' });
    }, wakeCoalesceMs).unref();
  }

  /** Tells the others a workflow changed or was deleted. */
  workflowChanged(workflowId: string): void {
    this.send({ kind: 'workflow', workflowId });
  }

  /** Tells the others a workflow's monitoring started or stopped. */
  triggersChanged(workflowId: string): void {
    this.send({ kind: 'triggers', workflowId });
  }

  private send(message: Message): void {
    const payload = message.kind === 'wake' ? 'wake' : `${message.kind}:${message.workflowId}`;
    notifyEnqueuedVia(this.deps.store.db, payload, this.channel).catch((error: unknown) => this.deps.log.debug('fleet notification not sent', { error: String(error) }));
  }

  private receive(wake: Wake): void {
    if (wake.source === 'connected') {
      // The first connect follows start-up, which read everything fresh; a reconnect may have missed some.
      if (this.listenedBefore) this.deps.resync();
      this.listenedBefore = true;
      return this.deps.wake();
    }
    const payload = wake.workflowId ?? 'wake';
    const colon = payload.indexOf(':');
    const kind = colon < 0 ? payload : payload.slice(0, colon);
    const workflowId = payload.slice(colon + 1);
    if (kind === 'workflow') this.deps.workflowChanged(workflowId);
    else if (kind === 'triggers') this.deps.triggersChanged(workflowId);
    else this.deps.wake();
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.deps.store.renewLeases(this.deps.owner, this.deps.leaseMs, this.deps.heldEventIds());
    } catch (error) {
      this.deps.log.warn('lease heartbeat failed', { error: String(error) });
    }
  }

  private async reclaim(): Promise<void> {
    if (!this.election.isLeader) return;
    try {
      const { requeued, failed } = await this.deps.store.reclaimExpired();
      if (requeued > 0) this.deps.log.warn('events whose lease expired returned to the queue', { requeued });
      if (failed > 0) this.deps.log.error('events failed: their lease expired on every attempt', { failed });
      if (requeued > 0) {
        this.deps.wake();
        this.eventEnqueued();
      }
    } catch (error) {
      this.deps.log.warn('reclaim of expired leases failed', { error: String(error) });
    }
  }

  private takeDuties(): void {
    this.deps.log.info('this daemon leads the fleet: maintenance runs here');
    this.duties = this.duties.then(async () => {
      if (this.election.isLeader) await this.deps.duties.start();
    }).catch((error: unknown) => {
      this.deps.log.error('maintenance did not start', { error: String(error) });
    });
  }

  private dropDuties(reason: string): void {
    // Stepping down on stop is routine; losing the lock's session is worth a warning.
    if (reason === 'stopped') this.deps.log.info('this daemon no longer leads the fleet', { reason });
    else this.deps.log.warn('this daemon no longer leads the fleet', { reason });
    this.duties = this.duties.then(() => this.deps.duties.stop()).catch((error: unknown) => {
      this.deps.log.error('maintenance did not stop cleanly', { error: String(error) });
    });
  }

  private every(ms: number, tick: () => Promise<void>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void tick().finally(() => (busy = false));
    }, ms);
    timer.unref();
    this.timers.push(timer);
  }
}
