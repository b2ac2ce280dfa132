// User passwords: scrypt (node:crypto) with a random salt per password, stored as one PHC-style
// string that carries its own parameters, so stronger parameters later still verify old hashes.
import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Cost of a new hash: OWASP's scrypt minimum, N = 2^17, r = 8, p = 1 (128 MiB, a fraction of a second). */
const defaultParams = { logN: 17, r: 8, p: 1 } as const;
const saltBytes = 16;
const hashBytes = 32;

/** Shortest password `tav users create` accepts. */
export const minPasswordLength = 8;

/** Hashes a password: `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` (base64, no padding). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(saltBytes);
  const { logN, r, p } = defaultParams;
  const hash = await scrypt(password, salt, hashBytes, { N: 2 ** logN, r, p, maxmem: scryptMemory(logN, r) });
  return `$scrypt$ln=${logN},r=${r},p=${p}$${salt.toString('base64').replace(/=+$/, '')}$${hash.toString('base64').replace(/=+$/, '')}`;
}

/** True when `password` matches `encoded`; false for a wrong password or an unreadable hash. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const match = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(encoded);
  if (!match) return false;
  const [logN, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (logN < 1 || logN > 20 || r < 1 || p < 1) return false;
  const salt = Buffer.from(match[4]!, 'base64');
  const expected = Buffer.from(match[5]!, 'base64');
  if (expected.length < 16) return false;
  const actual = await scrypt(password, salt, expected.length, { N: 2 ** logN, r, p, maxmem: scryptMemory(logN, r) });
  return timingSafeEqual(actual, expected);
}

// scrypt needs 128·N·r bytes; node refuses above `maxmem` (32 MiB by default), so give it headroom.
function scryptMemory(logN: number, r: number): number {
  return 128 * 2 ** logN * r * 2;
}

function scrypt(password: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(password.normalize('NFC'), salt, length, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
