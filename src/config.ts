// The only reader of process.env. Every setting is typed, has its unit in its name, and every
// problem is reported at once on start so an operator fixes the unit file in one go.
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { EncryptionKey } from './auth/secret-box.js';
import { logLevels } from './log.js';

/** The daemon's process-level configuration (workflow behaviour lives in the settings table). */
export interface Config {
  dataDir: string;
  /** The SQLite file (the default store); unused when `database` names PostgreSQL. */
  dbPath: string;
  /** Which store: the embedded SQLite file, or a PostgreSQL database several daemons share. */
  database: DatabaseConfig;
  host: string;
  port: number;
  workers: number;
  logLevel: (typeof logLevels)[number];
  sqliteSynchronous: 'NORMAL' | 'FULL';
  shutdownGraceMs: number;
  pollIntervalMs: number;
  leaseMs: number;
  writerMaxBatch: number;
  writerMaxDelayMs: number;
  enableTestNodes: boolean;
  adminKeyFile: string;
  /** Folder of plug-in node modules; `$TAV_DATA_DIR/plugins` unless set. Missing is fine. */
  pluginDir: string;
  /** Serve /metrics without an API key (for a scraper on a trusted network). */
  metricsPublic: boolean;
  /** TAV_ENCRYPTION_KEY: seals credentials; null means the key file below (created on first start). */
  encryptionKey: EncryptionKey | null;
  /** `$TAV_DATA_DIR/encryption.key`, mode 0600. */
  encryptionKeyFile: string;
  /** What systemd passes a Type=notify service (see src/service/systemd-service.ts). */
  systemd: SystemdEnvironment;
}

/** TAV_DATABASE_URL unset: SQLite at dbPath. Set to postgres://…: that database, in `schema`. */
export type DatabaseConfig = { kind: 'sqlite' } | { kind: 'postgres'; url: string; schema: string; poolMax: number };

/** NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID as systemd sets them; null when unset. */
export interface SystemdEnvironment {
  notifySocket: string | null;
  watchdogUsec: number | null;
  watchdogPid: number | null;
}

/** Thrown when the environment holds invalid values; `problems` lists each of them. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const integer = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const flag = z.enum(['0', '1', 'true', 'false']).transform((value) => value === '1' || value === 'true');

// Environment variable → schema, with defaults. Units are in the variable names.
const schema = z.object({
  TAV_DATA_DIR: z.string().min(1).default('./data'),
  TAV_DB_PATH: z.string().min(1).optional(),
  // The message never quotes the value: a URL may carry a password.
  TAV_DATABASE_URL: z
    .string()
    .refine((text) => /^postgres(ql)?:\/\/./.test(text), { message: 'must be a postgres:// or postgresql:// URL (unset for the embedded SQLite file)' })
    .optional(),
  TAV_DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a plain lower-case schema name').default('public'),
  TAV_DATABASE_POOL_MAX: integer(2, 1_000).default(10),
  TAV_HOST: z.string().min(1).default('127.0.0.1'),
  TAV_PORT: integer(0, 65535).default(8000),
  TAV_WORKERS: integer(1, 256).default(Math.max(1, os.availableParallelism())),
  TAV_LOG_LEVEL: z.enum(logLevels).default('info'),
  TAV_SQLITE_SYNCHRONOUS: z
    .string()
    .transform((value) => value.toUpperCase())
    .pipe(z.enum(['NORMAL', 'FULL']))
    .default('NORMAL'),
  TAV_SHUTDOWN_GRACE_MS: integer(0, 3_600_000).default(30_000),
  TAV_POLL_INTERVAL_MS: integer(10, 60_000).default(1_000),
  TAV_LEASE_MS: integer(1_000, 86_400_000).default(300_000),
  TAV_WRITER_MAX_BATCH: integer(1, 100_000).default(2_000),
  TAV_WRITER_MAX_DELAY_MS: integer(0, 1_000).default(0),
  TAV_ENABLE_TEST_NODES: flag.default(false),
  TAV_PLUGIN_DIR: z.string().min(1).optional(),
  TAV_METRICS_PUBLIC: flag.default(false),
  // Set by systemd, not by the operator: the notify socket and the watchdog period (µs) and owner.
  NOTIFY_SOCKET: z.string().min(1).optional(),
  WATCHDOG_USEC: integer(1, Number.MAX_SAFE_INTEGER).optional(),
  WATCHDOG_PID: integer(1, 2 ** 31 - 1).optional(),
  // The message never quotes the value: it is a secret even when malformed.
  TAV_ENCRYPTION_KEY: z
    .string()
    .transform((text, ctx) => {
      const key = EncryptionKey.parse(text);
      if (key) return key;
      ctx.addIssue({ code: 'custom', message: 'must be 32 bytes as base64 or 64 hex characters (e.g. from openssl rand -base64 32)' });
      return z.NEVER;
    })
    .optional(),
});

/** Reads and validates the configuration from an environment (process.env by default). */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  const values = parsed.data;
  const dataDir = path.resolve(values.TAV_DATA_DIR);
  return Object.freeze({
    dataDir,
    dbPath: path.resolve(values.TAV_DB_PATH ?? path.join(dataDir, 'tav_engine.db')),
    database: Object.freeze(
      values.TAV_DATABASE_URL
        ? { kind: 'postgres' as const, url: values.TAV_DATABASE_URL, schema: values.TAV_DATABASE_SCHEMA, poolMax: values.TAV_DATABASE_POOL_MAX }
        : { kind: 'sqlite' as const },
    ),
    host: values.TAV_HOST,
    port: values.TAV_PORT,
    workers: values.TAV_WORKERS,
    logLevel: values.TAV_LOG_LEVEL,
    sqliteSynchronous: values.TAV_SQLITE_SYNCHRONOUS,
    shutdownGraceMs: values.TAV_SHUTDOWN_GRACE_MS,
    pollIntervalMs: values.TAV_POLL_INTERVAL_MS,
    leaseMs: values.TAV_LEASE_MS,
    writerMaxBatch: values.TAV_WRITER_MAX_BATCH,
    writerMaxDelayMs: values.TAV_WRITER_MAX_DELAY_MS,
    enableTestNodes: values.TAV_ENABLE_TEST_NODES,
    adminKeyFile: path.join(dataDir, 'admin-api-key'),
    pluginDir: path.resolve(values.TAV_PLUGIN_DIR ?? path.join(dataDir, 'plugins')),
    metricsPublic: values.TAV_METRICS_PUBLIC,
    encryptionKey: values.TAV_ENCRYPTION_KEY ?? null,
    encryptionKeyFile: path.join(dataDir, 'encryption.key'),
    systemd: Object.freeze({
      notifySocket: values.NOTIFY_SOCKET ?? null,
      watchdogUsec: values.WATCHDOG_USEC ?? null,
      watchdogPid: values.WATCHDOG_PID ?? null,
    }),
  });
}
