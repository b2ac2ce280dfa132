// Several sets of main-thread node handlers (state nodes, approvals) seen by a run as one.
import type { LocalNodes } from './execution-run.js';

/** The first set that handles a node type runs it. */
export function combineLocalNodes(sets: readonly LocalNodes[]): LocalNodes {
  const owner = (nodeType: string) => sets.find((set) => set.handles(nodeType));
  return {
    handles: (nodeType) => owner(nodeType) !== undefined,
    run: (task, startedAtMs) => owner(task.nodeType)!.run(task, startedAtMs),
  };
}
