// decision: routes a value down its `true` or `false` branch, by fixed rules or by asking the LLM.
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeModule } from '../node-contract.js';
import { readProviderSettings, requestChatCompletion } from './chat-completion.js';

/** How a decision was reached, for `details.rule`. */
type Rule = 'boolean_input' | 'condition_literal' | 'input_field' | 'contains' | 'threshold' | 'llm' | 'fallback';

interface Verdict {
  result: boolean;
  rule: Rule;
  reasoning: string;
  facts?: Record<string, Json>;
}

const literalConditions: Record<string, boolean> = { true: true, yes: true, false: false, no: false };
const verdictFields = ['value', 'result', 'success', 'continue', 'continue_loop'];
const scoreFields = ['score', 'value', 'confidence', 'rating', 'result'];
const containsPattern = /^contains\s+(.+)$/is;
const thresholdPattern = /^(>=|<=|>|<|above|below)\s*(-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?)$/i;
const numericText = /^\s*-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?\s*$/i;
const maxReasoningChars = 500;

/**
 * The decision node. `simple` mode applies the §5 rules in order and otherwise answers false; the
 * `intelligent` mode asks the configured LLM for TRUE/FALSE. Outputs the input on the chosen branch
 * port, `decision_result`, `active_path` and `blocked_outputs` for routing, and `details`.
 * Isolation is `shared` because intelligent mode does HTTP (one isolation per type), so simple-mode
 * decisions are not batched either.
 */
export const node: NodeModule = {
  definition: {
    type: 'decision',
    category: 'logic',
    description: 'Chooses the true or false branch from a condition, by simple rules or by asking the LLM.',
    inputs: [{ name: 'input' }],
    outputs: [
      { name: 'true' },
      { name: 'false' },
      { name: 'decision_result' },
      { name: 'active_path' },
      { name: 'blocked_outputs' },
      { name: 'details' },
    ],
    config: [
      { name: 'condition', type: 'string', required: true },
      { name: 'evaluation_mode', type: 'string', default: 'simple' },
      { name: 'include_reasoning', type: 'boolean', default: true },
    ],
    isolation: 'shared',
  },
  async run(task, { signal }) {
    const input = task.inputs.input ?? null;
    const condition = String(task.config.condition);
    const mode = String(task.config.evaluation_mode).trim().toLowerCase();
    let verdict: Verdict;
    if (mode === 'simple') verdict = decideSimply(condition, input);
    else if (mode === 'intelligent') verdict = await decideWithModel(task.config, condition, input, signal);
    else throw new NodeFailure('invalid_config', 'config "evaluation_mode" must be simple or intelligent', false);
    const withReasoning = task.config.include_reasoning !== false;
    const path = verdict.result ? 'true' : 'false';
    return {
      // Only the chosen branch's port carries the input; the other is absent.
      ...(verdict.result ? { true: input } : { false: input }),
      decision_result: {
        result: verdict.result,
        ...(withReasoning ? { reasoning: verdict.reasoning } : {}),
        mode,
      },
      active_path: path,
      blocked_outputs: [verdict.result ? 'false' : 'true'],
      details: { condition, rule: verdict.rule, ...verdict.facts },
    };
  },
};

// The simple mode's rules, in the order §5 lists them; the first that applies decides.
function decideSimply(condition: string, input: Json): Verdict {
  if (typeof input === 'boolean') return { result: input, rule: 'boolean_input', reasoning: `the input is ${input}` };
  const text = condition.trim();
  const literal = literalConditions[text.toLowerCase()];
  if (literal !== undefined) return { result: literal, rule: 'condition_literal', reasoning: `the condition is "${text}"` };
  const field = verdictField(input);
  if (field !== undefined) {
    return { result: field.value, rule: 'input_field', reasoning: `input field "${field.name}" is ${field.value}`, facts: { field: field.name } };
  }
  const contains = containsPattern.exec(text);
  if (contains) return decideContains(unquote(contains[1]!.trim()), input);
  const threshold = thresholdPattern.exec(text);
  if (threshold) return decideThreshold(threshold[1]!.toLowerCase(), Number(threshold[2]), input);
  return { result: false, rule: 'fallback', reasoning: 'no rule of the simple mode applies to this condition, so it is false' };
}

