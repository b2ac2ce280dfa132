// Identifiers. Execution ids are UUIDv7 (time-ordered): new rows land at the right edge of every
// index keyed by them, so a busy queue dirties a few pages per commit instead of one page per row.
import { randomUUID } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/**
 * A UUIDv7: 48-bit millisecond timestamp, version 7, a 12-bit counter, then randomness. The random
 * part comes from randomUUID(), which draws from a pooled buffer (a fresh randomBytes call per id
 * showed up in profiles of the claim path).
 */
export function uuidv7(nowMs: number = Date.now()): string {
  // Within one millisecond the counter keeps ids increasing.
  if (nowMs <= lastMs) {
    nowMs = lastMs;
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) nowMs = ++lastMs;
  } else {
    lastMs = nowMs;
    sequence = 0;
  }
  const time = nowMs.toString(16).padStart(12, '0');
  const counter = (0x7000 | sequence).toString(16);
  // randomUUID: xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx — keep its variant and random tail.
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-${counter}-${randomUUID().slice(19)}`;
}
