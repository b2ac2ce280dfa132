// CSV text to records and back (RFC 4180: quoted fields may hold delimiters, quotes as "" and line breaks).
import { NodeFailure } from '../node-contract.js';

/**
 * Splits CSV text into records of fields. Accepts CRLF, LF and CR line ends; a blank line is no
 * record; a quote inside an unquoted field is kept as text; an unclosed quote fails `invalid_csv`.
 */
export function parseCsv(text: string, delimiter: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  // fieldFresh: nothing of the current field read yet (only then does a quote open a quoted field);
  // lineUsed: something of the current line read (a quoted empty field counts, a bare line end does not).
  let fieldFresh = true;
  let lineUsed = false;
  const endRecord = (): void => {
    if (lineUsed) records.push([...record, field]);
    record = [];
    field = '';
    fieldFresh = true;
    lineUsed = false;
  };
  for (let i = 0; i < text.length; i += 1) {
    const char = text[i]!;
    if (quoted) {
      if (char !== '"') field += char;
      else if (text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else quoted = false;
      continue;
    }
    if (char === '\r' || char === '\n') {
      if (char === '\r' && text[i + 1] === '\n') i += 1;
      endRecord();
      continue;
    }
    lineUsed = true;
    if (char === delimiter) {
      record.push(field);
      field = '';
      fieldFresh = true;
    } else if (char === '"' && fieldFresh) {
      quoted = true;
      fieldFresh = false;
    } else {
      field += char;
      fieldFresh = false;
    }
  }
  if (quoted) throw new NodeFailure('invalid_csv', 'the CSV text ends inside a quoted field', false);
  endRecord();
  return records;
}

/** Writes records as CSV with CRLF line ends, quoting a field only when it needs it. */
export function formatCsv(records: string[][], delimiter: string): string {
  return records.map((fields) => fields.map((field) => quoteField(field, delimiter)).join(delimiter)).join('\r\n') + (records.length > 0 ? '\r\n' : '');
}

function quoteField(field: string, delimiter: string): string {
  const needsQuotes = field.includes(delimiter) || /["\r\n]/.test(field) || field !== field.trim();
  return needsQuotes ? `"${field.replaceAll('"', '""')}"` : field;
}

/** The delimiter config as one character; "\t" and "tab" mean a tab. */
export function readDelimiter(value: unknown): string {
  const text = typeof value === 'string' ? value : ',';
  const delimiter = text === '\\t' || text.toLowerCase() === 'tab' ? '\t' : text;
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\r' || delimiter === '\n') {
    throw new NodeFailure('invalid_config', 'config "delimiter" must be one character other than a quote or line break', false);
  }
  return delimiter;
}
