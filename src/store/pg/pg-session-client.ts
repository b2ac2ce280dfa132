// A dedicated PostgreSQL session (one pg.Client, not a pool): session advisory locks and LISTEN
// belong to one backend, so leader election and wake-ups each hold their own connection.
// @types/pg is not installed; pg is loaded through require with the narrow surface we use typed here.
import { createRequire } from 'node:module';

/** A query result row set, as far as coordination code reads it. */
export interface SessionQueryResult {
  rows: Array<Record<string, unknown>>;
}

/** Anything that runs a parameterised query: a pg.Client or a pg.Pool. */
export interface Queryable {
  query(text: string, params?: unknown[]): Promise<SessionQueryResult>;
}

/** A NOTIFY delivered to a listening session. */
export interface SessionNotification {
  channel: string;
  payload?: string;
  processId: number;
}

/** The pg.Client surface coordination code uses. */
export interface SessionClient extends Queryable {
  connect(): Promise<void>;
  end(): Promise<void>;
  escapeIdentifier(name: string): string;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'end', listener: () => void): this;
  on(event: 'notification', listener: (message: SessionNotification) => void): this;
  removeAllListeners(event?: string): this;
}

/** How long a session may sit silent before TCP keepalive probes a possibly dead peer. */
const keepAliveInitialDelayMs = 10_000;

/**
 * Client-side limits, so a black-holed network (no RST, no FIN) fails a connect or a query instead
 * of hanging a coordination loop forever.
 */
const connectTimeoutMs = 10_000;
const queryTimeoutMs = 10_000;

interface PgModule {
  Client: new (config: Record<string, unknown>) => SessionClient;
}

const requireFromHere = createRequire(import.meta.url);

/** Opens a new dedicated session; the caller owns it and must end() it. */
export async function openSessionClient(connectionString: string, applicationName: string): Promise<SessionClient> {
  const pg = requireFromHere('pg') as PgModule;
  const client = new pg.Client({
    connectionString,
    application_name: applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: keepAliveInitialDelayMs,
    connectionTimeoutMillis: connectTimeoutMs,
    query_timeout: queryTimeoutMs,
  });
  // An 'error' with no listener would crash the process; callers attach their own right after, but
  // the connect itself may fail first.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return client;
}

/** A factory for dedicated sessions, injected so tests and callers choose where they connect. */
export type SessionConnector = () => Promise<SessionClient>;

/** The default connector: a new session on the given database URL. */
export function connectSessionsTo(connectionString: string, applicationName: string): SessionConnector {
  return () => openSessionClient(connectionString, applicationName);
}
