// The settings rows every benchmark daemon starts with, written before start by prepareDatabase.

/**
 * Execution settings of the benchmark. The global run limit is the top of its range (8 by default
 * would measure the limit, not the engine). The per-workflow limits are also set to the top of their
 * range: every scenario runs one workflow, so a per-workflow cap would otherwise be what is measured.
 * Retention is off: its first pass (3 s after start) would trim the executions a drain is counting.
 */
export const benchSettings: Record<string, Record<string, unknown>> = {
  execution: {
    max_concurrent_runs_global: 200,
    max_concurrent_runs_per_workflow: 50,
    max_queue_depth_per_workflow: 10_000,
  },
  storage: { auto_cleanup: false },
};
