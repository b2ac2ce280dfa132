// Worker-thread entry for a backup: copies and checks the database away from the daemon's main
// thread, so the API, the dispatcher and the writer keep going while the copy is written.
import { parentPort, workerData } from 'node:worker_threads';
import { copyAndCheck } from './backup-sql.js';

const { sourcePath, targetPath } = workerData as { sourcePath: string; targetPath: string };
try {
  parentPort!.postMessage({ ok: true, check: copyAndCheck(sourcePath, targetPath) });
} catch (error) {
  // Data across the thread boundary, not an exception.
  parentPort!.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
}
