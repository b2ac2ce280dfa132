// The interactions family of the SQLite adapter: human-in-the-loop questions and the resume of the
// executions waiting on them (InteractionStore). findApproval goes through the writer because it may
// expire the interaction it finds.
import type { InteractionAnswer, NewInteraction } from '../../domain/interaction.js';
import type { InteractionListFilter, InteractionStore } from '../interaction-store.js';
import * as interactions from './interaction-sql.js';
import { SqliteFamily } from './sqlite-family.js';

/** Interactions on SQLite. */
export class SqliteInteractions extends SqliteFamily implements InteractionStore {
  findApproval(executionId: string, nodeId: string) {
    return this.writer.write((db) => interactions.selectApproval(db, executionId, nodeId, this.clock.now()));
  }

  createInteraction(input: NewInteraction) {
    return this.writer.write((db) => interactions.insertInteraction(db, input, this.clock.now()));
  }

  answerInteraction(answer: InteractionAnswer, sortKeyAt: (priority: number, runAt: number) => number) {
    return this.writer.write((db) => interactions.answerInteraction(db, answer, this.clock.now(), sortKeyAt));
  }

  expireInteraction(interactionId: string, sortKeyAt: (priority: number, runAt: number) => number) {
    return this.writer.write((db) => interactions.expireInteraction(db, interactionId, this.clock.now(), sortKeyAt));
  }

  async dueInteractionIds(limit: number) {
    return interactions.selectDueInteractionIds(this.readDb, this.clock.now(), limit);
  }

  async nextInteractionExpiry() {
    return interactions.selectNextExpiry(this.readDb);
  }

  async getInteractionByToken(interactionId: string, tokenHash: string) {
    return interactions.selectInteractionByToken(this.readDb, interactionId, tokenHash);
  }

  async listInteractions(filter: InteractionListFilter) {
    return interactions.selectInteractions(this.readDb, filter);
  }
}
