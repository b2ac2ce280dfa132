// Identifiers. Execution ids are UUIDv7 (time-ordered): new rows land at the right edge of every
// index keyed by them, so a busy queue dirties a few pages per commit instead of one page per row.
import { randomBytes } from 'node:crypto';

let lastMs = 0;
let sequence = 0;

/** A UUIDv7: 48-bit millisecond timestamp, version and variant bits, then randomness. */
export function uuidv7(nowMs: number = Date.now()): string {
  // Within one millisecond a counter in the random bits keeps ids increasing.
  if (nowMs <= lastMs) {
    nowMs = lastMs;
    sequence = (sequence + 1) & 0xfff;
    if (sequence === 0) nowMs = ++lastMs;
  } else {
    lastMs = nowMs;
    sequence = 0;
  }
  const bytes = randomBytes(16);
  bytes.writeUIntBE(nowMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
