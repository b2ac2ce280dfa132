// The daemon under benchmark: `tav start` (from a frozen copy, see daemon-snapshot.ts) as a child
// process, as test/helpers/daemon.ts spawns it, but at log level warn. At warn the "daemon ready" line (info) is not printed, so the
// port is chosen here and readiness is read from /health/ready instead of from the log.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The environment the benchmark daemon runs with; workers are left at their default (= cores). */
export const benchEnv: Readonly<Record<string, string>> = Object.freeze({
  TAV_LOG_LEVEL: 'warn',
  TAV_ENABLE_TEST_NODES: '0',
});

/** A running benchmark daemon. */
export interface BenchDaemon {
  baseUrl: string;
  port: number;
  /** The bootstrap admin key from its data folder; '' when another daemon of a PostgreSQL fleet made it. */
  key: string;
  dataDir: string;
  dbPath: string;
  pid: number;
  /** Epoch ms at which /health/ready first answered 200 (the dispatcher starts just before). */
  readyAtMs: number;
  /** The process's peak resident set so far (VmHWM), MiB; worker threads are part of the process. */
  peakRssMb(): number;
  /** Everything the daemon printed (warnings and errors only, at this log level). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Spawns `tav start` from `cliPath` on a prepared data folder and resolves once it reports ready.
 * `env` adds to benchEnv (the PostgreSQL drains point the daemon at their schema with it).
 */
export async function startBenchDaemon(cliPath: string, dataDir: string, env: Record<string, string> = {}): Promise<BenchDaemon> {
  const port = await freePort();
  const child = spawn(process.execPath, [cliPath, 'start'], {
    cwd: dataDir,
    env: { PATH: process.env.PATH ?? '', TAV_DATA_DIR: dataDir, TAV_PORT: String(port), ...benchEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const baseUrl = `http://127.0.0.1:${port}`;
  let readyAtMs: number;
  try {
    readyAtMs = await waitForReady(baseUrl, child, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    baseUrl,
    port,
    key: readAdminKey(dataDir),
    dataDir,
    dbPath: path.join(dataDir, 'tav_engine.db'),
    pid: child.pid!,
    readyAtMs,
    peakRssMb: () => readPeakRssMb(child.pid!),
    output: () => output,
    stop: (graceMs = 60_000) => stopChild(child, exited, graceMs),
  };
}

// Daemons sharing a PostgreSQL database share its keys: only the one that found none writes the file.
function readAdminKey(dataDir: string): string {
  const file = path.join(dataDir, 'admin-api-key');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
}

/** VmHWM of a process from /proc, in MiB. */
export function readPeakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}

// The OS picks a free port and we hand it to the daemon; the tiny window in which another process
// could take it is acceptable on a benchmark machine.
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForReady(baseUrl: string, child: ChildProcess, output: () => string): Promise<number> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`daemon exited (${child.exitCode ?? child.signalCode}) before ready:\n${output()}`);
    try {
      const response = await fetch(`${baseUrl}/health/ready`);
      await response.arrayBuffer();
      if (response.status === 200) return Date.now();
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`daemon not ready within 30 s:\n${output()}`);
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>, graceMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await exited;
  } finally {
    clearTimeout(timer);
  }
}
