// text_display: shows a value as text, with counts and a bounded preview for the UI.
import type { NodeModule } from '../node-contract.js';

/** The text_display node: passes `text` on and adds `preview_data` with counts and a cut preview. */
export const node: NodeModule = {
  definition: {
    type: 'text_display',
    category: 'output',
    description: 'Passes text through and describes it: preview, characters, words, lines.',
    inputs: [{ name: 'text', required: true }],
    outputs: [{ name: 'text' }, { name: 'preview_data' }],
    config: [{ name: 'max_preview_length', type: 'number', default: 1000 }],
    isolation: 'batched',
  },
  run(task) {
    const value = task.inputs.text;
    const text = typeof value === 'string' ? value : JSON.stringify(value ?? null);
    const limit = task.config.max_preview_length;
    const maxChars = typeof limit === 'number' ? Math.max(0, Math.floor(limit)) : 1000;
    const preview = cutCodePoints(text, maxChars);
    return {
      text,
      preview_data: {
        type: 'text',
        text: preview.text,
        char_count: preview.charCount,
        word_count: text.split(/\s+/).filter((word) => word !== '').length,
        line_count: text === '' ? 0 : text.split(/\r\n|\r|\n/).length,
        is_truncated: preview.charCount > maxChars,
      },
    };
  },
};

// Counts and cuts by code point, as TAV (Python) did, so an emoji is one character and a preview
// never ends in half a surrogate pair.
function cutCodePoints(text: string, maxChars: number): { text: string; charCount: number } {
  let charCount = 0;
  let cutAt = text.length;
  let index = 0;
  for (const char of text) {
    if (charCount === maxChars) cutAt = index;
    charCount += 1;
    index += char.length;
  }
  return { text: charCount > maxChars ? text.slice(0, cutAt) : text, charCount };
}
