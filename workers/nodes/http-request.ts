// http_request: calls any HTTP(S) URL and turns the answer, or the lack of one, into outputs or a coded failure.
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeModule, NodeTask } from '../node-contract.js';

type Config = NodeTask['config'];
type AuthType = 'none' | 'basic' | 'bearer' | 'api_key_header' | 'api_key_query';

const authTypes = ['none', 'basic', 'bearer', 'api_key_header', 'api_key_query', 'credential'];
const bodyTypes = ['json', 'form', 'text', 'none'];
const maxTimeoutMs = 2 ** 31 - 1;
const errorSnippetChars = 200;

/**
 * The http_request node: outputs `response` (JSON when the server says so, else text), `status_code`,
 * `headers` and `success`. Non-2xx fails as `http_<status>`, retryable for 5xx, 408 and 429.
 */
export const node: NodeModule = {
  definition: {
    type: 'http_request',
    category: 'integration',
    description: 'Sends an HTTP request and outputs the parsed response.',
    inputs: [{ name: 'data' }],
    outputs: [{ name: 'response' }, { name: 'status_code' }, { name: 'headers' }, { name: 'success' }],
    config: [
      { name: 'url', type: 'string', required: true },
      { name: 'method', type: 'string', default: 'GET' },
      { name: 'auth_type', type: 'string', default: 'none' },
      { name: 'credential_id', type: 'any' },
      { name: 'credential', type: 'object' },
      { name: 'username', type: 'string' },
      { name: 'password', type: 'string' },
      { name: 'token', type: 'string' },
      { name: 'api_key', type: 'string' },
      { name: 'api_key_name', type: 'string' },
      { name: 'headers', type: 'object', default: {} },
      { name: 'query_params', type: 'object', default: {} },
      { name: 'body_type', type: 'string', default: 'json' },
      { name: 'body', type: 'any' },
      { name: 'timeout', type: 'number', default: 30 },
      { name: 'follow_redirects', type: 'boolean', default: true },
    ],
    isolation: 'shared',
  },
  async run(task, { signal }) {
    const { config } = task;
    const url = buildUrl(config);
    const method = readMethod(config);
    const headers = buildHeaders(config);
    applyAuth(config, url, headers);
    const body = buildBody(config, task.inputs.data, method, headers);
    const timeoutMs = readTimeoutMs(config);
    const deadline = AbortSignal.timeout(timeoutMs);
    const followRedirects = config.follow_redirects !== false;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method,
        headers,
        body,
        redirect: followRedirects ? 'follow' : 'manual',
        signal: AbortSignal.any([signal, deadline]),
      });
      text = await response.text();
    } catch (err) {
      throw transportFailure(err, url, deadline, timeoutMs);
    }
    // Without redirect following, a 3xx is the answer that was asked for, not a failure.
    const redirectKept = !followRedirects && response.status >= 300 && response.status < 400;
    if (!response.ok && !redirectKept) throw statusFailure(response, text);
    return {
      response: parsePayload(response.headers.get('content-type'), text),
      status_code: response.status,
      headers: headersObject(response.headers),
      success: true,
    };
  },
};

function invalidConfig(message: string): NodeFailure {
  return new NodeFailure('invalid_config', message, false);
}

