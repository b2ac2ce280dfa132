// The loop behind the store contract suite (test/integration/contract-*.test.ts): each behaviour is
// written once and runs against SQLite and PostgreSQL, each test on an empty database of its own with a
// fake clock, so due times, leases, TTLs and ages move by assignment and nothing sleeps. The shorthands
// below (a workflow, an event, a claim) go through the port, as the daemon's own code does.
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { claimSortKey, type ClaimedEvent, type EnqueueRequest } from '../../src/domain/event.js';
import { AppError } from '../../src/errors.js';
import type { OpenedStore } from '../../src/store/open-store.js';
import type { EnqueueOutcome } from '../../src/store/store.js';
import { createPgBackend, createSqliteBackend, createWorkflow, executionStatus, openQuestion, type LeaseUpkeep, type OpenedBackend, type StoreBackend } from './queue-backends.js';

/** The aging of the claim order the suite enqueues with: one priority level per minute waited. */
export const agingMs = 60_000;
/** The lease a claim takes. */
export const leaseMs = 10_000;
/** Where the fake clock stands when each test starts. */
export const contractEpoch = Date.parse('2026-01-01T00:00:00Z');

/** The claim order key for a priority and run time, as the daemon computes it. */
export const sortKeyAt = (priority: number, runAt: number) => claimSortKey(priority, runAt, agingMs);

/** A clock the test moves by setting `at`. */
export interface FakeClock {
  at: number;
  now(): number;
}

/** One backend as a test sees it; `store` and `leases` are the running test's own. */
export interface ContractBackend {
  readonly name: StoreBackend['name'];
  /** True on PostgreSQL, where leases are renewed and reclaimed while several daemons run. */
  readonly fleet: boolean;
  readonly clock: FakeClock;
  readonly store: OpenedStore;
  /** The lease upkeep; only a fleet backend has one (read it under `if (backend.fleet)`). */
  readonly leases: LeaseUpkeep;
  /** A new empty, active workflow; returns its id. */
  createWorkflow(): Promise<string>;
  /** Enqueues a manual event due now, priority 3, unless `overrides` say otherwise. */
  enqueue(workflowId: string, overrides?: Partial<EnqueueRequest>, maxPending?: number): Promise<EnqueueOutcome>;
  /** Events due one millisecond apart, oldest first, so their claim order is their enqueue order. */
  enqueueMany(workflowId: string, count: number, priority?: number): Promise<number[]>;
  /** Claims the next event for `owner`; fails the test when there is none. */
  claimOne(owner?: string): Promise<ClaimedEvent>;
  /** Enqueues an event of `workflowId` and claims it: a running execution. */
  startRun(workflowId: string): Promise<ClaimedEvent>;
  /** An approval question on the execution, open for an hour; returns its id. */
  openQuestion(workflowId: string, executionId: string): Promise<string>;
  executionStatus(executionId: string): Promise<string | null>;
}

/** Declares `title on SQLite` and `title on PostgreSQL`, each defined by `define`. */
export function forEachBackend(title: string, define: (backend: ContractBackend) => void): void {
  for (const backend of [createSqliteBackend(), createPgBackend()]) {
    describe(`${title} on ${backend.name}`, function () {
      const clock: FakeClock = { at: contractEpoch, now() { return this.at; } };
      let opened: OpenedBackend | null = null;
      const current = (): OpenedBackend => {
        if (!opened) throw new Error('the store is open only while a test runs');
        return opened;
      };

      beforeEach(async function () {
        clock.at = contractEpoch;
        opened = await backend.open(clock);
      });

      afterEach(async function () {
        opened = null;
        await backend.close(this.currentTest?.state === 'failed');
      });

      after(async function () {
        await backend.stop();
      });

      define(contractBackend(backend, clock, current));
    });
  }
}

function contractBackend(backend: StoreBackend, clock: FakeClock, current: () => OpenedBackend): ContractBackend {
  const self: ContractBackend = {
    name: backend.name,
    fleet: backend.fleet,
    clock,
    get store() {
      return current().store;
    },
    get leases() {
      const { leases } = current();
      if (!leases) throw new Error(`${backend.name} has no lease upkeep`);
      return leases;
    },
    async createWorkflow() {
      const id = randomUUID();
      await createWorkflow(self.store, id);
      return id;
    },
    enqueue(workflowId, overrides = {}, maxPending) {
      const request: EnqueueRequest = { workflowId, eventType: 'manual', eventData: { n: 1 }, priority: 3, source: 'api', runAt: clock.now(), maxAttempts: 3, dedupKey: null, ...overrides };
      return self.store.enqueue(request, sortKeyAt(request.priority, request.runAt), maxPending);
    },
    async enqueueMany(workflowId, count, priority = 3) {
      const ids: number[] = [];
      for (let i = 0; i < count; i++) ids.push((await self.enqueue(workflowId, { priority, runAt: clock.now() - count + i })).event.id);
      return ids;
    },
    async claimOne(owner = 'daemon-a') {
      const [claimed] = await self.store.claim(1, owner, leaseMs);
      expect(claimed, 'an event to claim').to.not.equal(undefined);
      return claimed!;
    },
    async startRun(workflowId) {
      const { event } = await self.enqueue(workflowId);
      const claimed = await self.claimOne();
      expect(claimed.id, 'the event just enqueued').to.equal(event.id);
      return claimed;
    },
    openQuestion: (workflowId, executionId) => openQuestion(self.store, workflowId, executionId, clock.now() + 3_600_000),
    executionStatus: (executionId) => executionStatus(self.store, executionId),
  };
  return self;
}

/** The AppError `promise` rejects with; fails the test when it resolves or rejects with something else. */
export async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => null,
    (thrown: unknown) => thrown,
  );
  expect(error, 'a refusal').to.be.instanceOf(AppError);
  return error as AppError;
}
