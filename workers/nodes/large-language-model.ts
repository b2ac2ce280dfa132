// large_language_model: one chat completion from any OpenAI-compatible endpoint (the `ai` settings).
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeModule } from '../node-contract.js';
import { readProviderSettings, requestChatCompletion } from './chat-completion.js';
import type { ChatMessage } from './chat-completion.js';

/**
 * The large_language_model node: sends `prompt` (the port, else config, else the `input` port) with an
 * optional `system_prompt`, and outputs `response`, `usage`, `model` and `finish_reason`.
 */
export const node: NodeModule = {
  definition: {
    type: 'large_language_model',
    category: 'ai',
    description: 'Asks an OpenAI-compatible chat model and outputs its answer.',
    inputs: [{ name: 'prompt' }, { name: 'input' }],
    outputs: [{ name: 'response' }, { name: 'usage' }, { name: 'model' }, { name: 'finish_reason' }],
    // No defaults on the provider keys: an absent key falls back to the engine's `config.__ai`.
    config: [
      { name: 'prompt', type: 'string' },
      { name: 'system_prompt', type: 'string' },
      { name: 'model', type: 'string' },
      { name: 'temperature', type: 'number' },
      { name: 'max_tokens', type: 'number' },
      { name: 'base_url', type: 'string' },
      { name: 'api_key', type: 'string' },
      { name: 'timeout_seconds', type: 'number' },
    ],
    isolation: 'shared',
  },
  async run(task, { signal }) {
    // `prompt` wins over `input`: the engine fills `input` with the trigger payload whenever it is empty.
    const prompt = textOf(task.inputs.prompt) ?? textOf(task.inputs.input);
    if (prompt === undefined) throw new NodeFailure('missing_input', 'a prompt is required (config "prompt" or input "prompt"/"input")', false);
    const settings = readProviderSettings(task.config);
    const messages: ChatMessage[] = [];
    const system = textOf(task.config.system_prompt);
    if (system !== undefined) messages.push({ role: 'system', content: system });
    messages.push({ role: 'user', content: prompt });
    const answer = await requestChatCompletion(settings, messages, signal);
    return { response: answer.content, usage: answer.usage, model: answer.model, finish_reason: answer.finishReason };
  },
};

function textOf(value: Json | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.trim() === '' ? undefined : text;
}
