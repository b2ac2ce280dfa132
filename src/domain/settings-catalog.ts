// Every default setting TAV ships (reference/settings.md), with the range the API validates against.
// Pure data: the seeds insert it, the settings API validates with it, the engine falls back to it.
// Where settings.md gives no range we chose a conservative one (marked "range ours"); a value outside
// it is refused, never clamped.

/** Setting categories, in the order the settings API lists them. */
export const settingCategories = [
  'execution',
  'storage',
  'backup',
  'security',
  'ai',
  'ui',
  'network',
  'integrations',
  'developer',
] as const;

/** One of the settings categories. */
export type SettingCategory = (typeof settingCategories)[number];

/** How a setting value is validated. */
export type SettingKind = 'integer' | 'number' | 'boolean' | 'string' | 'enum' | 'object' | 'array';

/** A default setting and the bounds a new value must respect. */
export interface SettingDefinition {
  category: SettingCategory;
  key: string;
  default: unknown;
  kind: SettingKind;
  /** Inclusive lower bound, integer/number kinds only. */
  min?: number;
  /** Inclusive upper bound, integer/number kinds only. */
  max?: number;
  /** The accepted values of an enum kind. */
  allowed?: readonly string[];
  /** True where the daemon obeys the value at run time; false where it is only stored and served. */
  engine: boolean;
  description: string;
}

const executionSettings: SettingDefinition[] = [
  int('execution', 'max_concurrent_nodes', 5, 1, 50, true, 'nodes of one execution running at once'),
  int('execution', 'max_concurrent_runs_global', 8, 1, 200, true, 'executions running at once in this daemon'),
  int('execution', 'max_concurrent_runs_per_workflow', 20, 1, 50, true, 'executions of one workflow at once'),
  int('execution', 'max_queue_depth_per_workflow', 200, 1, 10000, true, 'pending events of one workflow before enqueue is refused'),
  int('execution', 'ai_concurrent_limit', 1, 1, 10, true, 'LLM/AI nodes of one execution at once'),
  int('execution', 'default_timeout', 300, 10, 259200, true, 'node timeout, seconds'),
  int('execution', 'workflow_timeout', 1800, 60, 345600, true, 'execution timeout, seconds'),
  int('execution', 'http_timeout', 60, 5, 600, true, 'wait limit for a synchronous execute, seconds'),
  {
    category: 'execution',
    key: 'error_handling',
    default: 'stop_on_error',
    kind: 'enum',
    allowed: ['stop_on_error', 'continue_on_error'],
    engine: true,
    description: 'whether a failed node stops the execution or lets independent branches continue',
  },
  int('execution', 'max_retries', 3, 0, 20, true, 'extra attempts of a failed node'),
  num('execution', 'retry_delay', 5.0, 0.1, 300, true, 'first retry wait, seconds'),
  num('execution', 'backoff_multiplier', 1.5, 1, 5, true, 'growth factor of successive retry waits'),
  num('execution', 'max_retry_delay', 60, 1, 3600, true, 'longest retry wait, seconds'),
  int('execution', 'max_execution_history', 100, 10, 10000, true, 'executions kept per workflow by retention'),
  int('execution', 'payload_max_chars', 4000, 100, 1000000, true, 'length of content_projection previews'),
  int('execution', 'payload_max_items', 100, 10, 10000, true, 'list items kept in previews'),
  int('execution', 'payload_inline_max_bytes', 262144, 16384, 52428800, true, 'results larger than this go to a file'),
  int('execution', 'memory_limit_mb', 512, 64, 16384, true, 'per worker thread heap limit, MiB'),
  int('execution', 'priority_aging_seconds', 60, 1, 86400, true, 'a waiting event gains one priority level per this many seconds'),
  int('execution', 'event_max_attempts', 3, 1, 20, true, 'attempts of an event when the enqueue gives none'),
];

const storageSettings: SettingDefinition[] = [
  int('storage', 'result_storage_days', 30, 1, 365, true, 'results older than this are deleted by retention'),
  int('storage', 'max_execution_history', 100, 10, 10000, true, 'executions kept per workflow by retention'),
  bool('storage', 'auto_cleanup', true, true, 'retention runs on a timer'),
  int('storage', 'cleanup_interval_minutes', 60, 1, 10080, true, 'how often retention runs, minutes (range ours)'),
  str('storage', 'upload_dir', 'uploads', true, 'upload folder, under the data folder; new uploads go to the value in force'),
  int('storage', 'upload_storage_days', 30, 1, 3650, true, 'uploads expire after this many days (range ours)'),
  int('storage', 'temp_file_max_age_hours', 1, 1, 720, true, 'temp files expire after this many hours (range ours)'),
  int('storage', 'event_retention_days', 7, 1, 365, true, 'finished events older than this are deleted by retention (ours)'),
  int('storage', 'audit_retention_days', 90, 1, 3650, true, 'audit_logs rows older than this are deleted by retention (ours)'),
];

