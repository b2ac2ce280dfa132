// The claim order key and the retry backoff: pure functions, no clock, no database.
import { expect } from 'chai';
import { retryDelayMs, type BackoffPolicy } from '../../src/domain/backoff.js';
import { claimSortKey } from '../../src/domain/event.js';

const agingMs = 60_000;
const t0 = 1_700_000_000_000;

/** Sorts events as a claim takes them: smallest key first, then lowest id. */
function claimOrder(events: Array<{ id: string; priority: number; runAt: number }>, aging = agingMs): string[] {
  return events
    .map((event, index) => ({ ...event, index, key: claimSortKey(event.priority, event.runAt, aging) }))
    .sort((a, b) => a.key - b.key || a.index - b.index)
    .map((event) => event.id);
}

describe('claim order key', () => {
  it('puts a more urgent priority first when events are due at the same time', () => {
    const order = claimOrder([5, 3, 1, 4, 2].map((priority) => ({ id: `p${priority}`, priority, runAt: t0 })));
    expect(order).to.deep.equal(['p1', 'p2', 'p3', 'p4', 'p5']);
  });

  it('is FIFO by run time within a priority', () => {
    const order = claimOrder([
      { id: 'third', priority: 3, runAt: t0 + 2 },
      { id: 'first', priority: 3, runAt: t0 },
      { id: 'second', priority: 3, runAt: t0 + 1 },
    ]);
    expect(order).to.deep.equal(['first', 'second', 'third']);
  });

  it('lets an urgent newcomer pass an older, less urgent event that has not waited long', () => {
    const order = claimOrder([
      { id: 'old p5', priority: 5, runAt: t0 },
      { id: 'new p1', priority: 1, runAt: t0 + 4 * agingMs - 1 },
    ]);
    expect(order).to.deep.equal(['new p1', 'old p5']);
  });

  it('ages a waiting event one priority level per aging period', () => {
    // Waited more than four aging periods: priority 5 now ranks ahead of a fresh priority 1.
    expect(claimOrder([
      { id: 'old p5', priority: 5, runAt: t0 },
      { id: 'new p1', priority: 1, runAt: t0 + 4 * agingMs + 1 },
    ])).to.deep.equal(['old p5', 'new p1']);
    // One period of waiting is worth exactly one level.
    expect(claimSortKey(3, t0, agingMs)).to.equal(claimSortKey(2, t0 + agingMs, agingMs));
  });

  it('follows the configured aging period', () => {
    const events = [
      { id: 'p5 waited 5 s', priority: 5, runAt: t0 },
      { id: 'fresh p1', priority: 1, runAt: t0 + 5_000 },
    ];
    expect(claimOrder(events, 1_000)).to.deep.equal(['p5 waited 5 s', 'fresh p1']);
    expect(claimOrder(events, 60_000)).to.deep.equal(['fresh p1', 'p5 waited 5 s']);
  });

  it('keeps keys exact for realistic epoch times', () => {
    expect(Number.isSafeInteger(claimSortKey(5, t0 + 365 * 24 * 3600 * 1000, 86_400_000))).to.equal(true);
    expect(claimSortKey(1, t0, agingMs)).to.equal(t0);
  });
});

describe('retry backoff', () => {
  const policy: BackoffPolicy = { retryDelaySeconds: 5, backoffMultiplier: 1.5, maxRetryDelaySeconds: 60 };

  it('waits retry_delay after the first failed attempt', () => {
    expect(retryDelayMs(policy, 1)).to.equal(5_000);
  });

  it('grows by backoff_multiplier with each further attempt', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(policy, attempt))).to.deep.equal([5_000, 7_500, 11_250, 16_875]);
  });

  it('never waits longer than max_retry_delay', () => {
    expect(retryDelayMs(policy, 10)).to.equal(60_000);
    expect(retryDelayMs(policy, 1_000)).to.equal(60_000);
  });

  it('treats an attempt number below 1 as the first attempt', () => {
    expect(retryDelayMs(policy, 0)).to.equal(5_000);
  });

  it('rounds sub-second delays to whole milliseconds', () => {
    const fast: BackoffPolicy = { retryDelaySeconds: 0.1, backoffMultiplier: 1.5, maxRetryDelaySeconds: 60 };
    expect([1, 2, 3].map((attempt) => retryDelayMs(fast, attempt))).to.deep.equal([100, 150, 225]);
  });

  it('keeps a constant delay with a multiplier of 1', () => {
    const constant: BackoffPolicy = { retryDelaySeconds: 2, backoffMultiplier: 1, maxRetryDelaySeconds: 60 };
    expect([1, 5, 20].map((attempt) => retryDelayMs(constant, attempt))).to.deep.equal([2_000, 2_000, 2_000]);
  });
});
