// Save-time checks of a workflow's trigger nodes: each config must be armable, and two webhook
// triggers of one workflow may not share a path. Listed with the other validation problems (400).
import { AppError } from '../errors.js';
import { parseWebhook, triggerConfigProblems, triggerNodeKinds } from '../domain/trigger-config.js';
import { isRecord, type WorkflowData } from '../domain/workflow.js';
import { parseFilePollConfig } from './file-poll-config.js';

/** Every problem of the workflow's trigger nodes, with where it is. */
export function triggerProblems(data: WorkflowData): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const webhookPaths = new Map<string, string>();
  data.nodes.forEach((node, i) => {
    const kind = isRecord(node) ? triggerNodeKinds[node.node_type] : undefined;
    if (!kind) return;
    const config = isRecord(node.config) ? node.config : {};
    const at = `nodes[${i}].config`;
    if (kind === 'file_polling') return problems.push(...filePollingProblems(config, at));
    for (const problem of triggerConfigProblems(kind, config)) problems.push({ path: `${at}.${problem.key}`, message: problem.message });
    const webhook = kind === 'webhook' ? parseWebhook(config) : null;
    if (webhook === null || typeof webhook === 'string') return;
    const first = webhookPaths.get(webhook.path);
    if (first !== undefined) problems.push({ path: `${at}.path`, message: `webhook path '${webhook.path}' is already used by node '${first}'` });
    else webhookPaths.set(webhook.path, node.node_id);
  });
  return problems;
}

function filePollingProblems(config: Record<string, unknown>, at: string): Array<{ path: string; message: string }> {
  try {
    // A relative watch_folder is resolved against the data folder when armed; any absolute stand-in checks the rest.
    parseFilePollConfig(config as never, '/');
    return [];
  } catch (error) {
    if (!(error instanceof AppError)) throw error;
    const details = Array.isArray(error.details) ? (error.details as Array<{ path: string; message: string }>) : [{ path: '', message: error.message }];
    return details.map((detail) => ({ path: detail.path ? `${at}.${detail.path}` : at, message: detail.message }));
  }
}
