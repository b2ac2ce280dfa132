// Human in the loop (semantics §8): an email_interactions row is a question put to a person. Its link
// token is the only key to answer it, so only a SHA-256 of the token is stored and compared.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Json, PortValues } from '../../workers/node-contract.js';

/** Every status an interaction may have, for filters. */
export const interactionStatuses = ['pending', 'approved', 'rejected', 'expired', 'cancelled'] as const;

/** Where an interaction is: waiting, answered, run out of time, or closed with its execution. */
export type InteractionStatus = (typeof interactionStatuses)[number];

/** What a reviewer may answer. */
export type InteractionAction = 'approve' | 'reject';

/** An interaction as the API shows it: never its token or the token's hash. */
export interface InteractionView {
  id: string;
  workflow_id: string;
  execution_id: string | null;
  node_id: string | null;
  interaction_type: string;
  status: InteractionStatus;
  email_data: Json;
  response_data: Json;
  created_at: string;
  responded_at: string | null;
  expires_at: string | null;
}

/** A new interaction, as email_approval opens it. */
export interface NewInteraction {
  interactionId: string;
  tokenHash: string;
  workflowId: string;
  executionId: string;
  nodeId: string;
  emailData: Json;
  expiresAtMs: number;
}

/** A reviewer's answer, with the hash of the token it presented (null: an admin key authorised it). */
export interface InteractionAnswer {
  interactionId: string;
  tokenHash: string | null;
  action: InteractionAction;
  editedDraft: Json | undefined;
}

/** How answering ended: the new status, or why it was refused. */
export type AnswerOutcome =
  | { kind: 'answered'; interaction: InteractionView; resumed: boolean }
  | { kind: 'not_found' }
  | { kind: 'already_answered'; status: InteractionStatus }
  | { kind: 'closed'; status: InteractionStatus }
  | { kind: 'expired' };

/** A fresh link token (32 random bytes, base64url) with its id and hash; the token itself is never stored. */
export function newInteractionToken(): { interactionId: string; token: string; tokenHash: string } {
  const token = randomBytes(32).toString('base64url');
  return { interactionId: randomUUID(), token, tokenHash: hashInteractionToken(token) };
}

/** The stored form of a token. */
export function hashInteractionToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Compares hashes in constant time, so the answer time does not leak how much of a guess was right. */
export function tokenHashMatches(stored: string | null, presented: string): boolean {
  if (stored === null || stored.length !== presented.length) return false;
  return timingSafeEqual(Buffer.from(stored, 'utf8'), Buffer.from(presented, 'utf8'));
}

/** True when a pending interaction's time is up at `nowMs`. */
export function isPastExpiry(view: Pick<InteractionView, 'status' | 'expires_at'>, nowMs: number): boolean {
  return view.status === 'pending' && view.expires_at !== null && Date.parse(view.expires_at) <= nowMs;
}

/**
 * email_approval's outputs once its interaction is settled: `result {action, approved, edited_draft}`
 * and `final_draft` (the edited draft when the reviewer gave one, else the original).
 */
export function approvalOutputs(view: InteractionView): PortValues {
  const response = isObject(view.response_data) ? view.response_data : {};
  const draft = isObject(view.email_data) ? (view.email_data.draft ?? null) : null;
  const edited = response.edited_draft ?? null;
  const action = view.status === 'approved' ? 'approve' : view.status === 'rejected' ? 'reject' : 'expired';
  return {
    result: { action, approved: view.status === 'approved', edited_draft: edited, interaction_id: view.id },
    final_draft: edited ?? draft,
  };
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
