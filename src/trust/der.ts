// A small bounded DER reader for the parts of PKCS#7 and X.509 that Authenticode needs
// (ITU-T X.690, the BER and DER rules). Definite lengths only, at most 4 length bytes, single-byte tags
// (no high-tag-number form), a nesting limit: anything else is a DerError naming the offset.
// See docs/signatures.md §2.

export class DerError extends Error {
  override readonly name = 'DerError';
}

/** Deepest nesting any caller walks (SignedData → SignerInfo → attributes is about 8). */
export const MAX_DER_DEPTH = 32;

export const TAG = {
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One TLV: `der` is the whole encoding, `body` its contents; `at` is the offset in the outermost buffer. */
export interface Tlv {
  readonly tag: number;
  readonly at: number;
  readonly der: Uint8Array;
  readonly body: Uint8Array;
}

/** Read the TLV at `pos` of `b` (whose first byte is at absolute offset `base`). */
export function readTlv(b: Uint8Array, pos: number, base = 0): Tlv {
  const where = (p: number): string => `DER at offset ${base + p}`;
  if (pos + 2 > b.length) throw new DerError(`${where(pos)}: truncated header`);
  const tag = b[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`${where(pos)}: multi-byte tag 0x${tag.toString(16)} not supported`);
  let len = b[pos + 1]!;
  let hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DerError(`${where(pos)}: indefinite length (BER, not DER)`);
    if (n > 4) throw new DerError(`${where(pos)}: ${n} length bytes (limit 4)`);
    if (pos + 2 + n > b.length) throw new DerError(`${where(pos)}: truncated length`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[pos + 2 + i]!;
    hdr += n;
  }
  if (len > b.length - pos - hdr)
    throw new DerError(`${where(pos)}: length ${len} runs past the end (${b.length - pos - hdr} bytes left)`);
  return {
    tag,
    at: base + pos,
    der: b.subarray(pos, pos + hdr + len),
    body: b.subarray(pos + hdr, pos + hdr + len),
  };
}

/** The children of a constructed TLV, in order; `depth` is the caller's nesting, checked against the limit. */
export function children(t: Tlv, depth: number): Tlv[] {
  if (depth > MAX_DER_DEPTH) throw new DerError(`DER at offset ${t.at}: nested deeper than ${MAX_DER_DEPTH}`);
  if (!(t.tag & 0x20)) throw new DerError(`DER at offset ${t.at}: tag 0x${t.tag.toString(16)} is not constructed`);
  const out: Tlv[] = [];
  const base = t.at + (t.der.length - t.body.length);
  for (let p = 0; p < t.body.length;) {
    const c = readTlv(t.body, p, base);
    out.push(c);
    p += c.der.length;
  }
  return out;
}

/** The whole buffer must be exactly one TLV. */
export function parseOne(b: Uint8Array, what: string): Tlv {
  const t = readTlv(b, 0);
  if (t.der.length !== b.length) throw new DerError(`${what}: ${b.length - t.der.length} bytes after the DER value`);
  return t;
}

export function expectTag(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t) throw new DerError(`${what}: missing`);
  if (t.tag !== tag)
    throw new DerError(`${what} at offset ${t.at}: tag 0x${t.tag.toString(16)}, expected 0x${tag.toString(16)}`);
  return t;
}

/** Dotted text of an OBJECT IDENTIFIER body (X.690, "Encoding of an object identifier value"); arcs are bounded to 2^53. */
export function oidText(t: Tlv, what: string): string {
  expectTag(t, TAG.OID, what);
  const b = t.body;
  if (b.length === 0 || b.length > 64) throw new DerError(`${what} at offset ${t.at}: OID of ${b.length} bytes`);
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < b.length; i++) {
    v = v * 128 + (b[i]! & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER) throw new DerError(`${what} at offset ${t.at}: OID arc too large`);
    if (!(b[i]! & 0x80)) {
      arcs.push(v);
      v = 0;
    } else if (i === b.length - 1) throw new DerError(`${what} at offset ${t.at}: OID ends inside an arc`);
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
