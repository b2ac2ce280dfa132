// Leader election and LISTEN/NOTIFY wake-ups against a real PostgreSQL: real sessions, real
// advisory locks, backends really terminated with pg_terminate_backend. Each run uses its own lock
// name and channel so parallel runs on the same server do not see each other.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { createLogger } from '../../src/log.js';
import { LeaderElection } from '../../src/store/pg/pg-leader.js';
import type { DeposeReason } from '../../src/store/pg/pg-leader.js';
import knexFactory from 'knex';
import { notifyEnqueued, notifyEnqueuedVia, WakeupListener } from '../../src/store/pg/pg-wakeup.js';
import type { Wake } from '../../src/store/pg/pg-wakeup.js';
import { openSessionClient } from '../../src/store/pg/pg-session-client.js';
import type { SessionClient, SessionConnector } from '../../src/store/pg/pg-session-client.js';
import { sleepInterruptibly } from '../../src/domain/interruptible-sleep.js';
import type { Sleeper } from '../../src/domain/interruptible-sleep.js';
import { advisoryLockKey } from '../../src/store/pg/pg-coordination-sql.js';
import { waitFor } from '../helpers/daemon.js';

const pgUrl = process.env.TAV_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const runId = randomBytes(6).toString('hex');
const log = createLogger('error', { silent: true });
const retryIntervalMs = 100;

/** A connector that remembers the backend pid of the session it opened last, so a test can kill it. */
function trackedConnector(url = pgUrl): { connect: SessionConnector; pids: number[] } {
  const pids: number[] = [];
  const connect = async (): Promise<SessionClient> => {
    const client = await openSessionClient(url, `tav-test-${runId}`);
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    pids.push(Number(rows[0]?.pid));
    return client;
  };
  return { connect, pids };
}

/** A real sleeper that counts its calls: one per finished attempt, so a test can wait for "tried N times". */
function countingSleeper(): { sleep: Sleeper; calls: () => number } {
  let calls = 0;
  return {
    sleep: (ms, signal) => {
      calls += 1;
      return sleepInterruptibly(ms, signal);
    },
    calls: () => calls,
  };
}

/** One candidate under test with everything it reported. */
interface Candidate {
  election: LeaderElection;
  pids: number[];
  elected: number;
  deposed: DeposeReason[];
  attempts: () => number;
}

