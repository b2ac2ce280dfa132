// Decision routing (semantics §5): a node is a router when its outputs name the live branch
// (`active_path`) or the blocked ones (`blocked_outputs`, also inside `decision_result`).
import type { Json, PortValues } from '../../workers/node-contract.js';
import { isRecord } from '../domain/workflow.js';

/** The branches a finished node blocks, or null when it routes nothing. */
export function blockedBranches(outputs: PortValues): ReadonlySet<string> | null {
  const blocked = new Set<string>();
  const result = outputs.decision_result;
  const lists = [outputs.blocked_outputs, isRecord(result) ? (result as Record<string, Json>).blocked_outputs : undefined];
  for (const list of lists) if (Array.isArray(list)) for (const branch of list) if (typeof branch === 'string') blocked.add(branch);
  const active = outputs.active_path;
  if (typeof active === 'string' || typeof active === 'boolean') {
    // With only an active path, the other of true/false is the blocked one.
    const live = String(active);
    if (live === 'true') blocked.add('false');
    else if (live === 'false') blocked.add('true');
    blocked.delete(live);
  }
  return blocked.size > 0 ? blocked : null;
}
