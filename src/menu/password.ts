// Menu password: stored as a salted scrypt hash, `scrypt$N$r$p$<salt b64>$<hash b64>`.
// Guards the editor and the rescue shell. `tendril hash-password` prints one.

import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

const N = 1 << 14;
const R = 8;
const P = 1;
const KEYLEN = 32;

export function hashPassword(password: string, salt = randomBytes(16)): string {
  const h = scryptSync(password, salt, KEYLEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${h.toString('base64')}`;
}

export class PasswordHashError extends Error {}

export function parseHash(stored: string): { n: number; r: number; p: number; salt: Buffer; hash: Buffer } {
  const parts = stored.trim().split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') throw new PasswordHashError('not a scrypt$N$r$p$salt$hash string');
  const [n, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![n, r, p].every((x) => Number.isSafeInteger(x) && x > 0) || n > 1 << 20 || r > 32 || p > 16) {
    throw new PasswordHashError('scrypt parameters out of range');
  }
  const salt = Buffer.from(parts[4]!, 'base64');
  const hash = Buffer.from(parts[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16) throw new PasswordHashError('salt or hash too short');
  return { n, r, p, salt, hash };
}

export function verifyPassword(password: string, stored: string): boolean {
  const h = parseHash(stored);
  const got = scryptSync(password, h.salt, h.hash.length, {
    N: h.n,
    r: h.r,
    p: h.p,
    maxmem: 256 * h.n * h.r + (1 << 20),
  });
  return timingSafeEqual(got, h.hash);
}
