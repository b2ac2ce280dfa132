// The interactions family of the PostgreSQL adapter, the twin of store/sqlite/sqlite-interactions.ts:
// human-in-the-loop questions and the resume of the executions waiting on them (InteractionStore).
// findApproval reads from the pool and only goes through the writer when the interaction it found
// must be expired first (SQLite sends every call through its writer; here a read costs no queue slot).
import type { InteractionAnswer, NewInteraction } from '../../domain/interaction.js';
import type { InteractionListFilter, InteractionStore } from '../interaction-store.js';
import * as interactions from './pg-interaction-sql.js';
import { PgFamily } from './pg-family.js';

/** Interactions on PostgreSQL. */
export class PgInteractions extends PgFamily implements InteractionStore {
  async findApproval(executionId: string, nodeId: string) {
    const nowMs = this.clock.now();
    const row = await interactions.selectApprovalRow(this.db, executionId, nodeId);
    if (!row) return null;
    return interactions.liveApproval(row, nowMs) ?? this.writer.write((trx) => interactions.expireApproval(trx, row, nowMs));
  }

  createInteraction(input: NewInteraction) {
    return this.writer.write((trx) => interactions.insertInteraction(trx, input, this.clock.now()));
  }

  answerInteraction(answer: InteractionAnswer, sortKeyAt: (priority: number, runAt: number) => number) {
    return this.writer.write((trx) => interactions.answerInteraction(trx, answer, this.clock.now(), sortKeyAt));
  }

  expireInteraction(interactionId: string, sortKeyAt: (priority: number, runAt: number) => number) {
    return this.writer.write((trx) => interactions.expireInteraction(trx, interactionId, this.clock.now(), sortKeyAt));
  }

  dueInteractionIds(limit: number) {
    return interactions.selectDueInteractionIds(this.db, this.clock.now(), limit);
  }

  nextInteractionExpiry() {
    return interactions.selectNextExpiry(this.db);
  }

  getInteractionByToken(interactionId: string, tokenHash: string) {
    return interactions.selectInteractionByToken(this.db, interactionId, tokenHash);
  }

  listInteractions(filter: InteractionListFilter) {
    return interactions.selectInteractions(this.db, filter);
  }
}
