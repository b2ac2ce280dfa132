// SQL for cross-daemon coordination on PostgreSQL: leader election by session advisory lock and
// wake-ups by LISTEN/NOTIFY. Parameters are always bound; the one exception is the LISTEN channel,
// an identifier PostgreSQL cannot bind, which is validated and quoted by listenStatement().
import { createHash } from 'node:crypto';

/** Takes the session advisory lock if free, without waiting; true when this session now holds it. */
export const tryAdvisoryLockSql = 'SELECT pg_try_advisory_lock($1::bigint) AS acquired';

/** Releases one hold of the session advisory lock; false when this session did not hold it. */
export const advisoryUnlockSql = 'SELECT pg_advisory_unlock($1::bigint) AS released';

/** A cheap round trip proving the session (and so any lock it holds) is still alive. */
export const sessionAliveSql = 'SELECT 1 AS alive';

/** Sends a notification; channel and payload are bound, unlike the NOTIFY statement. */
export const notifySql = 'SELECT pg_notify($1, $2)';

/** The same, in knex.raw's placeholder style, for callers inside a knex transaction. */
export const notifyKnexSql = 'SELECT pg_notify(?, ?)';

/** Channel names we accept: plain lower-case identifiers, so quoting is never ambiguous. */
const channelPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws unless `channel` is a plain identifier usable as a LISTEN/NOTIFY channel. */
export function assertChannelName(channel: string): void {
  if (!channelPattern.test(channel)) throw new Error(`invalid notification channel name: ${channel}`);
}

/** The LISTEN statement for a validated channel, quoted with the driver's identifier escaping. */
export function listenStatement(channel: string, escapeIdentifier: (name: string) => string): string {
  assertChannelName(channel);
  return `LISTEN ${escapeIdentifier(channel)}`;
}

/**
 * The 64-bit advisory lock key for a lock name: the first 8 bytes of its SHA-256 as a signed
 * bigint, in decimal text (pg binds it as ::bigint). Every daemon derives the same key from the
 * same name, and different names practically never collide with each other or with other apps.
 */
export function advisoryLockKey(lockName: string): string {
  return createHash('sha256').update(lockName).digest().readBigInt64BE(0).toString();
}
