// email_approval (semantics §8) on the main thread. The first time it runs in an execution it opens an
// interaction (an unguessable link token, only its hash stored), optionally mails the review link, and
// pauses the run. When the run is resumed by the answer (or by expiry) it finds the settled interaction
// and outputs `result {action, approved, edited_draft}` and `final_draft`.
import type { Json, NodeError, NodeResult, NodeTask } from '../../workers/node-contract.js';
import { readSmtpSettings, sendOverSmtp, type OutgoingMail, type SentMail, type SmtpSettings } from '../../workers/smtp-transport.js';
import type { Clock } from '../domain/clock.js';
import { isoAt } from '../domain/clock.js';
import type { PayloadLimits } from '../domain/execution.js';
import { approvalOutputs, newInteractionToken } from '../domain/interaction.js';
import type { Logger } from '../log.js';
import type { ExecutionStore, InteractionStore } from '../store/store.js';
import type { LocalNodeResult, LocalNodes } from './execution-run.js';
import { approvalNodeDefinition } from './local-node-definitions.js';
import type { CredentialResolver } from './node-credentials.js';

const hourMs = 3_600_000;
const minTimeoutHours = 1;
const maxTimeoutHours = 168;
const defaultTimeoutHours = 6;

/** What approvals need from the daemon. */
export interface ApprovalDeps {
  store: Pick<InteractionStore, 'findApproval' | 'createInteraction'> & Pick<ExecutionStore, 'recordNodeOutcome'>;
  /** Opens the smtp credential `credential_id` names. */
  credentials?: CredentialResolver;
  clock: Clock;
  log: Logger;
  /** Told of each new interaction's deadline, so the expiry sweeper can wake on time. */
  onOpened?: (expiresAtMs: number) => void;
  /** Sends the review mail; SMTP unless replaced. */
  send?: (settings: SmtpSettings, mail: OutgoingMail) => Promise<SentMail>;
}

/** What one approval asks for, read from its task. */
interface ApprovalRequest {
  draft: Json;
  timeoutHours: number;
  notify: { to: string; baseUrl: string } | null;
}

/** The email_approval handler for the runs of `workflowId`. */
export function approvalNodes(deps: ApprovalDeps, workflowId: string, limits: PayloadLimits): LocalNodes {
  return {
    handles: (nodeType) => nodeType === approvalNodeDefinition.type,
    run: (task, startedAtMs) => runApproval(deps, workflowId, limits, task, startedAtMs),
  };
}

async function runApproval(deps: ApprovalDeps, workflowId: string, limits: PayloadLimits, task: NodeTask, startedAtMs: number): Promise<LocalNodeResult> {
  const started = performance.now();
  const settle = (result: { ok: true; outputs: Record<string, Json> } | { ok: false; error: NodeError }): NodeResult => {
    const durationMs = performance.now() - started;
    deps.store.recordNodeOutcome(
      {
        executionId: task.executionId,
        workflowId,
        nodeId: task.nodeId,
        nodeType: task.nodeType,
        attempt: task.attempt,
        startedAtMs,
        durationMs,
        outputs: result.ok ? result.outputs : null,
        error: result.ok ? null : result.error,
      },
      limits,
    );
    return { ...result, durationMs };
  };
  try {
    const earlier = await deps.store.findApproval(task.executionId, task.nodeId);
    if (earlier?.status === 'pending') return { paused: true, durationMs: performance.now() - started };
    if (earlier) return settle({ ok: true, outputs: approvalOutputs(earlier) });
    const request = readRequest(task);
    if (typeof request === 'string') return settle({ ok: false, error: { code: 'invalid_config', message: request, retryable: false } });
    const failure = await openInteraction(deps, workflowId, task, request);
    return failure ? settle({ ok: false, error: failure }) : { paused: true, durationMs: performance.now() - started };
  } catch (error) {
    // The store refused (closing for shutdown): the run is handed back and this node runs again.
    deps.log.error('approval could not be opened', { executionId: task.executionId, nodeId: task.nodeId, error: String(error) });
    return { ok: false, error: { code: 'internal_error', message: 'the approval could not be recorded', retryable: true }, durationMs: performance.now() - started };
  }
}

/**
 * Mails the link first (when asked), then stores the interaction: a mail that fails leaves nothing
 * behind and the retry mails a fresh link; a link is never stored without having been sent.
 */
