// json_parser: turns JSON text (often an LLM answer wrapped in a markdown fence) into data.
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeModule } from '../node-contract.js';

const jsonFence = /```json[^\S\r\n]*\r?\n?([\s\S]*?)```/i;
const bareFence = /```[^\S\r\n]*\r?\n([\s\S]*?)```/;

/**
 * The json_parser node: outputs `data` and `metadata {success, type, size, extracted}`; invalid JSON
 * fails it as `invalid_json` (not retryable). A non-string input is taken as already-parsed data.
 */
export const node: NodeModule = {
  definition: {
    type: 'json_parser',
    category: 'transform',
    description: 'Parses JSON text, unwrapping a ```json fence; lenient mode also finds JSON inside prose.',
    inputs: [{ name: 'text', required: true }],
    outputs: [{ name: 'data' }, { name: 'metadata' }],
    config: [
      { name: 'strict_mode', type: 'boolean', default: false },
      { name: 'extract_from_markdown', type: 'boolean', default: true },
    ],
    isolation: 'batched',
  },
  run(task) {
    const input = task.inputs.text;
    if (typeof input !== 'string') return describe(input ?? null, false);
    let source = input;
    let extracted = false;
    if (task.config.extract_from_markdown !== false) {
      const fenced = jsonFence.exec(source) ?? bareFence.exec(source);
      if (fenced) {
        source = fenced[1] ?? '';
        extracted = true;
      }
    }
    const strict = task.config.strict_mode === true;
    const parsed = parse(source, strict);
    return describe(parsed.data, extracted || parsed.extracted);
  },
};

// Strict mode parses the (unfenced) text exactly; lenient mode then tries the span from the first
// opening bracket to the last closing one, which is how JSON usually sits inside a chatty answer.
function parse(source: string, strict: boolean): { data: Json; extracted: boolean } {
  const text = strict ? source : source.replace(/^\uFEFF/, '').trim();
  try {
    return { data: JSON.parse(text) as Json, extracted: false };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (!strict) {
      const span = bracketSpan(text);
      if (span !== undefined) {
        try {
          return { data: JSON.parse(span) as Json, extracted: true };
        } catch {
          // Fall through to the original parse error, which describes the text the user gave.
        }
      }
    }
    throw new NodeFailure('invalid_json', `text is not valid JSON: ${reason}`, false);
  }
}

function bracketSpan(text: string): string | undefined {
  const start = text.search(/[[{]/);
  const end = Math.max(text.lastIndexOf('}'), text.lastIndexOf(']'));
  return start >= 0 && end > start ? text.slice(start, end + 1) : undefined;
}

// `size` counts what a condition usually asks about: keys of an object, items of a list, characters
// of a string; 1 for any other scalar and 0 for null.
function describe(data: Json, extracted: boolean) {
  const type = data === null ? 'null' : Array.isArray(data) ? 'array' : typeof data;
  const size = data === null ? 0
    : Array.isArray(data) ? data.length
      : typeof data === 'object' ? Object.keys(data).length
        : typeof data === 'string' ? data.length : 1;
  return { data, metadata: { success: true, type, size, extracted } };
}
