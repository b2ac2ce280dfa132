// JSON columns hold text on SQLite; these keep the (de)serialisation in one place.
import type { Json } from '../../../workers/node-contract.js';

/** JSON text for a column, or null. */
export function toJsonColumn(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

/** The value held in a JSON column, or `fallback` when empty. */
export function fromJsonColumn<T = Json>(text: unknown, fallback: T): T {
  if (text === null || text === undefined || text === '') return fallback;
  if (typeof text !== 'string') return text as T;
  return JSON.parse(text) as T;
}

/** SQLite keeps booleans as 0/1. */
export function fromBooleanColumn(value: unknown): boolean {
  return value === 1 || value === true || value === '1';
}
