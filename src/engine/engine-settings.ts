// The settings the engine obeys at run time, read from the settings table with typed defaults.
// Reloaded on a timer (and on demand), so a change takes effect on the next claim or run.
import type { Json } from '../../workers/node-contract.js';
import type { BackoffPolicy } from '../domain/backoff.js';

/** Engine settings in the units the engine uses. */
export interface EngineSettings {
  maxConcurrentNodes: number;
  /** AI nodes (LLM, intelligent decisions) of one execution at once: provider calls are slow and metered. */
  aiConcurrentLimit: number;
  maxConcurrentRunsGlobal: number;
  /** `execution.max_concurrent_runs_per_workflow`: executions of one workflow processing at once. */
  maxConcurrentRunsPerWorkflow: number;
  /** `execution.max_queue_depth_per_workflow`: pending events of one workflow before enqueue is refused. */
  maxQueueDepthPerWorkflow: number;
  defaultTimeoutMs: number;
  workflowTimeoutMs: number;
  httpTimeoutMs: number;
  continueOnError: boolean;
  maxRetries: number;
  backoff: BackoffPolicy;
  payloadMaxChars: number;
  payloadInlineMaxBytes: number;
  maxContentLengthBytes: number;
  /** `storage.upload_dir`: the upload folder, relative to the data folder. */
  uploadDir: string;
  priorityAgingMs: number;
  eventMaxAttempts: number;
  memoryLimitMb: number;
  /** The default OpenAI-compatible provider for AI nodes, or null when AI is off or none is configured. */
  ai: AiProvider | null;
}

/** What an AI node's task gets as `config.__ai`. */
export interface AiProvider {
  [key: string]: Json;
  base_url: string;
  model: string | null;
  temperature: number;
  max_tokens: number;
  timeout_seconds: number;
  api_key: string | null;
  /** The credential holding the provider's key; opened per task, only for the run that needs it. */
  credential_id: string | null;
}

/** The values settings.md ships, used when a row is missing or unreadable. */
export const defaultEngineSettings: EngineSettings = Object.freeze({
  maxConcurrentNodes: 5,
  aiConcurrentLimit: 1,
  maxConcurrentRunsGlobal: 8,
  maxConcurrentRunsPerWorkflow: 20,
  maxQueueDepthPerWorkflow: 200,
  defaultTimeoutMs: 300_000,
  workflowTimeoutMs: 1_800_000,
  httpTimeoutMs: 60_000,
  continueOnError: false,
  maxRetries: 3,
  backoff: Object.freeze({ retryDelaySeconds: 5, backoffMultiplier: 1.5, maxRetryDelaySeconds: 60 }),
  payloadMaxChars: 4000,
  payloadInlineMaxBytes: 262_144,
  maxContentLengthBytes: 104_857_600,
  uploadDir: 'uploads',
  priorityAgingMs: 60_000,
  eventMaxAttempts: 3,
  memoryLimitMb: 512,
  ai: null,
});

/** Builds engine settings from the settings table (category → key → value). */
export function engineSettingsFrom(table: Record<string, Record<string, Json>>): EngineSettings {
  const execution = table.execution ?? {};
  const security = table.security ?? {};
  const d = defaultEngineSettings;
  const num = (value: Json | undefined, fallback: number) => (typeof value === 'number' && Number.isFinite(value) ? value : fallback);
  return Object.freeze({
    maxConcurrentNodes: num(execution.max_concurrent_nodes, d.maxConcurrentNodes),
    aiConcurrentLimit: num(execution.ai_concurrent_limit, d.aiConcurrentLimit),
    maxConcurrentRunsGlobal: num(execution.max_concurrent_runs_global, d.maxConcurrentRunsGlobal),
    maxConcurrentRunsPerWorkflow: num(execution.max_concurrent_runs_per_workflow, d.maxConcurrentRunsPerWorkflow),
    maxQueueDepthPerWorkflow: num(execution.max_queue_depth_per_workflow, d.maxQueueDepthPerWorkflow),
    defaultTimeoutMs: num(execution.default_timeout, d.defaultTimeoutMs / 1000) * 1000,
    workflowTimeoutMs: num(execution.workflow_timeout, d.workflowTimeoutMs / 1000) * 1000,
    httpTimeoutMs: num(execution.http_timeout, d.httpTimeoutMs / 1000) * 1000,
    continueOnError: execution.error_handling === 'continue_on_error',
    maxRetries: num(execution.max_retries, d.maxRetries),
    backoff: Object.freeze({
      retryDelaySeconds: num(execution.retry_delay, d.backoff.retryDelaySeconds),
      backoffMultiplier: num(execution.backoff_multiplier, d.backoff.backoffMultiplier),
      maxRetryDelaySeconds: num(execution.max_retry_delay, d.backoff.maxRetryDelaySeconds),
    }),
    payloadMaxChars: num(execution.payload_max_chars, d.payloadMaxChars),
    payloadInlineMaxBytes: num(execution.payload_inline_max_bytes, d.payloadInlineMaxBytes),
    maxContentLengthBytes: num(security.max_content_length, d.maxContentLengthBytes),
    uploadDir: typeof table.storage?.upload_dir === 'string' && table.storage.upload_dir.trim() !== '' ? table.storage.upload_dir : d.uploadDir,
    priorityAgingMs: num(execution.priority_aging_seconds, d.priorityAgingMs / 1000) * 1000,
    eventMaxAttempts: num(execution.event_max_attempts, d.eventMaxAttempts),
    memoryLimitMb: num(execution.memory_limit_mb, d.memoryLimitMb),
    ai: aiProviderFrom(table.ai ?? {}),
  });
}

/** The default provider of the `ai` settings: `providers[default_provider]` when enabled. */
function aiProviderFrom(ai: Record<string, Json>): AiProvider | null {
  if (ai.enabled === false) return null;
  const providers = ai.providers;
  const name = typeof ai.default_provider === 'string' ? ai.default_provider : 'openai';
  const provider = providers && typeof providers === 'object' && !Array.isArray(providers) ? (providers as Record<string, Json>)[name] : undefined;
  if (!provider || typeof provider !== 'object' || Array.isArray(provider) || provider.enabled === false || typeof provider.base_url !== 'string') return null;
  return {
    base_url: provider.base_url,
    model: typeof provider.default_model === 'string' ? provider.default_model : null,
    temperature: typeof ai.default_temperature === 'number' ? ai.default_temperature : 0.7,
    max_tokens: typeof ai.default_max_tokens === 'number' ? ai.default_max_tokens : 16384,
    timeout_seconds: typeof ai.request_timeout === 'number' ? ai.request_timeout : 120,
    // The key itself is never in settings: it is opened from the credential just before each task.
    api_key: null,
    credential_id: typeof provider.credential_id === 'string' && provider.credential_id !== '' ? provider.credential_id : null,
  };
}

/** Holds the current engine settings and reloads them from a source. */
export class SettingsCache {
  private constructor(
    private readonly load: () => Promise<Record<string, Record<string, Json>>>,
    private current: EngineSettings,
  ) {}

  /** Reads the table once; the cache then always has settings to hand without waiting. */
  static async open(load: () => Promise<Record<string, Record<string, Json>>>): Promise<SettingsCache> {
    return new SettingsCache(load, engineSettingsFrom(await load()));
  }

  /** The settings in force now. */
  get value(): EngineSettings {
    return this.current;
  }

  /** Re-reads the table; a change applies from the next claim or run. */
  async reload(): Promise<EngineSettings> {
    this.current = engineSettingsFrom(await this.load());
    return this.current;
  }
}
