// minisign public keys and signatures (https://jedisct1.github.io/minisign/): Ed25519 over the
// file ("Ed", legacy) or over its BLAKE2b-512 hash ("ED", prehashed, minisign's default since
// 0.11), plus the global signature over the signature and the trusted comment, which is checked
// too so the comment tendril shows is the signer's. See docs/signatures.md §3.

import { createPublicKey, verify } from 'node:crypto';

export const MAX_MINISIGN_BYTES = 4096;

export class MinisignError extends Error {
  override readonly name = 'MinisignError';
}

export interface MinisignKey {
  /** 8 bytes, as stored (minisign prints them as a little-endian 64-bit hex number). */
  readonly id: Buffer;
  readonly key: Buffer;
  readonly comment: string;
}

export interface MinisignSig {
  readonly prehashed: boolean;
  readonly keyId: Buffer;
  readonly sig: Buffer;
  readonly trustedComment: string;
  readonly globalSig: Buffer;
}

export const keyIdText = (id: Buffer): string => Buffer.from(id).reverse().toString('hex').toUpperCase();

function b64(line: string | undefined, len: number, what: string): Buffer {
  const t = (line ?? '').trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(t)) throw new MinisignError(`${what}: not base64`);
  const b = Buffer.from(t, 'base64');
  if (b.length !== len) throw new MinisignError(`${what}: ${b.length} bytes, expected ${len}`);
  return b;
}

function lines(text: string, what: string): string[] {
  if (text.length > MAX_MINISIGN_BYTES) throw new MinisignError(`${what} is larger than ${MAX_MINISIGN_BYTES} bytes`);
  return text.split('\n').map((l) => l.replace(/\r$/, ''));
}

/** `untrusted comment: …` then the base64 of "Ed" + key id + 32-byte key. */
export function parseMinisignKey(text: string, source: string): MinisignKey {
  const l = lines(text, source).filter((x) => x.trim() !== '');
  const c = /^untrusted comment: ?(.*)$/.exec(l[0] ?? '');
  if (!c || l.length !== 2) throw new MinisignError(`${source}: not a minisign public key (comment line + key line)`);
  const b = b64(l[1], 42, `${source} key`);
  if (b.subarray(0, 2).toString('latin1') !== 'Ed') throw new MinisignError(`${source}: key algorithm is not Ed`);
  return { id: b.subarray(2, 10), key: b.subarray(10), comment: c[1]! };
}

export function parseMinisignSig(text: string): MinisignSig {
  const l = lines(text, 'minisign signature');
  if (!/^untrusted comment:/.test(l[0] ?? '')) throw new MinisignError('minisign signature: no untrusted comment line');
  const b = b64(l[1], 74, 'minisign signature');
  const alg = b.subarray(0, 2).toString('latin1');
  if (alg !== 'Ed' && alg !== 'ED') throw new MinisignError(`minisign signature algorithm ${JSON.stringify(alg)}`);
  const t = /^trusted comment: (.*)$/.exec(l[2] ?? '');
  if (!t) throw new MinisignError('minisign signature: no trusted comment line');
  const globalSig = b64(l[3], 64, 'minisign global signature');
  if (l.slice(4).some((x) => x.trim() !== ''))
    throw new MinisignError('minisign signature: lines after the global signature');
  return { prehashed: alg === 'ED', keyId: b.subarray(2, 10), sig: b.subarray(10), trustedComment: t[1]!, globalSig };
}

const edKey = (k: Buffer) =>
  createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: k.toString('base64url') }, format: 'jwk' });

/**
 * Check `s` over `message`: the file's bytes for a legacy signature, its BLAKE2b-512 for a
 * prehashed one. Returns the key and the trusted comment; throws MinisignError.
 */
export function checkMinisign(
  s: MinisignSig,
  message: Uint8Array,
  keys: readonly MinisignKey[],
): { key: MinisignKey; trustedComment: string } {
  const key = keys.find((k) => k.id.equals(s.keyId));
  if (!key) throw new MinisignError(`signed by minisign key ${keyIdText(s.keyId)}, which is not a trusted key`);
  const pub = edKey(key.key);
  if (!verify(null, message, pub, s.sig))
    throw new MinisignError(`signature by minisign key ${keyIdText(s.keyId)} does not match the file`);
  if (!verify(null, Buffer.concat([s.sig, Buffer.from(s.trustedComment, 'utf8')]), pub, s.globalSig))
    throw new MinisignError(`minisign key ${keyIdText(s.keyId)}: the trusted comment's signature does not verify`);
  return { key, trustedComment: s.trustedComment };
}
