// anomaly_detector: checks metrics against threshold rules and reports what is out of bounds.
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeModule } from '../node-contract.js';
import { readMetrics } from './metrics-input.js';

type Condition = 'greater_than' | 'less_than' | 'equals' | 'not_equals';

interface Rule {
  metric: string;
  condition: Condition;
  threshold: Json;
  severity: string;
  description: string;
}

const conditions: Record<string, Condition> = {
  greater_than: 'greater_than', '>': 'greater_than',
  less_than: 'less_than', '<': 'less_than',
  equals: 'equals', '==': 'equals', '=': 'equals',
  not_equals: 'not_equals', '!=': 'not_equals',
};
const severities = ['low', 'medium', 'high', 'critical'];
const numericText = /^\s*-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\s*$/i;

/**
 * The anomaly_detector node: each rule `{metric, condition, threshold, severity (medium), description}`
 * that holds is an anomaly; outputs `normal`, `anomaly_detected`, `anomalies` and the highest
 * `severity` (low < medium < high < critical), or 'none'. A rule whose metric is absent does not fire.
 */
export const node: NodeModule = {
  definition: {
    type: 'anomaly_detector',
    category: 'monitoring',
    description: 'Flags metrics that break threshold rules, with the highest severity found.',
    inputs: [{ name: 'trigger' }, { name: 'metrics', required: true }],
    outputs: [{ name: 'normal' }, { name: 'anomaly_detected' }, { name: 'anomalies' }, { name: 'severity' }],
    config: [{ name: 'rules', type: 'array', default: [] }],
    isolation: 'batched',
  },
  run(task) {
    const rules = readRules(task.config.rules);
    const metrics = readMetrics(task.inputs.metrics);
    const anomalies: Array<Record<string, Json>> = [];
    let highest = -1;
    for (const rule of rules) {
      const value = lookUp(metrics, rule.metric);
      if (value === undefined || !holds(rule, value)) continue;
      anomalies.push({ metric: rule.metric, value, condition: rule.condition, threshold: rule.threshold, severity: rule.severity, description: rule.description });
      highest = Math.max(highest, severities.indexOf(rule.severity));
    }
    return {
      normal: anomalies.length === 0,
      anomaly_detected: anomalies.length > 0,
      anomalies,
      severity: highest < 0 ? 'none' : severities[highest]!,
    };
  },
};

// Rules are checked whole before any metric is looked at, so a bad rule fails even on quiet data.
function readRules(value: Json | undefined): Rule[] {
  const list = Array.isArray(value) ? value : [];
  return list.map((item, i) => {
    const where = `rules[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalidConfig(`${where} must be an object`);
    const metric = item.metric;
    if (typeof metric !== 'string' || metric.trim() === '') throw invalidConfig(`${where}.metric must name a metric`);
    const condition = conditions[String(item.condition ?? '').trim().toLowerCase()];
    if (condition === undefined) throw invalidConfig(`${where}.condition must be greater_than, less_than, equals or not_equals`);
    const threshold = item.threshold;
    const ordered = condition === 'greater_than' || condition === 'less_than';
    if (threshold === undefined || (ordered && numberOf(threshold) === undefined)) {
      throw invalidConfig(`${where}.threshold must be ${ordered ? 'a number' : 'given'}`);
    }
    const severity = String(item.severity ?? 'medium').trim().toLowerCase();
    if (!severities.includes(severity)) throw invalidConfig(`${where}.severity must be one of ${severities.join(', ')}`);
    const description = typeof item.description === 'string' && item.description !== ''
      ? item.description : `${metric} ${condition} ${JSON.stringify(threshold)}`;
    return { metric, condition, threshold, severity, description };
  });
}

// A key with a dot in it is tried as it stands before being read as a path into nested objects.
function lookUp(metrics: Record<string, Json>, metric: string): Json | undefined {
  if (Object.hasOwn(metrics, metric)) return metrics[metric];
  let current: Json | undefined = metrics;
  for (const part of metric.split('.')) {
    if (typeof current !== 'object' || current === null || Array.isArray(current) || !Object.hasOwn(current, part)) return undefined;
    current = current[part];
  }
  return current;
}

// Ordered conditions need a number on both sides; equality compares numbers as numbers and anything
// else by its JSON text, so "5" equals 5 and {"a":1} equals {"a":1}.
function holds(rule: Rule, value: Json): boolean {
  const left = numberOf(value);
  const right = numberOf(rule.threshold);
  switch (rule.condition) {
    case 'greater_than':
      return left !== undefined && right !== undefined && left > right;
    case 'less_than':
      return left !== undefined && right !== undefined && left < right;
    case 'equals':
      return same(value, rule.threshold, left, right);
    case 'not_equals':
      return !same(value, rule.threshold, left, right);
  }
}

function same(value: Json, threshold: Json, left: number | undefined, right: number | undefined): boolean {
  if (left !== undefined && right !== undefined) return left === right;
  return JSON.stringify(value) === JSON.stringify(threshold);
}

function numberOf(value: Json): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && numericText.test(value)) return Number(value);
  return undefined;
}

function invalidConfig(message: string): NodeFailure {
  return new NodeFailure('invalid_config', message, false);
}
