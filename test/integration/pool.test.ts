// The worker pool on real threads: how batched, shared and isolated node tasks are placed.
import { expect } from 'chai';
import type { NodeTask } from '../../workers/node-contract.js';
import { createLogger } from '../../src/log.js';
import { NodePool } from '../../src/queue/pool.js';

function task(nodeId: string, nodeType: string, config: Record<string, unknown> = {}, timeoutMs = 5_000): NodeTask {
  return { executionId: 'e', nodeId, nodeType, config: config as NodeTask['config'], inputs: {}, trigger: null, attempt: 1, timeoutMs };
}

describe('node pool', function () {
  let pool: NodePool;

  before(() => {
    pool = new NodePool({ threads: 1, enableTestNodes: true, memoryLimitMb: 128, log: createLogger('error', { silent: true }) });
  });

  after(() => pool.close());

  it('overlaps shared tasks that wait on I/O, even on a single thread', async () => {
    const started = Date.now();
    const results = await Promise.all([1, 2, 3, 4].map((i) => pool.run(task(`s${i}`, 'test_slow', { ms: 300 }), { isolation: 'shared' })));
    expect(results.every((result) => result.ok)).to.equal(true);
    // Four 300 ms waits one after another would take 1.2 s.
    expect(Date.now() - started).to.be.below(900);
  });

  it('answers every task of a batch with its own result, in order', async () => {
    const results = await Promise.all([
      pool.run(task('a', 'test_echo', { value: 'a' }), { isolation: 'batched' }),
      pool.run(task('b', 'test_fail', { code: 'nope' }), { isolation: 'batched' }),
      pool.run(task('c', 'test_echo', { value: 'c' }), { isolation: 'batched' }),
    ]);
    expect(results.map((result) => (result.ok ? result.outputs.output : result.error.code))).to.deep.equal(['a', 'nope', 'c']);
  });

  it('terminates an isolated task that blocks its thread when its timeout passes, and keeps serving', async () => {
    const hung = await pool.run(task('h', 'test_hang', {}, 200), { isolation: 'isolated' });
    expect(hung.ok).to.equal(false);
    expect(!hung.ok && hung.error.code).to.equal('timeout');
    const after = await pool.run(task('e', 'test_echo', { value: 'still here' }), { isolation: 'batched' });
    expect(after.ok && after.outputs.output).to.equal('still here');
  });

  it('stops a cancelled shared task inside its worker, freeing the thread', async () => {
    const controller = new AbortController();
    const running = pool.run(task('slow', 'test_slow', { ms: 5_000 }), { isolation: 'shared', signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    await running;
    // An isolated task needs an idle thread: it runs only once the cancelled task has really stopped.
    const started = Date.now();
    const echo = await pool.run(task('e', 'test_echo', { value: 1 }), { isolation: 'isolated' });
    expect(echo.ok).to.equal(true);
    expect(Date.now() - started).to.be.below(2_000);
  });

  it('settles a cancelled shared task at once as cancelled', async () => {
    const controller = new AbortController();
    const running = pool.run(task('slow', 'test_slow', { ms: 3_000 }), { isolation: 'shared', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const result = await running;
    expect(!result.ok && result.error.code).to.equal('cancelled');
  });
});
