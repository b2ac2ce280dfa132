// Runs copyAndCheck on a short-lived worker thread (see backup-sql.ts for why VACUUM INTO).
import { Worker } from 'node:worker_threads';
import type { DatabaseFileCheck } from './backup-sql.js';

type WorkerAnswer = { ok: true; check: DatabaseFileCheck } | { ok: false; message: string };

/** Copies `sourcePath` to `targetPath` on a worker thread; `signal` stops it once the SQLite statement returns (the caller removes the partial file). */
export function copyAndCheckOffThread(sourcePath: string, targetPath: string, signal?: AbortSignal): Promise<DatabaseFileCheck> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./backup-worker.js', import.meta.url), { workerData: { sourcePath, targetPath } });
    let answered = false;
    const onAbort = () => void worker.terminate();
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (answer: WorkerAnswer) => {
      answered = true;
      if (answer.ok) resolve(answer.check);
      else reject(new Error(answer.message));
    });
    worker.once('error', (error) => {
      answered = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (!answered) reject(new Error(signal?.aborted ? 'backup stopped' : `backup thread exited with code ${code}`));
    });
  });
}
