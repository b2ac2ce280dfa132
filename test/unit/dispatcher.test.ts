// The dispatcher's claim loop with fake effects and no database: how many runs it keeps in flight,
// when it claims again, and how it stops, waits and hands runs back.
import { expect } from 'chai';
import type { ClaimedEvent } from '../../src/domain/event.js';
import type { Logger } from '../../src/log.js';
import { Dispatcher, type DispatcherDeps } from '../../src/queue/dispatcher.js';

/** A run the test finishes by hand. */
interface FakeRun {
  event: ClaimedEvent;
  signal: AbortSignal;
  finish(): void;
}

/** A queue of events behind a fake claim, and the runs the dispatcher started. */
class FakeQueue {
  backlog: ClaimedEvent[] = [];
  readonly claimLimits: number[] = [];
  readonly runs: FakeRun[] = [];
  readonly logged: Array<{ message: string; meta: unknown }> = [];
  running = 0;
  maxRunning = 0;
  failNextClaims = 0;
  private nextId = 1;

  add(count: number): void {
    for (let i = 0; i < count; i++) this.backlog.push(claimedEvent(this.nextId++));
  }

  get active(): FakeRun[] {
    return this.runs.filter((run) => !finished.has(run));
  }

  deps(overrides: Partial<DispatcherDeps> = {}): DispatcherDeps {
    return {
      claim: async (limit) => {
        this.claimLimits.push(limit);
        if (this.failNextClaims > 0) {
          this.failNextClaims -= 1;
          throw new Error('database is locked');
        }
        return this.backlog.splice(0, limit);
      },
      run: (event, signal) =>
        new Promise<void>((resolve) => {
          this.running += 1;
          this.maxRunning = Math.max(this.maxRunning, this.running);
          const run: FakeRun = {
            event,
            signal,
            finish: () => {
              if (finished.has(run)) return;
              finished.add(run);
              this.running -= 1;
              resolve();
            },
          };
          this.runs.push(run);
        }),
      capacity: () => 3,
      clock: { now: () => Date.now() },
      // Long enough that only a wake-up, never the fallback poll, can explain a prompt claim.
      pollIntervalMs: 60_000,
      log: recordingLogger(this.logged),
      ...overrides,
    };
  }
}

const finished = new WeakSet<FakeRun>();

function claimedEvent(id: number): ClaimedEvent {
  return { id, workflowId: 'wf', eventData: null, priority: 3, attempts: 1, maxAttempts: 3, leaseToken: `lease-${id}`, executionId: `exec-${id}`, resumed: false, enqueuedAtMs: 0 };
}

function recordingLogger(logged: Array<{ message: string; meta: unknown }>): Logger {
  const record = (message: string, meta?: unknown) => logged.push({ message, meta });
  return { error: record, warn: record, info: () => {}, debug: () => {}, child: () => recordingLogger(logged) } as unknown as Logger;
}

