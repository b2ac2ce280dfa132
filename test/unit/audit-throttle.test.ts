import { expect } from 'chai';
import { RefusalThrottle } from '../../src/api/audit-throttle.js';

describe('RefusalThrottle', function () {
  function throttle() {
    let now = 1_000_000;
    const reports: number[] = [];
    const subject = new RefusalThrottle({ perClientPerMinute: 3, totalPerMinute: 5 }, () => now, (count) => reports.push(count));
    return { subject, reports, advance: (ms: number) => (now += ms) };
  }

  it('admits a client up to its per-minute limit, then refuses it but not another client', function () {
    const { subject } = throttle();
    expect([1, 2, 3, 4].map(() => subject.admit('a'))).to.deep.equal([true, true, true, false]);
    expect(subject.admit('b')).to.equal(true);
  });

  it('holds the total across clients', function () {
    const { subject } = throttle();
    const admitted = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].filter((client) => subject.admit(client));
    expect(admitted).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
  });

  it('opens a new window after a minute and reports what the last one suppressed', function () {
    const { subject, reports, advance } = throttle();
    for (let i = 0; i < 5; i++) subject.admit('a');
    advance(59_999);
    expect(subject.admit('a')).to.equal(false);
    expect(reports).to.deep.equal([]);
    advance(1);
    expect(subject.admit('a')).to.equal(true);
    expect(reports).to.deep.equal([3]);
  });
});