function verdictField(input: Json): { name: string; value: boolean } | undefined {
  if (!isObject(input)) return undefined;
  for (const name of verdictFields) {
    const value = input[name];
    if (typeof value === 'boolean') return { name, value };
  }
  return undefined;
}

function decideContains(needle: string, input: Json): Verdict {
  const haystack = typeof input === 'string' ? input : JSON.stringify(input);
  const result = haystack.toLowerCase().includes(needle.toLowerCase());
  const reasoning = `the input ${result ? 'contains' : 'does not contain'} "${needle}"`;
  return { result, rule: 'contains', reasoning, facts: { needle } };
}

function decideThreshold(operator: string, limit: number, input: Json): Verdict {
  const score = findScore(input);
  if (score === undefined) {
    return { result: false, rule: 'threshold', reasoning: 'the input has no numeric score to compare, so it is false', facts: { threshold: limit } };
  }
  const result = compare(operator, score.value, limit);
  const reasoning = `${score.name} ${score.value} ${result ? 'is' : 'is not'} ${operator} ${limit}`;
  return { result, rule: 'threshold', reasoning, facts: { score: score.value, score_field: score.name, threshold: limit } };
}

// A number input is its own score (numeric text too: upstream nodes often output text); otherwise
// the first numeric field named like a score.
function findScore(input: Json): { name: string; value: number } | undefined {
  if (typeof input === 'number') return { name: 'input', value: input };
  if (typeof input === 'string' && numericText.test(input)) return { name: 'input', value: Number(input) };
  if (!isObject(input)) return undefined;
  for (const name of scoreFields) {
    const value = input[name];
    if (typeof value === 'number') return { name, value };
  }
  return undefined;
}

function compare(operator: string, value: number, limit: number): boolean {
  switch (operator) {
    case '>':
    case 'above':
      return value > limit;
    case '<':
    case 'below':
      return value < limit;
    case '>=':
      return value >= limit;
    default:
      return value <= limit;
  }
}

async function decideWithModel(config: Record<string, Json>, condition: string, input: Json, signal: AbortSignal): Promise<Verdict> {
  const settings = readProviderSettings(config);
  const data = typeof input === 'string' ? input : JSON.stringify(input, null, 2);
  const answer = await requestChatCompletion(settings, [
    { role: 'system', content: 'You evaluate a condition against input data. Answer with exactly one word: TRUE or FALSE.' },
    { role: 'user', content: `Condition: ${condition}\n\nInput data:\n${data}\n\nIs the condition met? Answer TRUE or FALSE.` },
  ], signal);
  const result = readVerdict(answer.content);
  if (result === undefined) {
    // Another attempt may well get a clear answer from the same model.
    throw new NodeFailure('unclear_llm_answer', `the model did not answer TRUE or FALSE: ${cut(answer.content)}`, true);
  }
  return { result, rule: 'llm', reasoning: cut(answer.content.trim()), facts: { model: answer.model } };
}

// The first word decides when it is a verdict; else the answer must name exactly one of TRUE/FALSE.
function readVerdict(answer: string): boolean | undefined {
  const first = /^[\s*"'`]*(true|false|yes|no)\b/i.exec(answer);
  if (first) return literalConditions[first[1]!.toLowerCase()];
  const saysTrue = /\btrue\b/i.test(answer);
  const saysFalse = /\bfalse\b/i.test(answer);
  return saysTrue === saysFalse ? undefined : saysTrue;
}

function unquote(text: string): string {
  const quoted = /^(["'])(.*)\1$/s.exec(text);
  return quoted ? quoted[2]! : text;
}

function cut(text: string): string {
  return text.length > maxReasoningChars ? `${text.slice(0, maxReasoningChars)}…` : text;
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