/** Polls `check` until it holds; fails with `what` after the deadline. */
async function until(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('dispatcher', () => {
  let dispatcher: Dispatcher | undefined;
  let queue: FakeQueue;

  beforeEach(() => {
    queue = new FakeQueue();
  });

  afterEach(async () => {
    // Whatever a test left running is finished so the loop and its runs end with the test.
    await dispatcher?.stopClaiming();
    for (const run of queue.runs) run.finish();
    await dispatcher?.waitForRuns(1_000);
    dispatcher = undefined;
  });

  it('never has more runs in flight than its capacity', async () => {
    queue.add(10);
    dispatcher = new Dispatcher(queue.deps());
    dispatcher.start();
    await until(() => queue.running === 3, 'three runs in flight');
    for (let done = 1; done <= 10; done++) {
      expect(dispatcher.inFlightCount).to.be.at.most(3);
      queue.active[0]!.finish();
      // Each run that ends frees one slot, which the next waiting event takes.
      await until(() => queue.active.length === Math.min(3, 10 - done), `${Math.min(3, 10 - done)} runs in flight after ${done} ended`);
    }
    expect(queue.runs.map((run) => run.event.id)).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(queue.maxRunning).to.equal(3);
    // Each claim asks only for the free slots.
    expect(Math.max(...queue.claimLimits)).to.equal(3);
  });

  it('asks a claim only for the slots that are free', async () => {
    queue.add(2);
    dispatcher = new Dispatcher(queue.deps({ capacity: () => 5 }));
    dispatcher.start();
    await until(() => queue.running === 2, 'two runs in flight');
    queue.add(10);
    dispatcher.wake();
    await until(() => queue.running === 5, 'the remaining slots filled');
    expect(queue.claimLimits.slice(0, 2)).to.deep.equal([5, 3]);
  });

  it('claims again as soon as a run ends, without waiting for the poll', async () => {
    queue.add(2);
    dispatcher = new Dispatcher(queue.deps({ capacity: () => 1 }));
    dispatcher.start();
    await until(() => queue.runs.length === 1, 'the first run');
    expect(queue.runs).to.have.length(1);
    queue.runs[0]!.finish();
    await until(() => queue.runs.length === 2, 'the second event to be claimed after the first run ended');
    expect(queue.runs[1]!.event.id).to.equal(2);
  });

  it('claims promptly when woken after an enqueue', async () => {
    dispatcher = new Dispatcher(queue.deps());
    dispatcher.start();
    await until(() => queue.claimLimits.length === 1, 'the first (empty) claim');
    queue.add(1);
    dispatcher.wake();
    await until(() => queue.runs.length === 1, 'the enqueued event to be claimed');
  });

  it('claims no more once stopClaiming resolves, while runs in flight go on', async () => {
    queue.add(5);
    dispatcher = new Dispatcher(queue.deps({ capacity: () => 1 }));
    dispatcher.start();
    await until(() => queue.runs.length === 1, 'the first run');
    await dispatcher.stopClaiming();
    expect(dispatcher.isClaiming).to.equal(false);
    const claimsAtStop = queue.claimLimits.length;
    expect(queue.runs[0]!.signal.aborted, 'a run in flight is not told to stop').to.equal(false);

    // A run ending wakes the dispatcher; stopped, it must not claim.
    queue.runs[0]!.finish();
    expect(await dispatcher.waitForRuns(1_000)).to.equal(true);
    dispatcher.wake();
    await new Promise((resolve) => setImmediate(resolve));
    expect(queue.claimLimits).to.have.length(claimsAtStop);
    expect(queue.runs).to.have.length(1);
    expect(queue.backlog).to.have.length(4);
  });

  it('waitForRuns answers false after its timeout when runs are still going', async () => {
    queue.add(1);
    dispatcher = new Dispatcher(queue.deps());
    dispatcher.start();
    await until(() => queue.runs.length === 1, 'the run');
    await dispatcher.stopClaiming();
    const started = Date.now();
    expect(await dispatcher.waitForRuns(50)).to.equal(false);
    expect(Date.now() - started).to.be.at.least(45);
    expect(dispatcher.inFlightCount).to.equal(1);
  });

  it('waitForRuns answers true as soon as the last run ends', async () => {
    queue.add(2);
    dispatcher = new Dispatcher(queue.deps());
    dispatcher.start();
    await until(() => queue.runs.length === 2, 'two runs');
    await dispatcher.stopClaiming();
    const waiting = dispatcher.waitForRuns(10_000);
    queue.runs[0]!.finish();
    queue.runs[1]!.finish();
    const started = Date.now();
    expect(await waiting).to.equal(true);
    expect(Date.now() - started).to.be.below(1_000);
    expect(dispatcher.inFlightCount).to.equal(0);
  });

  it('releaseRuns aborts the stop signal every run received and waits for the runs to end', async () => {
    queue.add(2);
    const released: number[] = [];
    const deps = queue.deps();
    dispatcher = new Dispatcher({
      ...deps,
      // A run hands its event back when its stop signal fires, as the runner does on drain.
      run: (event, signal) => {
        const run = deps.run(event, signal);
        signal.addEventListener('abort', () => {
          released.push(event.id);
          queue.runs.find((r) => r.event === event)?.finish();
        });
        return run;
      },
    });
    dispatcher.start();
    await until(() => queue.runs.length === 2, 'two runs');
    await dispatcher.stopClaiming();
    expect(queue.runs.every((run) => !run.signal.aborted)).to.equal(true);
    await dispatcher.releaseRuns();
    expect(queue.runs.every((run) => run.signal.aborted)).to.equal(true);
    expect(released.sort()).to.deep.equal([1, 2]);
    expect(dispatcher.inFlightCount).to.equal(0);
  });

  it('logs a claim that throws and goes on claiming', async () => {
    queue.add(1);
    queue.failNextClaims = 1;
    // The loop backs off for one poll interval after a failed claim.
    dispatcher = new Dispatcher(queue.deps({ pollIntervalMs: 20 }));
    dispatcher.start();
    await until(() => queue.runs.length === 1, 'the event to be claimed after the failed claim');
    expect(queue.claimLimits.length).to.be.at.least(2);
    expect(queue.logged).to.have.length(1);
    expect(queue.logged[0]!.message).to.equal('claim failed');
    expect(String((queue.logged[0]!.meta as { error: unknown }).error)).to.include('database is locked');
    expect(dispatcher.isClaiming).to.equal(true);
  });

  it('logs a run that rejects and frees its slot', async () => {
    queue.add(2);
    const deps = queue.deps({ capacity: () => 1 });
    let calls = 0;
    dispatcher = new Dispatcher({
      ...deps,
      run: (event, signal) => (++calls === 1 ? Promise.reject(new Error('runner bug')) : deps.run(event, signal)),
    });
    dispatcher.start();
    await until(() => queue.runs.length === 1, 'the second event to take the freed slot');
    expect(queue.runs[0]!.event.id).to.equal(2);
    expect(queue.logged.map((entry) => entry.message)).to.deep.equal(['run failed']);
  });

  it('reports the time of its last pass for health checks', async () => {
    let now = 1_000_000;
    dispatcher = new Dispatcher(queue.deps({ clock: { now: () => now } }));
    dispatcher.start();
    await until(() => dispatcher!.lastTickAt === 1_000_000, 'the first pass');
    now = 2_000_000;
    dispatcher.wake();
    await until(() => dispatcher!.lastTickAt === 2_000_000, 'the pass after a wake-up');
  });

  it('wakes itself at the time a delayed event becomes due, well before the next poll', async () => {
    const dueAt = Date.now() + 30;
    const deps = queue.deps({ pollIntervalMs: 60_000 });
    dispatcher = new Dispatcher({
      ...deps,
      // The event is in the queue from the start but may not be claimed before it is due.
      claim: async (limit) => {
        queue.claimLimits.push(limit);
        return Date.now() < dueAt ? [] : queue.backlog.splice(0, limit);
      },
    });
    queue.add(1);
    dispatcher.start();
    await until(() => queue.claimLimits.length === 1, 'the first claim, too early');
    dispatcher.wakeAt(dueAt);
    await until(() => queue.runs.length === 1, 'the delayed event to be claimed when due', 1_000);
    expect(queue.claimLimits).to.have.length(2);
  });

  it('waits until the event is due by its clock even when the timer fires early', async () => {
    // A clock running at half speed makes every timer fire "early" by it, as libuv's cached time
    // sometimes does against the wall clock by a millisecond or two.
    const base = Date.now();
    const clock = { now: () => base + (Date.now() - base) / 2 };
    const dueAt = clock.now() + 20;
    const deps = queue.deps({ pollIntervalMs: 60_000, clock });
    dispatcher = new Dispatcher({
      ...deps,
      claim: async (limit) => {
        queue.claimLimits.push(limit);
        return clock.now() < dueAt ? [] : queue.backlog.splice(0, limit);
      },
    });
    queue.add(1);
    dispatcher.start();
    await until(() => queue.claimLimits.length === 1, 'the first claim, too early');
    dispatcher.wakeAt(dueAt);
    await until(() => queue.runs.length === 1, 'the delayed event to be claimed once due by the clock', 1_000);
  });

  it('keeps the earliest wake-up time when told of a later one', async () => {
    const deps = queue.deps({ pollIntervalMs: 60_000 });
    const claimedAt: number[] = [];
    dispatcher = new Dispatcher({ ...deps, claim: async (limit) => (claimedAt.push(Date.now()), deps.claim(limit)) });
    dispatcher.start();
    await until(() => claimedAt.length === 1, 'the first claim');
    const soon = Date.now() + 40;
    dispatcher.wakeAt(soon);
    dispatcher.wakeAt(soon + 60_000);
    await until(() => claimedAt.length === 2, 'the claim at the earlier time', 1_000);
    expect(claimedAt[1]).to.be.at.least(soon - 1);
  });
});
