// The approval expiry sweeper, over a fake store: it expires what is due on start, tells the
// dispatcher, and arms itself for the next deadline.
import { expect } from 'chai';
import { InteractionSweeper } from '../../src/engine/interaction-sweeper.js';
import { createLogger } from '../../src/log.js';
import { waitFor } from '../helpers/daemon.js';

/** Interactions by id with their deadlines; expireInteraction removes due ones. */
function fakeStore(clock: { now(): number }, deadlines: Map<string, number>) {
  const expired: string[] = [];
  return {
    expired,
    store: {
      dueInteractionIds: async (limit: number) => [...deadlines].filter(([, at]) => at <= clock.now()).map(([id]) => id).slice(0, limit),
      expireInteraction: async (id: string) => {
        const due = (deadlines.get(id) ?? Infinity) <= clock.now();
        if (due) {
          deadlines.delete(id);
          expired.push(id);
        }
        return due;
      },
      nextInteractionExpiry: async () => (deadlines.size === 0 ? null : Math.min(...deadlines.values())),
    },
  };
}

describe('InteractionSweeper', () => {
  const log = createLogger('error', { silent: true });

  it('expires what is due on start and wakes the dispatcher once', async () => {
    const clock = { now: () => 1_000_000 };
    const { store, expired } = fakeStore(clock, new Map([['a', 10], ['b', 999_999], ['c', 5_000_000]]));
    let wakes = 0;
    const sweeper = new InteractionSweeper({ store, sortKeyAt: () => 0, onResumed: () => (wakes += 1), clock, log });
    sweeper.start();
    try {
      expect(await sweeper.sweep()).to.be.a('number');
      await waitFor(() => expired.length === 2, 'the due interactions to expire', 2_000);
      expect(expired.sort()).to.deep.equal(['a', 'b']);
      expect(wakes).to.equal(1);
    } finally {
      sweeper.stop();
    }
  });

  it('wakes at the next deadline it was told of', async () => {
    let now = 0;
    const clock = { now: () => now };
    const deadlines = new Map<string, number>();
    const { store, expired } = fakeStore(clock, deadlines);
    const sweeper = new InteractionSweeper({ store, sortKeyAt: () => 0, onResumed: () => undefined, clock, log });
    sweeper.start();
    try {
      await sweeper.sweep();
      deadlines.set('late', 20);
      now = 20;
      sweeper.watch(20);
      await waitFor(() => expired.includes('late'), 'the watched deadline to be swept', 2_000);
    } finally {
      sweeper.stop();
    }
  });
});
