// What `tav check-db` and `tav tables` report, as JSON-ready values and as plain text.
import fs from 'node:fs';
import { migrations } from '../../migrations/index.js';
import type { DatabaseInspection } from '../store/sqlite/sqlite-maintenance.js';
import type { TableSchema } from '../store/sqlite/inspection-sql.js';

/** The check-db report (snake_case: it is printed as JSON). */
export interface DatabaseReport {
  ok: boolean;
  database: string;
  file_size_bytes: number;
  wal_size_bytes: number;
  page_size_bytes: number;
  page_count: number;
  free_pages: number;
  daemon_pid: number | null;
  integrity: { mode: 'full' | 'quick'; ok: boolean; problems: string[] };
  schema: { status: 'current' | 'behind' | 'newer' | 'none'; current: string | null; applied: string[]; pending: string[]; unknown: string[] };
  tables: Array<{ table: string; rows: number | null }>;
}

/** Builds the report; `ok` is false when the integrity check fails or the schema is from a newer TAV. */
export function buildDatabaseReport(dbPath: string, inspection: DatabaseInspection, quick: boolean, daemonPid: number | null): DatabaseReport {
  const known = migrations.map((migration) => migration.name);
  const applied = inspection.migrations ?? [];
  const unknown = applied.filter((name) => !known.includes(name));
  const pending = known.filter((name) => !applied.includes(name));
  const status = applied.length === 0 ? 'none' : unknown.length > 0 ? 'newer' : pending.length > 0 ? 'behind' : 'current';
  const integrityOk = inspection.integrity.length === 1 && inspection.integrity[0] === 'ok';
  return {
    ok: integrityOk && unknown.length === 0 && applied.length > 0,
    database: dbPath,
    file_size_bytes: fileSize(dbPath),
    wal_size_bytes: fileSize(`${dbPath}-wal`),
    page_size_bytes: inspection.pageSizeBytes,
    page_count: inspection.pageCount,
    free_pages: inspection.freePages,
    daemon_pid: daemonPid,
    integrity: { mode: quick ? 'quick' : 'full', ok: integrityOk, problems: integrityOk ? [] : inspection.integrity },
    schema: { status, current: applied.at(-1) ?? null, applied, pending, unknown },
    tables: inspection.tables,
  };
}

/** The check-db report as text. */
export function formatDatabaseReport(report: DatabaseReport): string {
  const width = Math.max(...report.tables.map((t) => t.table.length), 5);
  const lines = [
    `database:   ${report.database}`,
    `file size:  ${formatBytes(report.file_size_bytes)} (${report.page_count} pages of ${report.page_size_bytes} bytes, ${report.free_pages} free)`,
    `WAL size:   ${formatBytes(report.wal_size_bytes)}`,
    `daemon:     ${report.daemon_pid === null ? 'not running' : `running (pid ${report.daemon_pid})`}`,
    `integrity:  ${report.integrity.ok ? 'ok' : `FAILED: ${report.integrity.problems.slice(0, 10).join('; ')}`} (${report.integrity.mode} check)`,
    `schema:     ${report.schema.current ?? '(no migrations)'} — ${schemaText(report.schema)}`,
    '',
    `${'table'.padEnd(width)}  rows`,
    ...report.tables.map((t) => `${t.table.padEnd(width)}  ${t.rows ?? 'unreadable'}`),
    '',
    report.ok ? 'OK' : 'PROBLEMS FOUND',
  ];
  return `${lines.join('\n')}\n`;
}

/** The schema overview as text: one block per table. */
export function formatSchema(tables: TableSchema[]): string {
  const blocks = tables.map((t) => {
    const lines = [`${t.table} (${t.columns.length} columns)`];
    for (const fk of t.foreignKeys) lines.push(`  ${fk.column} → ${fk.references}.${fk.referencesColumn} (on delete ${fk.onDelete.toLowerCase()})`);
    for (const index of t.indexes) {
      const kind = [index.unique ? 'unique' : '', index.partial ? 'partial' : ''].filter(Boolean).join(', ');
      lines.push(`  index ${index.name} (${index.columns.join(', ')})${kind ? ` ${kind}` : ''}`);
    }
    return lines.join('\n');
  });
  const relations = tables.reduce((sum, t) => sum + t.foreignKeys.length, 0);
  return `${blocks.join('\n\n')}\n\n${tables.length} tables, ${relations} foreign keys, ${tables.reduce((sum, t) => sum + t.indexes.length, 0)} indexes\n`;
}

/** Bytes as text with a binary unit. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function schemaText(schema: DatabaseReport['schema']): string {
  if (schema.status === 'none') return 'not a TAV Engine database (no applied migrations)';
  if (schema.status === 'newer') return `NEWER than this version (unknown: ${schema.unknown.join(', ')})`;
  if (schema.status === 'behind') return `behind: ${schema.pending.join(', ')} pending (applied on the next start)`;
  return 'current';
}

function fileSize(filePath: string): number {
  try {
    return fs.statSync(filePath).size;
  } catch {
    return 0;
  }
}