describe('PostgreSQL coordination', function () {
  let admin: SessionClient;
  const running: Array<{ stop(): Promise<void> }> = [];

  before(async function () {
    admin = await openSessionClient(pgUrl, `tav-test-${runId}-admin`);
  });

  afterEach(async function () {
    await Promise.all(running.splice(0).map((item) => item.stop()));
  });

  after(async function () {
    await admin?.end();
  });

  async function terminateBackend(pid: number): Promise<void> {
    const { rows } = await admin.query('SELECT pg_terminate_backend($1) AS terminated', [pid]);
    expect(rows[0]?.terminated, `backend ${pid} terminated`).to.equal(true);
  }

  function startCandidate(lockName: string): Candidate {
    const { connect, pids } = trackedConnector();
    const counter = countingSleeper();
    const candidate: Candidate = {
      pids,
      elected: 0,
      deposed: [],
      attempts: counter.calls,
      election: new LeaderElection({
        connect,
        lockName,
        retryIntervalMs,
        log,
        sleep: counter.sleep,
        onElected: () => {
          candidate.elected += 1;
        },
        onDeposed: (reason) => {
          candidate.deposed.push(reason);
        },
      }),
    };
    candidate.election.start();
    running.push(candidate.election);
    return candidate;
  }

  function leadersAmong(candidates: Candidate[]): Candidate[] {
    return candidates.filter((candidate) => candidate.election.isLeader);
  }

  async function waitForSoleLeader(candidates: Candidate[], what: string): Promise<Candidate> {
    const leaders = await waitFor(() => { const found = leadersAmong(candidates); return found.length === 1 ? found : undefined; }, what, 5000, 10);
    return leaders![0]!;
  }

  describe('leader election', function () {
    let lockName: string;

    beforeEach(function () {
      lockName = `tav-test:${runId}:${this.currentTest?.title}`;
    });

    it('elects exactly one leader among three candidates and keeps it', async function () {
      const candidates = [startCandidate(lockName), startCandidate(lockName), startCandidate(lockName)];
      await waitForSoleLeader(candidates, 'a leader');
      // Let every candidate try again several times: the followers must keep failing to take the lock.
      const triedBefore = candidates.map((candidate) => candidate.attempts());
      await waitFor(() => candidates.every((candidate, i) => candidate.attempts() >= (triedBefore[i] ?? 0) + 3), 'three more attempts each', 5000, 10);
      expect(leadersAmong(candidates)).to.have.length(1);
      expect(candidates.reduce((sum, candidate) => sum + candidate.elected, 0)).to.equal(1);
      expect(candidates.flatMap((candidate) => candidate.deposed)).to.deep.equal([]);
    });

    it('hands leadership to another candidate when the leader\'s backend is terminated', async function () {
      const candidates = [startCandidate(lockName), startCandidate(lockName), startCandidate(lockName)];
      const oldLeader = await waitForSoleLeader(candidates, 'a leader');
      const terminatedPid = oldLeader.pids.at(-1)!;
      await terminateBackend(terminatedPid);
      await waitFor(() => !oldLeader.election.isLeader, 'the old leader to depose itself', 5000, 10);
      // Idle, the session reports the loss itself; mid-check, the failed check reports it first.
      expect(oldLeader.deposed).to.have.length(1);
      expect(oldLeader.deposed[0]).to.be.oneOf(['connection-lost', 'session-check-failed']);
      const newLeader = await waitForSoleLeader(candidates, 'a new leader');
      // The old one may win again on a fresh session; what matters is one leader on a live session.
      expect(leadersAmong(candidates)).to.have.length(1);
      expect(newLeader.pids.at(-1)).to.not.equal(terminatedPid);
    });

    it('reconnects a candidate whose follower session was terminated and keeps campaigning', async function () {
      const leader = startCandidate(lockName);
      await waitFor(() => leader.election.isLeader, 'the first leader', 5000, 10);
      const follower = startCandidate(lockName);
      await waitFor(() => follower.pids.length === 1 && follower.attempts() >= 1, 'the follower to try', 5000, 10);
      await terminateBackend(follower.pids[0]!);
      await waitFor(() => follower.pids.length === 2, 'the follower to reconnect', 5000, 10);
      expect(follower.deposed).to.deep.equal([]);
      await leader.election.stop();
      await waitFor(() => follower.election.isLeader, 'the follower to take over', 5000, 10);
    });

    it('releases the lock the moment stop() returns', async function () {
      const leader = startCandidate(lockName);
      await waitFor(() => leader.election.isLeader, 'a leader', 5000, 10);
      await leader.election.stop();
      expect(leader.election.isLeader).to.equal(false);
      expect(leader.deposed).to.deep.equal(['stopped']);
      const key = advisoryLockKey(lockName);
      const { rows } = await admin.query('SELECT pg_try_advisory_lock($1::bigint) AS acquired', [key]);
      expect(rows[0]?.acquired).to.equal(true);
      await admin.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
    });

    it('hands over to a waiting candidate after stop()', async function () {
      const candidates = [startCandidate(lockName), startCandidate(lockName)];
      const oldLeader = await waitForSoleLeader(candidates, 'a leader');
      await oldLeader.election.stop();
      const successor = candidates.find((candidate) => candidate !== oldLeader)!;
      await waitFor(() => successor.election.isLeader, 'the successor', 5000, 10);
      expect(successor.elected).to.equal(1);
    });
  });

  describe('wake-ups', function () {
    let channel: string;
    let wakes: Wake[];

    beforeEach(function () {
      channel = `tav_test_${runId}_${Math.floor(Math.random() * 1e9)}`;
      wakes = [];
    });

    function startListener(connect: SessionConnector): WakeupListener {
      const listener = new WakeupListener({
        connect,
        channel,
        onWake: (wake) => wakes.push(wake),
        checkIntervalMs: 1000,
        reconnect: { initialDelayMs: 50, multiplier: 2, maxDelayMs: 1000 },
        log,
      });
      listener.start();
      running.push(listener);
      return listener;
    }

    function wokenFor(workflowId: string): boolean {
      return wakes.some((wake) => wake.source === 'notification' && wake.workflowId === workflowId);
    }

    it('wakes a listener on another connection when an event is enqueued', async function () {
      const listener = startListener(trackedConnector().connect);
      await waitFor(() => listener.connected, 'the listener to connect', 5000, 10);
      expect(wakes).to.deep.equal([{ source: 'connected' }]);
      await notifyEnqueued(admin, 'wf-1', channel);
      await waitFor(() => wokenFor('wf-1'), 'the wake-up', 5000, 10);
      await notifyEnqueued(admin, undefined, channel);
      await waitFor(() => wakes.some((wake) => wake.source === 'notification' && wake.workflowId === undefined), 'a wake-up without workflow', 5000, 10);
    });

    it('delivers a notification sent inside a transaction only on commit', async function () {
      const listener = startListener(trackedConnector().connect);
      await waitFor(() => listener.connected, 'the listener to connect', 5000, 10);
      await admin.query('BEGIN');
      await notifyEnqueued(admin, 'wf-rolled-back', channel);
      await admin.query('ROLLBACK');
      await admin.query('BEGIN');
      await notifyEnqueued(admin, 'wf-committed', channel);
      await admin.query('COMMIT');
      await waitFor(() => wokenFor('wf-committed'), 'the committed wake-up', 5000, 10);
      // Notifications from one session arrive in commit order, so the rolled-back one would be here by now.
      expect(wokenFor('wf-rolled-back')).to.equal(false);
    });

    it('wakes a listener when a knex transaction that notified commits', async function () {
      const listener = startListener(trackedConnector().connect);
      await waitFor(() => listener.connected, 'the listener to connect', 5000, 10);
      const knex = knexFactory({ client: 'pg', connection: pgUrl, pool: { min: 0, max: 1 } });
      try {
        await knex.transaction((trx) => notifyEnqueuedVia(trx, 'wf-knex', channel));
      } finally {
        await knex.destroy();
      }
      await waitFor(() => wokenFor('wf-knex'), 'the wake-up from knex', 5000, 10);
    });

    it('reconnects after its backend is terminated and is woken again', async function () {
      const tracked = trackedConnector();
      const listener = startListener(tracked.connect);
      await waitFor(() => listener.connected, 'the listener to connect', 5000, 10);
      await terminateBackend(tracked.pids[0]!);
      await waitFor(() => tracked.pids.length === 2 && listener.connected, 'the listener to reconnect', 5000, 10);
      expect(wakes.filter((wake) => wake.source === 'connected')).to.have.length(2);
      await notifyEnqueued(admin, 'wf-after-reconnect', channel);
      await waitFor(() => wokenFor('wf-after-reconnect'), 'the wake-up after reconnecting', 5000, 10);
    });

    it('reports not connected, with the reason, while the database is unreachable', async function () {
      const tracked = trackedConnector('postgres://postgres@127.0.0.1:1/test');
      let tries = 0;
      const listener = startListener(async () => {
        tries += 1;
        return tracked.connect();
      });
      await waitFor(() => tries >= 3, 'several reconnect attempts', 5000, 10);
      expect(listener.connected).to.equal(false);
      expect(listener.lastError).to.be.a('string').and.not.equal('');
      expect(wakes).to.deep.equal([]);
    });
  });
});
