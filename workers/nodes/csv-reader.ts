// csv_reader: reads CSV text, or a CSV file inside the data folder, into rows.
import { readFile } from 'node:fs/promises';
import { NodeFailure } from '../node-contract.js';
import type { Json, NodeModule, NodeTask } from '../node-contract.js';
import { parseCsv, readDelimiter } from './csv-format.js';
import { resolveDataFile } from './data-folder.js';

type Config = NodeTask['config'];

interface Source {
  text: string;
  path?: string;
}

/**
 * The csv_reader node. `file` is CSV text (it has a line break, or the delimiter and no path
 * separator), a path inside the data folder, or `{path}` (the engine resolves file ids so). Outputs
 * `data` (row objects with a header, else lists of fields; values stay text), `headers` (generated
 * `column_N` names without a header) and `metadata {rows, columns, source, path?}`.
 */
export const node: NodeModule = {
  definition: {
    type: 'csv_reader',
    category: 'input',
    description: 'Reads CSV text or a CSV file from the data folder into rows.',
    inputs: [{ name: 'file', required: true }],
    outputs: [{ name: 'data' }, { name: 'headers' }, { name: 'metadata' }],
    config: [
      { name: 'delimiter', type: 'string', default: ',' },
      { name: 'has_header', type: 'boolean', default: true },
      { name: 'skip_rows', type: 'number', default: 0 },
      { name: 'columns_to_extract', type: 'array' },
      { name: 'encoding', type: 'string', default: 'utf-8' },
    ],
    isolation: 'shared',
  },
  async run(task, { signal }) {
    const { config } = task;
    const delimiter = readDelimiter(config.delimiter);
    checkEncoding(config.encoding);
    const skipRows = Number(config.skip_rows);
    if (!Number.isInteger(skipRows) || skipRows < 0) throw invalidConfig('config "skip_rows" must be a whole number from 0');
    const source = await readSource(task.inputs.file, delimiter, signal);
    const records = parseCsv(source.text.replace(/^\uFEFF/, ''), delimiter).slice(skipRows);
    const hasHeader = config.has_header !== false;
    const headerRecord = hasHeader ? records.shift() ?? [] : undefined;
    // reduce, not Math.max(...spread): a large file would overflow the argument list.
    const width = records.reduce((max, record) => Math.max(max, record.length), headerRecord?.length ?? 0);
    const allHeaders = headerRecord === undefined ? generatedNames(width) : uniqueNames(headerRecord, width);
    const picked = pickColumns(config, allHeaders);
    const data: Json[] = records.map((record) => {
      if (!hasHeader) return picked.map((index) => record[index] ?? null);
      return Object.fromEntries(picked.map((index) => [allHeaders[index]!, record[index] ?? null]));
    });
    const headers = picked.map((index) => allHeaders[index]!);
    const metadata: Record<string, Json> = { rows: data.length, columns: headers.length, source: source.path === undefined ? 'text' : 'file' };
    if (source.path !== undefined) metadata.path = source.path;
    return { data, headers, metadata };
  },
};

async function readSource(file: Json | undefined, delimiter: string, signal: AbortSignal): Promise<Source> {
  const given = typeof file === 'object' && file !== null && !Array.isArray(file) ? file.path : file;
  if (typeof given !== 'string' || given.trim() === '') {
    throw new NodeFailure('invalid_input', 'input "file" must be CSV text, a path in the data folder or {path}', false);
  }
  const isObject = given !== file;
  if (!isObject && looksLikeCsvText(given, delimiter)) return { text: given };
  const resolved = await resolveDataFile(given.trim());
  try {
    return { text: await readFile(resolved, { encoding: 'utf8', signal }), path: given.trim() };
  } catch (err) {
    if (signal.aborted) throw err;
    const code = (err as { code?: unknown }).code;
    if (code === 'EISDIR') throw new NodeFailure('file_not_found', `"${given}" is a folder, not a file`, false);
    throw new NodeFailure('file_read_error', `could not read "${given}": ${err instanceof Error ? err.message : String(err)}`, false);
  }
}

// Text with a line break is CSV; one line is CSV when it has the delimiter and no path separator.
function looksLikeCsvText(text: string, delimiter: string): boolean {
  return /[\r\n]/.test(text) || (text.includes(delimiter) && !/[\\/]/.test(text));
}

function checkEncoding(value: Json | undefined): void {
  const encoding = String(value ?? 'utf-8').trim().toLowerCase();
  if (encoding !== 'utf-8' && encoding !== 'utf8') throw invalidConfig('config "encoding" must be utf-8 (the only encoding supported)');
}

// Empty header cells get `column_N`; repeated names get `_2`, `_3`…, so no column is lost to a clash.
function uniqueNames(header: string[], width: number): string[] {
  const seen = new Set<string>();
  const names: string[] = [];
  for (let i = 0; i < width; i += 1) {
    const base = header[i]?.trim() || `column_${i + 1}`;
    let name = base;
    for (let n = 2; seen.has(name); n += 1) name = `${base}_${n}`;
    seen.add(name);
    names.push(name);
  }
  return names;
}

function generatedNames(width: number): string[] {
  return Array.from({ length: width }, (_, i) => `column_${i + 1}`);
}

function pickColumns(config: Config, headers: string[]): number[] {
  const wanted = config.columns_to_extract;
  if (!Array.isArray(wanted) || wanted.length === 0) return headers.map((_, index) => index);
  return wanted.map((name) => {
    const index = headers.indexOf(String(name));
    if (index < 0) throw invalidConfig(`column "${String(name)}" of columns_to_extract is not in the CSV (${headers.join(', ')})`);
    return index;
  });
}

function invalidConfig(message: string): NodeFailure {
  return new NodeFailure('invalid_config', message, false);
}
