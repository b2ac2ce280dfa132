// Reading the `metrics` input shared by metric_tracker and anomaly_detector.
import { NodeFailure } from '../node-contract.js';
import type { Json } from '../node-contract.js';

/** The metrics object from the port: an object, or JSON text of one (a rendered template). */
export function readMetrics(value: Json | undefined): Record<string, Json> {
  let metrics: Json | undefined = value;
  if (typeof value === 'string') {
    try {
      metrics = JSON.parse(value) as Json;
    } catch {
      metrics = undefined;
    }
  }
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) {
    throw new NodeFailure('invalid_input', 'input "metrics" must be an object of metric values', false);
  }
  return metrics;
}
