// Removing the result files retention deleted the rows of, whatever the database: the files each
// daemon wrote under its results folder (see node-results.ts), shared by the SQLite and PostgreSQL
// retention families so both remove exactly the same things.
import { rm, rmdir } from 'node:fs/promises';
import path from 'node:path';

/**
 * Removes the result files the deleted rows named and the folders of deleted executions; returns how
 * many files it removed. Paths are relative to the folder holding `resultsDir`, as the rows store them.
 */
export async function removeResultFiles(resultsDir: string, filePaths: string[], executionIds: string[]): Promise<number> {
  const resultsBase = path.dirname(path.resolve(resultsDir));
  let removed = 0;
  const folders = new Set<string>();
  for (const filePath of filePaths) {
    const absolute = insideResults(resultsDir, path.resolve(resultsBase, filePath));
    if (!absolute) continue;
    await rm(absolute, { force: true });
    removed += 1;
    folders.add(path.dirname(absolute));
  }
  // An execution's folder goes with it; a folder emptied by age-based deletion goes when empty.
  for (const executionId of executionIds) {
    const folder = insideResults(resultsDir, path.join(resultsDir, executionId));
    if (folder) await rm(folder, { recursive: true, force: true });
  }
  for (const folder of folders) await rmdir(folder).catch(() => undefined);
  return removed;
}

/** The path when it lies inside the results folder; a tampered row must not reach anything else. */
function insideResults(resultsDir: string, absolute: string): string | null {
  const relative = path.relative(path.resolve(resultsDir), absolute);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? absolute : null;
}
