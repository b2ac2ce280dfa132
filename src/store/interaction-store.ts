// The storage port of human-in-the-loop questions (email_interactions) and the pause/resume of the
// executions waiting on them. Part of `Store` (store.ts).
import type { AnswerOutcome, InteractionAnswer, InteractionStatus, InteractionView, NewInteraction } from '../domain/interaction.js';

/** Filters for listing interactions (human in the loop). */
export interface InteractionListFilter {
  status?: InteractionStatus;
  workflowId?: string;
  executionId?: string;
  limit: number;
  /** Interactions with a row id below this one (pages go newest first). */
  beforeId?: number;
}

/** Human-in-the-loop questions (email_interactions) and the pause/resume of their executions. */
export interface InteractionStore {
  /** The interaction an execution's node opened earlier (expired first when its time is up), or null. */
  findApproval(executionId: string, nodeId: string): Promise<InteractionView | null>;
  /** Opens an interaction (only the token's hash is stored). */
  createInteraction(input: NewInteraction): Promise<InteractionView>;
  /** Records an answer and resumes the paused execution in the same transaction. */
  answerInteraction(answer: InteractionAnswer, sortKeyAt: (priority: number, runAt: number) => number): Promise<AnswerOutcome>;
  /** Expires a pending interaction whose time is up and resumes its execution; false when not due. */
  expireInteraction(interactionId: string, sortKeyAt: (priority: number, runAt: number) => number): Promise<boolean>;
  /** Ids of pending interactions past their deadline. */
  dueInteractionIds(limit: number): Promise<string[]>;
  /** Epoch ms of the earliest pending deadline, or null. */
  nextInteractionExpiry(): Promise<number | null>;
  /** The interaction when `tokenHash` matches its token, else null. */
  getInteractionByToken(interactionId: string, tokenHash: string): Promise<InteractionView | null>;
  listInteractions(filter: InteractionListFilter): Promise<Array<{ cursor: number; interaction: InteractionView }>>;
}
