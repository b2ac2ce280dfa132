// How the PostgreSQL adapter runs its hand-written SQL through knex: `?` bindings, always bound, and the
// conversions of what pg hands back (timestamptz as Date, json already parsed).
import type { Knex } from 'knex';
import type { JsonReader } from '../row-views.js';

/** A connection or transaction the statements run on. */
export type PgRunner = Knex | Knex.Transaction;

/** A result row as pg returns it. */
export type Row = Record<string, unknown>;

/** The rows a statement returns. */
export async function rows(db: PgRunner, sql: string, bindings: readonly unknown[] = []): Promise<Row[]> {
  const result = (await db.raw(sql, bindings as Knex.RawBinding[])) as { rows: Row[] };
  return result.rows;
}

/** How many rows a statement changed. */
export async function changes(db: PgRunner, sql: string, bindings: readonly unknown[] = []): Promise<number> {
  const result = (await db.raw(sql, bindings as Knex.RawBinding[])) as { rowCount: number | null };
  return result.rowCount ?? 0;
}

/** ISO text of a timestamptz value (pg hands back a Date), or null. */
export function isoOf(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return value instanceof Date ? value.toISOString() : String(value);
}

/** JSON text for a json column (bound as text, cast with ?::json), or null. */
export function jsonText(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}


/** A json column as pg hands it back (already parsed), or `fallback` when empty (see row-views.ts). */
export const readJson: JsonReader = <T>(value: unknown, fallback: T): T => (value === null || value === undefined ? fallback : (value as T));
