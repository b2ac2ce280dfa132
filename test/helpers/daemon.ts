// Starts the real daemon as a child process on a temp data folder and an ephemeral port, the way
// systemd would, and talks to it over loopback HTTP.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openKnexSqlite } from '../../src/store/sqlite/knex-sqlite.js';
import { migrateToLatest } from '../../src/store/migrate.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cliPath = path.join(repoRoot, 'bin', 'tav.js');

/** A daemon under test. */
export interface TestDaemon {
  baseUrl: string;
  port: number;
  key: string;
  dataDir: string;
  dbPath: string;
  process: ChildProcess;
  /** Everything the daemon printed, for assertions and for debugging a failure. */
  output(): string;
  request(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<TestResponse>;
  /** Sends a signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

/** A parsed response. */
export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
}

/** This test run's folder of data folders; the root hooks remove it when every test passed. */
export const testRunDir = path.join(os.tmpdir(), 'tav-tests', `run-${process.pid}-${Date.now()}`);

/** A fresh temp data folder; kept when a test fails so it can be inspected. */
export function makeDataDir(label = 'tav'): string {
  fs.mkdirSync(testRunDir, { recursive: true });
  return fs.mkdtempSync(path.join(testRunDir, `${label}-`));
}

/** Migrates a data folder's database and overrides settings before the daemon starts. */
export async function prepareDatabase(dataDir: string, settings: Record<string, Record<string, unknown>> = {}): Promise<void> {
  const knex = openKnexSqlite(path.join(dataDir, 'tav_engine.db'));
  try {
    await migrateToLatest(knex);
    for (const [category, values] of Object.entries(settings)) {
      for (const [key, value] of Object.entries(values)) {
        const updated = await knex('settings').where({ category, key }).update({ value: JSON.stringify(value) });
        if (updated === 0) await knex('settings').insert({ category, key, value: JSON.stringify(value), updated_at: new Date().toISOString() });
      }
    }
  } finally {
    await knex.destroy();
  }
}

/** Options for a test daemon. */
export interface StartOptions {
  dataDir?: string;
  env?: Record<string, string>;
  settings?: Record<string, Record<string, unknown>>;
}

/** Spawns `tav start` and resolves once it reports ready. */
export async function startDaemon(options: StartOptions = {}): Promise<TestDaemon> {
  const dataDir = options.dataDir ?? makeDataDir();
  if (options.settings) await prepareDatabase(dataDir, options.settings);
  const child = spawn(process.execPath, [cliPath, 'start'], {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH ?? '',
      TAV_DATA_DIR: dataDir,
      TAV_PORT: '0',
      TAV_LOG_LEVEL: 'info',
      TAV_ENABLE_TEST_NODES: '1',
      TAV_POLL_INTERVAL_MS: '200',
      TAV_WORKERS: '2',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await waitForReady(() => output, exited).catch((error: unknown) => {
    // Never leave a half-started daemon behind.
    child.kill('SIGKILL');
    throw error;
  });
  const keyFile = path.join(dataDir, 'admin-api-key');
  const key = fs.readFileSync(keyFile, 'utf8').trim();
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    port,
    key,
    dataDir,
    dbPath: path.join(dataDir, 'tav_engine.db'),
    process: child,
    output: () => output,
    exited,
    request: (method, urlPath, body, headers) => request(baseUrl, key, method, urlPath, body, headers),
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

async function waitForReady(output: () => string, exited: Promise<number | null>): Promise<number> {
  const deadline = Date.now() + 30_000;
  let exitCode: number | null | undefined;
  void exited.then((code) => (exitCode = code));
  while (Date.now() < deadline) {
    const match = /"message":"daemon ready"[^\n]*"port":(\d+)|"port":(\d+)[^\n]*"message":"daemon ready"/.exec(output());
    if (match) return Number(match[1] ?? match[2]);
    if (exitCode !== undefined) throw new Error(`daemon exited with ${exitCode} before ready:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`daemon not ready within 30 s:\n${output()}`);
}

/** One HTTP request with the daemon's admin key (pass `authorization: ''` to send none). */
export async function request(baseUrl: string, key: string, method: string, urlPath: string, body?: unknown, headers: Record<string, string> = {}): Promise<TestResponse> {
  const finalHeaders: Record<string, string> = { authorization: `Bearer ${key}`, ...headers };
  if (finalHeaders.authorization === '') delete finalHeaders.authorization;
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    finalHeaders['content-type'] ??= 'application/json';
  }
  const response = await fetch(baseUrl + urlPath, { method, headers: finalHeaders, body: payload });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON: the test sees the text.
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(check: () => Promise<T> | T, what: string, timeoutMs = 20_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