function buildUrl(config: Config): URL {
  let url: URL;
  try {
    url = new URL(String(config.url));
  } catch {
    throw invalidConfig(`config "url" is not a valid URL: ${String(config.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalidConfig('config "url" must be http or https');
  // fetch refuses URLs with embedded credentials; say so now rather than as a network error.
  if (url.username !== '' || url.password !== '') throw invalidConfig('put credentials in auth settings, not the URL');
  for (const [name, value] of Object.entries(objectOf(config.query_params))) {
    url.searchParams.append(name, asText(value));
  }
  return url;
}

function readMethod(config: Config): string {
  const method = String(config.method ?? 'GET').trim().toUpperCase();
  if (!/^[A-Z]+$/.test(method)) throw invalidConfig(`config "method" is not an HTTP method: ${method}`);
  return method;
}

function buildHeaders(config: Config): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(objectOf(config.headers))) {
    try {
      headers.set(name, asText(value));
    } catch {
      throw invalidConfig(`header "${name}" has an invalid name or value`);
    }
  }
  return headers;
}

function applyAuth(config: Config, url: URL, headers: Headers): void {
  const authType = resolveAuthType(config);
  const field = (name: string): string | undefined => authField(config, name);
  const required = (name: string): string => {
    const value = field(name);
    if (value === undefined) throw invalidConfig(`auth type ${authType} needs "${name}"`);
    return value;
  };
  switch (authType) {
    case 'none':
      return;
    case 'basic': {
      const pair = `${required('username')}:${field('password') ?? ''}`;
      headers.set('Authorization', `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`);
      return;
    }
    case 'bearer':
      headers.set('Authorization', `Bearer ${required('token')}`);
      return;
    case 'api_key_header':
      headers.set(field('api_key_name') ?? 'X-API-Key', required('api_key'));
      return;
    case 'api_key_query':
      url.searchParams.set(field('api_key_name') ?? 'api_key', required('api_key'));
      return;
  }
}

// For auth_type "credential" the engine puts the decrypted fields in config.credential; the scheme is
// the credential's own `auth_type` when it has one, else inferred from which secret it carries.
function resolveAuthType(config: Config): AuthType {
  const declared = String(config.auth_type ?? 'none');
  if (!authTypes.includes(declared)) throw invalidConfig(`config "auth_type" is not one of ${authTypes.join(', ')}`);
  if (declared !== 'credential') return declared as AuthType;
  const credential = config.credential;
  if (typeof credential !== 'object' || credential === null || Array.isArray(credential)) {
    throw new NodeFailure('missing_credential', 'auth type credential needs the decrypted credential', false);
  }
  const own = credential.auth_type;
  if (typeof own === 'string' && own !== 'credential' && authTypes.includes(own)) return own as AuthType;
  if (authField(config, 'token') !== undefined) return 'bearer';
  if (authField(config, 'username') !== undefined) return 'basic';
  if (authField(config, 'api_key') !== undefined) return 'api_key_header';
  throw new NodeFailure('invalid_credential', 'the credential has no token, username or api_key', false);
}

function authField(config: Config, name: string): string | undefined {
  const credential = objectOf(config.credential);
  const value = credential[name] ?? config[name];
  if (typeof value === 'string' && value !== '') return value;
  return typeof value === 'number' ? String(value) : undefined;
}

function buildBody(config: Config, data: Json | undefined, method: string, headers: Headers): string | undefined {
  const bodyType = String(config.body_type ?? 'json');
  if (!bodyTypes.includes(bodyType)) throw invalidConfig(`config "body_type" is not one of ${bodyTypes.join(', ')}`);
  const value = config.body !== undefined ? config.body : data;
  // fetch rejects a body on GET and HEAD; an input arriving at such a node is simply not sent.
  if (bodyType === 'none' || value === undefined || method === 'GET' || method === 'HEAD') return undefined;
  const setType = (type: string): void => {
    if (!headers.has('content-type')) headers.set('content-type', type);
  };
  if (bodyType === 'form') {
    setType('application/x-www-form-urlencoded');
    if (typeof value === 'string') return value;
    const form = new URLSearchParams();
    for (const [name, item] of Object.entries(objectOf(value))) form.append(name, asText(item));
    return form.toString();
  }
  if (bodyType === 'text') {
    setType('text/plain; charset=utf-8');
    return asText(value);
  }
  setType('application/json');
  // A string is taken as JSON already: templates render objects as JSON text.
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function readTimeoutMs(config: Config): number {
  const seconds = typeof config.timeout === 'number' ? config.timeout : 30;
  const ms = seconds * 1000;
  if (!(ms > 0)) throw invalidConfig('config "timeout" must be more than 0 seconds');
  return Math.min(ms, maxTimeoutMs);
}

function transportFailure(err: unknown, url: URL, deadline: AbortSignal, timeoutMs: number): NodeFailure {
  if (deadline.aborted) return new NodeFailure('timeout', `no response from ${url.host} within ${timeoutMs} ms`, true);
  const cause = (err as { cause?: unknown } | null)?.cause;
  const detail = cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err);
  return new NodeFailure('http_network_error', `request to ${url.host} failed: ${detail}`, true);
}

function statusFailure(response: Response, text: string): NodeFailure {
  const status = response.status;
  const retryable = status >= 500 || status === 408 || status === 429;
  const snippet = text.length > errorSnippetChars ? `${text.slice(0, errorSnippetChars)}…` : text;
  const message = `HTTP ${status} ${response.statusText}${snippet === '' ? '' : `: ${snippet}`}`;
  return new NodeFailure(`http_${status}`, message, retryable);
}

function parsePayload(contentType: string | null, text: string): Json {
  if (contentType === null || !/[/+]json\b/i.test(contentType)) return text;
  if (text.trim() === '') return null;
  try {
    return JSON.parse(text) as Json;
  } catch {
    // A server that mislabels its body still gets its answer through, as text.
    return text;
  }
}

function headersObject(headers: Headers): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of headers) {
    result[name] = result[name] === undefined ? value : `${result[name]}, ${value}`;
  }
  return result;
}

function objectOf(value: Json | undefined): Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {};
}

function asText(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
