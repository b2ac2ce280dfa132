// Human in the loop, assembled for the daemon: the email_approval handler runs use, and the sweeper
// that expires unanswered approvals. main.ts builds one and starts/stops it with the dispatcher.
import { claimSortKey } from '../domain/event.js';
import type { Clock } from '../domain/clock.js';
import type { PayloadLimits } from '../domain/execution.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { approvalNodes } from './email-approval.js';
import type { LocalNodes } from './execution-run.js';
import { InteractionSweeper } from './interaction-sweeper.js';
import type { CredentialResolver } from './node-credentials.js';

/** What the service is built from. */
export interface ApprovalServiceDeps {
  store: Store;
  credentials?: CredentialResolver;
  /** The queue's aging (settings, read at resume time). */
  priorityAgingMs: () => number;
  /** Tells the dispatcher a resumed event waits. */
  wake: () => void;
  clock: Clock;
  log: Logger;
}

/** The approval handler factory for the runner, and the expiry sweeper's lifecycle. */
export interface ApprovalService {
  nodes(workflowId: string, limits: PayloadLimits): LocalNodes;
  start(): void;
  stop(): void;
}

/** Builds the daemon's approval service. */
export function createApprovalService(deps: ApprovalServiceDeps): ApprovalService {
  const sweeper = new InteractionSweeper({
    store: deps.store,
    sortKeyAt: (priority, runAtMs) => claimSortKey(priority, runAtMs, deps.priorityAgingMs()),
    onResumed: deps.wake,
    clock: deps.clock,
    log: deps.log,
  });
  const nodeDeps = { store: deps.store, credentials: deps.credentials, clock: deps.clock, log: deps.log, onOpened: (at: number) => sweeper.watch(at) };
  return {
    nodes: (workflowId, limits) => approvalNodes(nodeDeps, workflowId, limits),
    start: () => sweeper.start(),
    stop: () => sweeper.stop(),
  };
}
