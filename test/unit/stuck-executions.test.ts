// Which running executions count as stuck, decided from the rows alone (no database): the lease
// owner's liveness on this host wins over the lease's expiry.
import { hostname } from 'node:os';
import { expect } from 'chai';
import { findStuck, leaseOwnerAlive } from '../../src/maintenance/stuck-executions.js';
import type { RunningExecutionRow } from '../../src/store/sqlite/stuck-sql.js';

const now = 1_800_000_000_000;
const clock = { now: () => now };
// A pid far above any pid_max: never a live process.
const deadPid = 2 ** 30;

function row(fields: Partial<RunningExecutionRow>): RunningExecutionRow {
  return { executionId: 'x', workflowId: 'w', startedAt: null, updatedAt: null, eventId: 1, eventStatus: 'processing', leaseOwner: null, leaseToken: 't', leaseExpiresAt: now + 1, ...fields };
}

describe('stuck executions', () => {
  it('reads a lease owner of this host by its pid and leaves other hosts to the expiry', () => {
    expect(leaseOwnerAlive(`${hostname()}:${process.pid}`)).to.equal(true);
    expect(leaseOwnerAlive(`${hostname()}:${deadPid}`)).to.equal(false);
    expect(leaseOwnerAlive('elsewhere:1')).to.equal(null);
    expect(leaseOwnerAlive(null)).to.equal(false);
  });

  it('re-queues a dead or expired lease, fails an execution whose event finished, and spares live or paused work', () => {
    const rows = [
      row({ executionId: 'live-local-expired', leaseOwner: `${hostname()}:${process.pid}`, leaseExpiresAt: now - 1 }),
      row({ executionId: 'dead-local', leaseOwner: `${hostname()}:${deadPid}`, leaseExpiresAt: now + 60_000 }),
      row({ executionId: 'remote-live', leaseOwner: 'elsewhere:7', leaseExpiresAt: now + 1 }),
      row({ executionId: 'remote-expired', leaseOwner: 'elsewhere:7', leaseExpiresAt: now }),
      row({ executionId: 'event-done', eventStatus: 'completed' }),
      row({ executionId: 'no-event', eventId: null, eventStatus: null }),
      row({ executionId: 'event-waiting', eventStatus: 'pending' }),
      row({ executionId: 'event-paused', eventStatus: 'paused' }),
    ];
    const stuck = Object.fromEntries(findStuck(rows, clock, { failAll: false }).map((s) => [s.row.executionId, s.repair]));
    expect(stuck).to.deep.equal({ 'dead-local': 'requeue', 'remote-expired': 'requeue', 'event-done': 'fail', 'no-event': 'fail', 'event-waiting': 'reset_execution' });
    expect(new Set(findStuck(rows, clock, { failAll: true }).map((s) => s.repair))).to.deep.equal(new Set(['fail']));
  });
});
