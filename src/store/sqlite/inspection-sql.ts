// Read-only views of the database for the maintenance commands: tables and their row counts, the
// schema (columns, foreign keys, indexes), integrity. Table names come from sqlite_master and are
// identifiers, which SQL cannot bind: the one place they are spliced in, they are validated and quoted.
import type Database from 'better-sqlite3';

/** A table and how many rows it holds (null when a damaged table could not be counted). */
export interface TableCount {
  table: string;
  rows: number | null;
}

/** One foreign key edge: `column` of the table points at `references`. */
export interface ForeignKeyEdge {
  column: string;
  references: string;
  referencesColumn: string;
  onDelete: string;
}

/** One index of a table. */
export interface IndexSummary {
  name: string;
  columns: string[];
  unique: boolean;
  partial: boolean;
}

/** One table of the schema overview. */
export interface TableSchema {
  table: string;
  columns: string[];
  foreignKeys: ForeignKeyEdge[];
  indexes: IndexSummary[];
}

/** The user tables, by name (SQLite's own sqlite_* tables left out). */
export function selectTableNames(db: Database.Database): string[] {
  const rows = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`).all() as Array<{ name: string }>;
  return rows.map((row) => row.name);
}

/** Row counts of every user table; a table too damaged to count reads as null (the integrity check says why). */
export function countRows(db: Database.Database): TableCount[] {
  return selectTableNames(db).map((table) => {
    try {
      return { table, rows: Number((db.prepare(`SELECT COUNT(*) AS n FROM ${quoteIdentifier(table)}`).get() as { n: number }).n) };
    } catch {
      return { table, rows: null };
    }
  });
}

/** Columns, foreign keys and indexes of every user table; the pragma table functions take bound names. */
export function selectSchema(db: Database.Database): TableSchema[] {
  const columns = db.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid');
  const foreignKeys = db.prepare('SELECT "from" AS col, "table" AS ref, "to" AS refCol, on_delete AS onDelete FROM pragma_foreign_key_list(?) ORDER BY id, seq');
  const indexes = db.prepare(`SELECT name, "unique" AS isUnique, partial FROM pragma_index_list(?) ORDER BY name`);
  const indexColumns = db.prepare('SELECT name FROM pragma_index_info(?) ORDER BY seqno');
  return selectTableNames(db).map((table) => ({
    table,
    columns: (columns.all(table) as Array<{ name: string }>).map((row) => row.name),
    foreignKeys: (foreignKeys.all(table) as Array<{ col: string; ref: string; refCol: string | null; onDelete: string }>).map((row) => ({
      column: row.col,
      references: row.ref,
      referencesColumn: row.refCol ?? 'rowid',
      onDelete: row.onDelete,
    })),
    indexes: (indexes.all(table) as Array<{ name: string; isUnique: number; partial: number }>).map((row) => ({
      name: row.name,
      columns: (indexColumns.all(row.name) as Array<{ name: string | null }>).map((column) => column.name ?? '(expression)'),
      unique: row.isUnique === 1,
      partial: row.partial === 1,
    })),
  }));
}

/** integrity_check (every page and index) or quick_check (skips index contents, much faster); ['ok'] when sound. */
export function checkIntegrity(db: Database.Database, quick: boolean): string[] {
  const rows = db.prepare(quick ? 'PRAGMA quick_check' : 'PRAGMA integrity_check').raw().all() as Array<[string]>;
  return rows.map((row) => row[0]);
}

/** A table name as a quoted identifier; refuses anything that is not a plain name. */
export function quoteIdentifier(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`unexpected table name ${JSON.stringify(name)}`);
  return `"${name}"`;
}