async function openInteraction(deps: ApprovalDeps, workflowId: string, task: NodeTask, request: ApprovalRequest): Promise<NodeError | null> {
  const { interactionId, token, tokenHash } = newInteractionToken();
  const expiresAtMs = deps.clock.now() + request.timeoutHours * hourMs;
  if (request.notify) {
    const failure = await notify(deps, task, request, reviewLink(request.notify.baseUrl, interactionId, token), expiresAtMs);
    if (failure) return failure;
  }
  await deps.store.createInteraction({
    interactionId,
    tokenHash,
    workflowId,
    executionId: task.executionId,
    nodeId: task.nodeId,
    emailData: { draft: request.draft, notification_email: request.notify?.to ?? null, notified: request.notify !== null, timeout_hours: request.timeoutHours },
    expiresAtMs,
  });
  deps.onOpened?.(expiresAtMs);
  deps.log.debug('approval requested', { executionId: task.executionId, nodeId: task.nodeId, interactionId, notified: request.notify !== null });
  return null;
}

async function notify(deps: ApprovalDeps, task: NodeTask, request: ApprovalRequest, link: string, expiresAtMs: number): Promise<NodeError | null> {
  const fields = await smtpFields(deps, task);
  if ('error' in fields) return fields.error;
  try {
    const mail: OutgoingMail = {
      to: request.notify!.to,
      subject: 'Approval requested',
      text: reviewText(request.draft, link, expiresAtMs),
    };
    await (deps.send ?? sendOverSmtp)(readSmtpSettings(fields.fields), mail);
    return null;
  } catch (error) {
    const { code, message, retryable } = error as { code?: unknown; message?: unknown; retryable?: unknown };
    return {
      code: typeof code === 'string' ? code : 'smtp_error',
      message: typeof message === 'string' ? message : 'the review mail could not be sent',
      retryable: typeof retryable === 'boolean' ? retryable : true,
    };
  }
}

/** SMTP settings: the credential `credential_id` names, else an object on the `smtp_config` input. */
async function smtpFields(deps: ApprovalDeps, task: NodeTask): Promise<{ fields: Record<string, Json> } | { error: NodeError }> {
  const credentialId = task.config.credential_id;
  if (credentialId !== undefined && credentialId !== null && credentialId !== '') {
    if (!deps.credentials) return { error: { code: 'credential_error', message: 'credentials are not available', retryable: false } };
    const opened = await deps.credentials.resolve(credentialId);
    return opened.ok ? { fields: opened.fields } : { error: opened.error };
  }
  const inline = task.inputs.smtp_config ?? task.config.smtp_config;
  if (typeof inline === 'object' && inline !== null && !Array.isArray(inline)) return { fields: inline };
  return { error: { code: 'invalid_config', message: 'send_notification needs "credential_id" (an smtp credential) or an smtp_config input', retryable: false } };
}

/** Reads the task; a string is the reason it is invalid. */
function readRequest(task: NodeTask): ApprovalRequest | string {
  const draft = task.inputs.draft ?? task.config.draft;
  if (draft === undefined || draft === null) return 'input "draft" is required';
  const hoursValue = task.config.timeout_hours ?? defaultTimeoutHours;
  const timeoutHours = typeof hoursValue === 'string' && hoursValue.trim() !== '' ? Number(hoursValue) : hoursValue;
  if (typeof timeoutHours !== 'number' || !Number.isFinite(timeoutHours) || timeoutHours < minTimeoutHours || timeoutHours > maxTimeoutHours) {
    return `config "timeout_hours" must be a number from ${minTimeoutHours} to ${maxTimeoutHours}`;
  }
  const sendValue = task.config.send_notification;
  if (!(sendValue === true || sendValue === 'true')) return { draft, timeoutHours, notify: null };
  const to = task.config.notification_email;
  if (typeof to !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(to.trim())) return 'send_notification needs "notification_email" (an email address)';
  const baseUrl = task.config.base_url;
  if (typeof baseUrl !== 'string' || !/^https?:\/\/\S+$/i.test(baseUrl.trim())) return 'send_notification needs "base_url" (http or https): the review link is built on it';
  return { draft, timeoutHours, notify: { to: to.trim(), baseUrl: baseUrl.trim().replace(/\/+$/, '') } };
}

/** The link the reviewer opens; the token (base64url) needs no escaping. */
function reviewLink(baseUrl: string, interactionId: string, token: string): string {
  return `${baseUrl}/api/v1/interactions/${interactionId}?token=${token}`;
}

function reviewText(draft: Json, link: string, expiresAtMs: number): string {
  const draftText = typeof draft === 'string' ? draft : JSON.stringify(draft, null, 2);
  const answerUrl = link.slice(0, link.indexOf('?'));
  return [
    'A workflow asks for your approval of this draft:',
    '',
    draftText,
    '',
    `Review it: ${link}`,
    `Answer by POSTing JSON {"token": "<the token in the link>", "action": "approve" or "reject", "edited_draft": optional} to ${answerUrl}`,
    `This request expires at ${isoAt(expiresAtMs)}.`,
  ].join('\n');
}
