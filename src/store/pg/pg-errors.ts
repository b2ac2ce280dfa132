// What PostgreSQL's errors mean to the adapter: a lost connection is waited out and retried, a unique
// violation is an answer ('name_taken', a dedup hit), anything else is a bug to surface.

// SQLSTATE classes 08 (connection exception) and 57P (operator intervention: the backend was
// terminated, the server is shutting down or starting up), and the socket errors node reports.
const connectionSqlStates = /^(08|57P)/;
const connectionSocketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND']);
const connectionMessages = /Connection terminated|connection is closed|Client has encountered a connection error|terminating connection|Timeout acquiring a connection/i;

/** True when the error means the database could not be reached or dropped the connection. */
export function isConnectionError(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (connectionSqlStates.test(code) || connectionSocketCodes.has(code))) return true;
  return typeof message === 'string' && connectionMessages.test(message);
}

/** True for a unique-constraint violation (SQLSTATE 23505). */
export function isUniqueViolation(error: unknown): boolean {
  return !!error && typeof error === 'object' && (error as { code?: unknown }).code === '23505';
}

/** A deadlock (40P01) or serialization failure (40001): PostgreSQL rolled the transaction back, and running it again is the cure. */
export function isTransientConflict(error: unknown): boolean {
  const code = !!error && typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
  return code === '40P01' || code === '40001';
}

/**
 * Runs a transaction, running it again when PostgreSQL broke a deadlock by rolling it back. Two
 * daemons' transactions can meet in opposite lock order (a claim takes event rows before their
 * workflow's counter; a cancel takes the counter first); the server detects it and aborts one.
 */
export async function retryOnConflict<T>(transaction: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (!isTransientConflict(error) || attempt >= attempts) throw error;
      // A little jitter so the two that met do not meet again at once.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}
