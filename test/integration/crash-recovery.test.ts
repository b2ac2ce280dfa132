// A daemon killed with SIGKILL in the middle of a run loses nothing: started again on the same file it
// finishes every accepted event exactly once, and the dead daemon's lock file does not stand in its way.
import fs from 'node:fs';
import { expect } from 'chai';
import { startDaemon, waitFor, type TestDaemon } from '../helpers/daemon.js';
import { createWorkflow, readDatabase, removeIfPassed } from '../helpers/queue-runs.js';
import { link, node, workflowBody } from '../helpers/workflows.js';

const eventCount = 500;
const concurrentRequests = 25;

describe('crash recovery', function () {
  this.timeout(60_000);
  const daemons: TestDaemon[] = [];

  afterEach(async function () {
    for (const d of daemons) await d.stop('SIGKILL');
    removeIfPassed(this.currentTest, daemons[0]?.dataDir);
    daemons.length = 0;
  });

  async function queueDepth(d: TestDaemon): Promise<Record<string, number>> {
    return (await d.request('GET', '/api/v1/queue')).body.depth;
  }

  it('completes every accepted event exactly once after a SIGKILL mid-run and a restart', async function () {
    // Every event waits in one workflow's queue at once: its depth limit must hold them all.
    const first = await startDaemon({ settings: { execution: { max_concurrent_runs_global: 8, max_queue_depth_per_workflow: 10_000 } } });
    daemons.push(first);
    const workflowId = await createWorkflow(
      first,
      workflowBody(
        'input, slow, display',
        [node('input', 'text_input', { text: 'payload' }), node('slow', 'test_slow', { ms: 20 }), node('show', 'text_display')],
        [link('input', 'text', 'slow', 'input'), link('slow', 'output', 'show', 'text')],
      ),
    );

    // Enqueue over HTTP, many requests at a time; keep every id the daemon accepted with a 202.
    const accepted: number[] = [];
    for (let sent = 0; sent < eventCount; sent += concurrentRequests) {
      const chunk = Array.from({ length: Math.min(concurrentRequests, eventCount - sent) }, (_, i) =>
        first.request('POST', '/api/v1/events', { workflow_id: workflowId, event_data: { n: sent + i } }),
      );
      for (const response of await Promise.all(chunk)) {
        expect(response.status, JSON.stringify(response.body)).to.equal(202);
        accepted.push(response.body.id as number);
      }
    }
    expect(new Set(accepted).size).to.equal(eventCount);

    // Kill it while work is done, in flight and waiting.
    await waitFor(async () => {
      const depth = await queueDepth(first);
      return depth.completed! > 0 && depth.processing! > 0 && depth.pending! > 0;
    }, 'some events completed, some processing and some pending', 20_000, 5);
    const lockPath = `${first.dbPath}.lock`;
    expect(await first.stop('SIGKILL')).to.equal(null);
    expect(first.process.signalCode).to.equal('SIGKILL');

    const atKill = readDatabase(first.dbPath, (db) =>
      Object.fromEntries((db.prepare(`SELECT status, COUNT(*) AS n FROM event_queue GROUP BY status`).all() as Array<{ status: string; n: number }>).map((r) => [r.status, r.n])),
    );
    expect(atKill.processing, 'events the dead daemon left processing').to.be.greaterThan(0);
    expect(atKill.completed).to.be.lessThan(eventCount);
    // The dead daemon's lock is still on disk, naming a process that no longer exists.
    expect(fs.readFileSync(lockPath, 'utf8').trim()).to.equal(String(first.process.pid));

    const second = await startDaemon({ dataDir: first.dataDir });
    daemons.push(second);
    expect(fs.readFileSync(lockPath, 'utf8').trim(), 'the new daemon took the lock over').to.equal(String(second.process.pid));
    expect(second.output()).to.include('events left processing by a previous process returned to the queue');

    await waitFor(async () => (await queueDepth(second)).completed === eventCount, `all ${eventCount} events completed`, 40_000);

    readDatabase(second.dbPath, (db) => {
      const events = db.prepare(`SELECT id, status, execution_id, attempts FROM event_queue`).all() as Array<{ id: number; status: string; execution_id: string | null; attempts: number }>;
      expect(events.map((event) => event.id).sort((a, b) => a - b)).to.deep.equal([...accepted].sort((a, b) => a - b));
      const notCompleted = events.filter((event) => event.status !== 'completed');
      expect(notCompleted, 'events not completed').to.deep.equal([]);
      // The crash was not the events' fault: no attempt was spent on it.
      expect(events.filter((event) => event.attempts !== 1), 'events with other than one attempt').to.deep.equal([]);
      const executionIds = events.map((event) => event.execution_id);
      expect(executionIds.every((id) => typeof id === 'string')).to.equal(true);
      expect(new Set(executionIds).size, 'distinct execution ids').to.equal(eventCount);

      const perEvent = db.prepare(`SELECT event_id, COUNT(*) AS n FROM executions GROUP BY event_id HAVING COUNT(*) <> 1`).all();
      expect(perEvent, 'events with other than one execution').to.deep.equal([]);
      const executions = db.prepare(`SELECT status, COUNT(*) AS n FROM executions GROUP BY status`).all();
      expect(executions).to.deep.equal([{ status: 'completed', n: eventCount }]);
      // Every execution got to the end of its graph, whichever daemon ran which node.
      const unfinished = db
        .prepare(`SELECT id FROM executions WHERE json_extract(node_results, '$.show.status') IS NOT 'completed' OR completed_at IS NULL`)
        .all();
      expect(unfinished, 'executions without a completed last node').to.deep.equal([]);
    });
  });
});
