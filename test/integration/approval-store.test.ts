// The pause/resume transitions of the queue on a real SQLite file (no daemon): a paused event is not
// claimable and keeps its attempt; an answer puts it back in line; an answer that lands while the run
// is still winding down is not lost (the run's pause turns into a requeue).
import { expect } from 'chai';
import { claimSortKey } from '../../src/domain/event.js';
import { hashInteractionToken, newInteractionToken } from '../../src/domain/interaction.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { removeIfAllPassed } from '../helpers/api-assertions.js';
import { createBareWorkflow, openTestStore } from '../helpers/store-fixture.js';

const sortKeyAt = (priority: number, runAt: number) => claimSortKey(priority, runAt, 60_000);

describe('approval pause and resume in the store', function () {
  let dataDir: string;
  let store: SqliteStore;

  before(async function () {
    ({ store, dataDir } = await openTestStore('approval-store'));
    await createBareWorkflow(store, 'wf', 'approval');
  });

  after(async function () {
    await store?.close();
    removeIfAllPassed(this.test!.parent!, dataDir);
  });

  /** Enqueues and claims one event, and opens an approval for its execution. */
  async function claimWithApproval(): Promise<{ claimed: Awaited<ReturnType<SqliteStore['claim']>>[number]; interactionId: string; token: string }> {
    const now = Date.now();
    await store.enqueue({ workflowId: 'wf', eventType: 'test', eventData: {}, priority: 3, source: 'api', runAt: now, maxAttempts: 3, dedupKey: 'one-at-a-time' }, sortKeyAt(3, now));
    const [claimed] = await store.claim(1, 'test', 60_000);
    const { interactionId, token, tokenHash } = newInteractionToken();
    await store.createInteraction({ interactionId, tokenHash, workflowId: 'wf', executionId: claimed!.executionId, nodeId: 'ask', emailData: { draft: 'd' }, expiresAtMs: now + 3_600_000 });
    return { claimed: claimed!, interactionId, token };
  }

  function pause(claimed: { id: number; leaseToken: string; executionId: string }) {
    return store.finishRun({ eventId: claimed.id, leaseToken: claimed.leaseToken, executionId: claimed.executionId, executionStatus: 'paused', nodeResults: {}, finalOutputs: {}, errorMessage: null, executionMetadata: null, event: { kind: 'paused' } });
  }

  it('pauses without a lease or a spent attempt, is not claimable, keeps its dedup key, and resumes on the answer', async function () {
    const { claimed, interactionId, token } = await claimWithApproval();
    expect(await pause(claimed)).to.equal(true);
    const paused = (await store.getEvent(claimed.id))!;
    expect(paused).to.include({ status: 'paused', attempts: 0, leaseToken: null });
    expect((await store.getExecution(claimed.executionId))!.status).to.equal('paused');
    expect(await store.claim(5, 'test', 60_000)).to.deep.equal([]);
    const again = await store.enqueue({ workflowId: 'wf', eventType: 'test', eventData: {}, priority: 3, source: 'api', runAt: Date.now(), maxAttempts: 3, dedupKey: 'one-at-a-time' }, 0);
    expect(again).to.include({ created: false });

    const answered = await store.answerInteraction({ interactionId, tokenHash: hashInteractionToken(token), action: 'approve', editedDraft: undefined }, sortKeyAt);
    expect(answered).to.include({ kind: 'answered', resumed: true });
    const [resumed] = await store.claim(5, 'test', 60_000);
    expect(resumed).to.include({ id: claimed.id, executionId: claimed.executionId, resumed: true, attempts: 1 });
    await store.finishRun({ eventId: resumed!.id, leaseToken: resumed!.leaseToken, executionId: resumed!.executionId, executionStatus: 'completed', nodeResults: {}, finalOutputs: {}, errorMessage: null, executionMetadata: null, event: { kind: 'completed' } });
  });

  it('does not lose an answer that lands while the run is still winding down', async function () {
    const { claimed, interactionId, token } = await claimWithApproval();
    const answered = await store.answerInteraction({ interactionId, tokenHash: hashInteractionToken(token), action: 'reject', editedDraft: 'x' }, sortKeyAt);
    expect(answered).to.include({ kind: 'answered', resumed: false });
    expect(await pause(claimed)).to.equal(true);
    expect(await store.getEvent(claimed.id)).to.include({ status: 'pending', attempts: 0 });
    expect((await store.getExecution(claimed.executionId))!.status).to.equal('pending');
    const [resumed] = await store.claim(5, 'test', 60_000);
    expect(resumed).to.include({ id: claimed.id, resumed: true });
    expect((await store.findApproval(claimed.executionId, 'ask'))!.status).to.equal('rejected');
  });
});
