// csv_writer: writes rows as a CSV file into the data folder's exports/ folder.
import { randomBytes } from 'node:crypto';
import { mkdir, realpath, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeModule } from '../node-contract.js';
import { formatCsv, readDelimiter } from './csv-format.js';
import { assertInside, dataDir } from './data-folder.js';

const exportsFolder = 'exports';

/**
 * The csv_writer node. `data` is a list of objects (columns: config `columns`, else every key in
 * first-seen order) or of rows (lists; `columns` is then only the header line). Writes
 * `<data folder>/exports/<filename>` (`{timestamp}` → epoch ms; any folder part of the name is
 * dropped) and outputs `result {path, rows, bytes}` and `file` (the path relative to the data folder).
 */
export const node: NodeModule = {
  definition: {
    type: 'csv_writer',
    category: 'output',
    description: 'Writes rows to a CSV file in the data folder\'s exports folder.',
    inputs: [{ name: 'data', required: true }],
    outputs: [{ name: 'result' }, { name: 'file' }],
    config: [
      { name: 'columns', type: 'array' },
      { name: 'include_headers', type: 'boolean', default: true },
      { name: 'delimiter', type: 'string', default: ',' },
      { name: 'filename', type: 'string', default: 'export_{timestamp}.csv' },
    ],
    isolation: 'shared',
  },
  async run(task, { signal }) {
    const delimiter = readDelimiter(task.config.delimiter);
    const filename = readFilename(task.config.filename);
    const rows = readRows(task.inputs.data);
    const configured = Array.isArray(task.config.columns) ? task.config.columns.map(String) : undefined;
    const columns = configured ?? keysInOrder(rows.filter(isObject));
    const records = rows.map((row) => (isObject(row) ? columns.map((name) => cellText(Object.hasOwn(row, name) ? row[name] : undefined)) : cellsOf(row)));
    if (task.config.include_headers !== false && columns.length > 0) records.unshift(columns);
    const text = formatCsv(records, delimiter);
    const relative = `${exportsFolder}/${filename}`;
    await writeExport(filename, text, signal);
    const result = { path: relative, rows: rows.length, bytes: Buffer.byteLength(text, 'utf8') };
    return { result, file: relative };
  },
};

// Only the last path segment is kept, so a templated name cannot climb out of exports/.
function readFilename(value: Json | undefined): string {
  const template = typeof value === 'string' && value.trim() !== '' ? value.trim() : 'export_{timestamp}.csv';
  const name = template.replaceAll('{timestamp}', String(Date.now())).split(/[\\/]/).pop() ?? '';
  if (name === '' || name === '.' || name === '..' || name.includes('\0')) {
    throw new NodeFailure('invalid_config', `config "filename" does not name a file: ${template}`, false);
  }
  return name;
}

// Accepts a list, JSON text of a list (a rendered template), or a single object as a one-row list.
function readRows(value: Json | undefined): Json[] {
  let data = value;
  if (typeof value === 'string') {
    try {
      data = JSON.parse(value) as Json;
    } catch {
      data = undefined;
    }
  }
  if (isObject(data ?? null)) return [data as Json];
  if (!Array.isArray(data)) throw new NodeFailure('invalid_input', 'input "data" must be a list of objects or rows', false);
  return data;
}

function keysInOrder(rows: Array<Record<string, Json>>): string[] {
  const keys = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) keys.add(key);
  return [...keys];
}

function cellsOf(row: Json): string[] {
  return Array.isArray(row) ? row.map(cellText) : [cellText(row)];
}

function cellText(value: Json | undefined): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

// Written to a temporary name and renamed, so a reader (or a file_polling_trigger) never sees half a file.
async function writeExport(filename: string, text: string, signal: AbortSignal): Promise<void> {
  const root = dataDir();
  const folder = path.join(root, exportsFolder);
  await mkdir(folder, { recursive: true });
  assertInside(await realpath(root), await realpath(folder), `${exportsFolder}/`);
  const target = path.join(folder, filename);
  const temporary = path.join(folder, `.${filename}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, text, { encoding: 'utf8', signal });
    await rename(temporary, target);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

function isObject(value: Json): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
