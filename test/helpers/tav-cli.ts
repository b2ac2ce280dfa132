// Runs the `tav` command as an operator would: `node bin/tav.js …` as a child process on a data folder.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const cliPath = path.join(repoRoot, 'bin', 'tav.js');

/** How a `tav` run ended. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tav <args>` with TAV_DATA_DIR set and optional stdin; fails if it has not exited within the deadline. */
export function runTav(args: string[], dataDir: string, options: { stdin?: string; env?: Record<string, string>; deadlineMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: dataDir,
      env: { PATH: process.env.PATH ?? '', TAV_DATA_DIR: dataDir, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(options.stdin ?? '');
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tav ${args.join(' ')} did not exit in time:\n${stdout}\n${stderr}`));
    }, options.deadlineMs ?? 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