// Ours, not in settings.md: the daemon's own backup schedule (`tav backup` and the admin route take backups on demand).
const backupSettings: SettingDefinition[] = [
  bool('backup', 'auto_backup', false, true, 'the daemon writes a backup every backup_interval_hours'),
  int('backup', 'backup_interval_hours', 24, 1, 720, true, 'hours between scheduled backups (range ours)'),
  int('backup', 'backup_keep', 7, 1, 365, true, 'backups kept in the backup folder; older ones are deleted (range ours)'),
];

const securitySettings: SettingDefinition[] = [
  int('security', 'max_content_length', 104857600, 1048576, 2147483648, true, 'largest request body in bytes; above it 413'),
];

const aiSettings: SettingDefinition[] = [
  bool('ai', 'enabled', true, false, 'AI nodes are available'),
  str('ai', 'default_provider', 'openai', false, 'provider used when a node names none'),
  num('ai', 'default_temperature', 0.7, 0, 2, false, 'sampling temperature when a node gives none'),
  int('ai', 'default_max_tokens', 16384, 1, 2000000, false, 'completion token limit when a node gives none (range ours)'),
  int('ai', 'request_timeout', 120, 1, 3600, false, 'provider request timeout, seconds (range ours)'),
  int('ai', 'max_retries', 3, 0, 20, false, 'provider request retries (range ours)'),
  {
    category: 'ai',
    key: 'providers',
    default: {},
    kind: 'object',
    engine: false,
    description:
      'OpenAI-compatible endpoints: {name: {provider_type, base_url, default_model, credential_id, enabled}}; keys live in credentials, never here',
  },
];

const uiSettings: SettingDefinition[] = [
  str('ui', 'default_theme_mode', 'default', false, 'theme of the editor'),
  int('ui', 'default_grid_size', 20, 1, 200, false, 'canvas grid size, pixels (range ours)'),
  bool('ui', 'enable_grid', true, false, 'canvas grid shown'),
  num('ui', 'grid_opacity', 0.3, 0, 1, false, 'canvas grid opacity'),
];

const networkSettings: SettingDefinition[] = [
  { category: 'network', key: 'cors_origins', default: [], kind: 'array', engine: false, description: 'origins allowed by CORS' },
];

// settings.md names no integrations keys: the category exists (and is served, empty) so the API can
// store keys under it without a migration.
const integrationSettings: SettingDefinition[] = [];

const developerSettings: SettingDefinition[] = [
  bool('developer', 'debug_mode', false, false, 'verbose diagnostics'),
  bool('developer', 'error_details', false, false, 'stack traces in API error bodies'),
];

/** Every default setting, grouped by category in settingCategories order. */
export const settingsCatalog: readonly SettingDefinition[] = Object.freeze([
  ...executionSettings,
  ...storageSettings,
  ...backupSettings,
  ...securitySettings,
  ...aiSettings,
  ...uiSettings,
  ...networkSettings,
  ...integrationSettings,
  ...developerSettings,
]);

/** The defaults as `{ category: { key: value } }`, every category present; fresh copies, safe to mutate. */
export function defaultSettingsByCategory(): Record<SettingCategory, Record<string, unknown>> {
  const byCategory = Object.fromEntries(settingCategories.map((c) => [c, {}])) as Record<SettingCategory, Record<string, unknown>>;
  for (const setting of settingsCatalog) {
    byCategory[setting.category][setting.key] = structuredClone(setting.default);
  }
  return byCategory;
}

/** The catalog entry of (category, key), or undefined for a key TAV does not ship. */
export function findSetting(category: string, key: string): SettingDefinition | undefined {
  return settingsCatalog.find((s) => s.category === category && s.key === key);
}

function int(category: SettingCategory, key: string, def: number, min: number, max: number, engine: boolean, description: string): SettingDefinition {
  return { category, key, default: def, kind: 'integer', min, max, engine, description };
}

function num(category: SettingCategory, key: string, def: number, min: number, max: number, engine: boolean, description: string): SettingDefinition {
  return { category, key, default: def, kind: 'number', min, max, engine, description };
}

function bool(category: SettingCategory, key: string, def: boolean, engine: boolean, description: string): SettingDefinition {
  return { category, key, default: def, kind: 'boolean', engine, description };
}

function str(category: SettingCategory, key: string, def: string, engine: boolean, description: string): SettingDefinition {
  return { category, key, default: def, kind: 'string', engine, description };
}
