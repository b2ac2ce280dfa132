// A private copy of the compiled daemon for one benchmark. dist/ is shared with whoever else builds
// in this checkout; a rebuild in the middle of a run would otherwise make later runs measure a
// different daemon than earlier ones, with nothing in the output to say so.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// What `bin/tav.js start` loads: the CLI shim, the compiled daemon, workers, schema and seeds.
// package.json comes along because it marks the .js files as ES modules.
// seeds/templates: the shipped workflow templates are JSON read from the source tree at start.
const copied = ['package.json', 'bin', 'dist/src', 'dist/workers', 'dist/migrations', 'dist/seeds', 'seeds/templates'];

/** A frozen daemon build. */
export interface DaemonSnapshot {
  cliPath: string;
  /** Short hash of the copied files, to tell builds apart between benchmark outputs. */
  fingerprint: string;
  remove(): void;
}

/** Copies the current build into a temp folder; node_modules is linked, not copied. */
export function snapshotDaemon(): DaemonSnapshot {
  const base = path.join(os.tmpdir(), 'tav-bench');
  fs.mkdirSync(base, { recursive: true });
  const dir = fs.mkdtempSync(path.join(base, 'daemon-'));
  for (const entry of copied) fs.cpSync(path.join(repoRoot, entry), path.join(dir, entry), { recursive: true });
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return {
    cliPath: path.join(dir, 'bin', 'tav.js'),
    fingerprint: fingerprintOf(dir, ['dist/src', 'dist/workers', 'dist/migrations']),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

function fingerprintOf(root: string, entries: string[]): string {
  const hash = createHash('sha256');
  const files = entries.flatMap((entry) =>
    (fs.readdirSync(path.join(root, entry), { recursive: true }) as string[]).map((file) => path.join(entry, file)).filter((file) => file.endsWith('.js')),
  );
  for (const file of files.sort()) hash.update(file).update(fs.readFileSync(path.join(root, file)));
  return hash.digest('hex').slice(0, 12);
}
