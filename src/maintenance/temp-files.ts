// Temp files the daemon leaves when something stops half-way: uploads that never finished arriving
// (`<upload root>/.incoming/`) and csv_writer's write-then-rename files (`exports/.<name>.<hex>.tmp`).
// Aged by modification time, so a file still being written (its mtime moves) is never taken.
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { incomingDirName } from '../files/file-storage.js';

/** A folder and which of its entries are temp files. */
export interface TempFolder {
  dir: string;
  isTemp(name: string): boolean;
}

// csv_writer (workers/nodes/csv-writer.ts) writes `exports/.<filename>.<12 hex>.tmp` and renames it.
const exportTempName = /^\..+\.[0-9a-f]{12}\.tmp$/;

/** The daemon's temp folders for a data folder and the upload root in force. */
export function daemonTempFolders(dataDir: string, uploadRoot: string): TempFolder[] {
  return [
    { dir: path.join(uploadRoot, incomingDirName), isTemp: () => true },
    { dir: path.join(dataDir, 'exports'), isTemp: (name) => exportTempName.test(name) },
  ];
}

/** Temp files last modified before `beforeMs`; a missing folder has none. */
export async function findStaleTempFiles(folders: TempFolder[], beforeMs: number): Promise<string[]> {
  const stale: string[] = [];
  for (const folder of folders) {
    const names = await readdir(folder.dir).catch(() => [] as string[]);
    for (const name of names.filter((entry) => folder.isTemp(entry))) {
      const file = path.join(folder.dir, name);
      const info = await stat(file).catch(() => null);
      if (info?.isFile() && info.mtimeMs < beforeMs) stale.push(file);
    }
  }
  return stale;
}

/** Removes the files; one already gone counts as removed by someone else, not by us. */
export async function removeFiles(files: string[]): Promise<number> {
  let removed = 0;
  for (const file of files) {
    const gone = await rm(file).then(
      () => true,
      () => false,
    );
    if (gone) removed += 1;
  }
  return removed;
}
