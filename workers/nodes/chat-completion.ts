// The OpenAI-compatible chat completions call, shared by large_language_model and decision's intelligent
// mode. Provider settings come from the engine (`config.__ai`); a node's own config key wins over them.
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeTask } from '../node-contract.js';

/** Where and how to ask the model. */
export interface ProviderSettings {
  baseUrl: string;
  apiKey?: string;
  model?: string;
  temperature?: number;
  maxTokens?: number;
  /** Own deadline of the call; the node's task timeout applies as well. */
  timeoutMs?: number;
}

/** One chat message. */
export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

/** The parts of a chat completion the nodes output. */
export interface ChatAnswer {
  content: string;
  usage: Json;
  model: Json;
  finishReason: Json;
}

const maxTimeoutMs = 2 ** 31 - 1;
const errorSnippetChars = 300;

/** Reads provider settings from `config.__ai`, each key overridden by the node config key of the same name. */
export function readProviderSettings(config: NodeTask['config']): ProviderSettings {
  const injected = objectOf(config.__ai);
  const pick = (name: string): Json | undefined => {
    const own = config[name];
    return own !== undefined && own !== null && own !== '' ? own : injected[name];
  };
  const baseUrl = textOf(pick('base_url'));
  if (baseUrl === undefined) {
    throw invalidConfig('no LLM provider is configured: base_url is missing (set the ai settings)');
  }
  checkBaseUrl(baseUrl);
  const timeoutSeconds = numberOf(pick('timeout_seconds'), 'timeout_seconds');
  if (timeoutSeconds !== undefined && !(timeoutSeconds > 0)) throw invalidConfig('timeout_seconds must be more than 0');
  const maxTokens = numberOf(pick('max_tokens'), 'max_tokens');
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens > 0)) {
    throw invalidConfig('max_tokens must be a positive whole number');
  }
  return {
    baseUrl,
    apiKey: textOf(pick('api_key')),
    model: textOf(pick('model')),
    temperature: numberOf(pick('temperature'), 'temperature'),
    maxTokens,
    timeoutMs: timeoutSeconds === undefined ? undefined : Math.min(timeoutSeconds * 1000, maxTimeoutMs),
  };
}

/**
 * POSTs `${baseUrl}/chat/completions` and returns the first choice. HTTP 5xx, 408, 429, network errors
 * and timeouts fail retryably; any other 4xx, or an answer that is not a chat completion, does not.
 */
export async function requestChatCompletion(
  settings: ProviderSettings,
  messages: ChatMessage[],
  signal: AbortSignal,
): Promise<ChatAnswer> {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  const body: Record<string, Json> = { messages: messages.map((m) => ({ role: m.role, content: m.content })) };
  if (settings.model !== undefined) body.model = settings.model;
  if (settings.temperature !== undefined) body.temperature = settings.temperature;
  if (settings.maxTokens !== undefined) body.max_tokens = settings.maxTokens;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (settings.apiKey !== undefined) headers.authorization = `Bearer ${settings.apiKey}`;
  const deadline = settings.timeoutMs === undefined ? undefined : AbortSignal.timeout(settings.timeoutMs);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: deadline === undefined ? signal : AbortSignal.any([signal, deadline]),
    });
    text = await response.text();
  } catch (err) {
    if (deadline?.aborted) {
      throw new NodeFailure('timeout', `the LLM provider did not answer within ${settings.timeoutMs} ms`, true);
    }
    const cause = (err as { cause?: unknown } | null)?.cause;
    const detail = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
    throw new NodeFailure('http_network_error', `request to the LLM provider failed: ${detail}`, true);
  }
  if (!response.ok) throw statusFailure(response.status, text);
  return readAnswer(text, settings.model);
}

function checkBaseUrl(baseUrl: string): void {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw invalidConfig(`base_url is not a valid URL: ${baseUrl}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidConfig('base_url must be http or https');
}

function statusFailure(status: number, text: string): NodeFailure {
  const retryable = status >= 500 || status === 408 || status === 429;
  // OpenAI-style servers explain themselves in error.message; otherwise show the start of the body.
  let detail = text;
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string') detail = message;
  } catch {
    // Not JSON: the raw text is the explanation.
  }
  const snippet = detail.length > errorSnippetChars ? `${detail.slice(0, errorSnippetChars)}…` : detail;
  return new NodeFailure(`http_${status}`, `the LLM provider answered HTTP ${status}${snippet === '' ? '' : `: ${snippet}`}`, retryable);
}

function readAnswer(text: string, requestedModel: string | undefined): ChatAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidResponse('the answer is not JSON');
  }
  const answer = objectOf(parsed as Json);
  const choices = answer.choices;
  const first = Array.isArray(choices) ? objectOf(choices[0]) : {};
  const message = objectOf(first.message);
  const content = contentText(message.content);
  if (content === undefined) throw invalidResponse('choices[0].message.content is missing');
  return {
    content,
    usage: answer.usage ?? null,
    model: typeof answer.model === 'string' ? answer.model : requestedModel ?? null,
    finishReason: typeof first.finish_reason === 'string' ? first.finish_reason : null,
  };
}

// Some compatible servers send content as a list of typed parts; the text parts are the answer.
function contentText(content: Json | undefined): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  return content.map((part) => textOf(objectOf(part).text) ?? '').join('');
}

function invalidResponse(reason: string): NodeFailure {
  return new NodeFailure('invalid_llm_response', `the LLM provider's answer is not a chat completion: ${reason}`, false);
}

function invalidConfig(message: string): NodeFailure {
  return new NodeFailure('invalid_config', message, false);
}

function objectOf(value: Json | undefined): Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

function textOf(value: Json | undefined): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

// __ai values come from settings (numbers); undeclared node config keys may arrive as rendered strings.
function numberOf(value: Json | undefined, name: string): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'string' ? Number(value.trim()) : value;
  if (typeof number !== 'number' || !Number.isFinite(number)) throw invalidConfig(`${name} must be a number`);
  return number;
}
