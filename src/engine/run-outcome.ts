// How an attempt ended, from its records (semantics §2): the status, and the final outputs of its sinks.
import type { PortValues } from '../../workers/node-contract.js';
import type { NodeRunRecord } from '../domain/execution.js';
import type { ExecutionRunOutcome } from './execution-run-contract.js';
import type { RunRecords } from './run-records.js';

/**
 * Builds the outcome once the run has ended. A failure that stopped the run outranks the abort it
 * caused; under continue_on_error a failure is reported but the run still completes.
 */
export function buildRunOutcome(records: RunRecords, sinks: readonly string[], aborted: boolean, continueOnError: boolean): ExecutionRunOutcome {
  const failure = records.firstFailure;
  const failed = failure !== null && !continueOnError;
  return {
    status: aborted && !failed ? 'aborted' : failed ? 'failed' : records.paused ? 'paused' : 'completed',
    nodeResults: records.byNode,
    finalOutputs: collectFinalOutputs(sinks, records.byNode),
    error: failure?.error ?? null,
    failedNodeId: failure?.nodeId ?? null,
  };
}

/** The outputs of the sinks (nodes nothing depends on) that completed. */
function collectFinalOutputs(sinks: readonly string[], byNode: Record<string, NodeRunRecord>): Record<string, PortValues> {
  const finalOutputs: Record<string, PortValues> = {};
  for (const id of sinks) {
    const record = byNode[id];
    if (record?.status === 'completed' && record.outputs) finalOutputs[id] = record.outputs;
  }
  return finalOutputs;
}
