// Signed checksums: a `SHA256SUMS` file (as sha256sum writes it) whose detached signature
// `SHA256SUMS.sig` is an OpenSSH SSHSIG made with an Ed25519 key (`ssh-keygen -Y sign -n file`),
// verified with crypto.verify against keys given as OpenSSH public-key lines. Both parsers are
// bounded and reject rather than guess. See docs/net-transfer.md §8.

import { createHash, createPublicKey, verify } from 'node:crypto';
import { type Fetch, NetError } from './types';

export const MAX_SUMS_BYTES = 1 << 20;
export const MAX_SUMS_LINES = 10_000;
const MAX_SIG_BYTES = 16 << 10;
const MAGIC = Buffer.from('SSHSIG');

export class SumsError extends Error {
  override readonly name = 'SumsError';
}

/** `<64 hex>  name` or `<64 hex> *name` per line; blank lines and `#` comments are skipped. */
export function parseSha256Sums(text: string): Map<string, string> {
  if (text.length > MAX_SUMS_BYTES) throw new SumsError(`SHA256SUMS is larger than ${MAX_SUMS_BYTES} bytes`);
  const lines = text.split('\n');
  if (lines.length > MAX_SUMS_LINES) throw new SumsError(`SHA256SUMS has more than ${MAX_SUMS_LINES} lines`);
  const out = new Map<string, string>();
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) return;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m) throw new SumsError(`SHA256SUMS line ${i + 1}: not '<sha256>  <name>'`);
    const name = m[2]!.replace(/^\.\//, '');
    if (out.has(name)) throw new SumsError(`SHA256SUMS line ${i + 1}: ${JSON.stringify(name)} listed twice`);
    out.set(name, m[1]!.toLowerCase());
  });
  return out;
}

/** Reads SSH wire-format strings (uint32 length + bytes), never past the end. */
class Wire {
  private off = 0;
  constructor(
    private readonly b: Buffer,
    private readonly what: string,
  ) {}
  bytes(n: number): Buffer {
    if (n > this.b.length - this.off) throw new SumsError(`${this.what}: truncated`);
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  u32(): number {
    return this.bytes(4).readUInt32BE(0);
  }
  string(): Buffer {
    return this.bytes(this.u32());
  }
  end(): void {
    if (this.off !== this.b.length) throw new SumsError(`${this.what}: ${this.b.length - this.off} trailing bytes`);
  }
}

function sshString(b: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
}

/** The raw 32-byte key of an `ssh-ed25519 AAAA… comment` line, or of its wire blob. */
function ed25519Key(blob: Buffer, what: string): Buffer {
  const w = new Wire(blob, what);
  const type = w.string().toString('latin1');
  if (type !== 'ssh-ed25519')
    throw new SumsError(`${what}: key type ${JSON.stringify(type.slice(0, 40))}, not ssh-ed25519`);
  const key = w.string();
  if (key.length !== 32) throw new SumsError(`${what}: Ed25519 key of ${key.length} bytes`);
  w.end();
  return key;
}

export interface TrustedKey {
  readonly key: Buffer;
  readonly comment: string;
}

/** OpenSSH public-key lines (`ssh-ed25519 AAAA… comment`); other key types are refused. */
export function parseTrustedKeys(text: string, source: string): TrustedKey[] {
  const keys: TrustedKey[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const m = /^ssh-ed25519\s+([A-Za-z0-9+/]+={0,2})(?:\s+(.*))?$/.exec(line);
    if (!m) throw new SumsError(`${source} line ${i + 1}: not an 'ssh-ed25519 <base64> [comment]' key`);
    keys.push({ key: ed25519Key(Buffer.from(m[1]!, 'base64'), `${source} line ${i + 1}`), comment: m[2] ?? '' });
  });
  if (keys.length === 0) throw new SumsError(`${source}: no ssh-ed25519 key`);
  return keys;
}

function fingerprint(key: Buffer): string {
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(key)]);
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * Verifies an armored SSHSIG over `message` (PROTOCOL.sshsig): Ed25519 key among `trusted`, the
 * expected namespace, hash sha256 or sha512. Returns the signing key's comment and fingerprint;
 * throws SumsError naming what did not match.
 */
export function verifySshsig(
  message: Uint8Array,
  armored: string,
  trusted: readonly TrustedKey[],
  namespace = 'file',
): { comment: string; fingerprint: string } {
  if (armored.length > MAX_SIG_BYTES) throw new SumsError(`signature is larger than ${MAX_SIG_BYTES} bytes`);
  const m = /-----BEGIN SSH SIGNATURE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END SSH SIGNATURE-----/.exec(armored);
  if (!m) throw new SumsError('signature is not an armored SSH SIGNATURE');
  const w = new Wire(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'), 'SSH signature');
  if (!w.bytes(6).equals(MAGIC)) throw new SumsError('SSH signature: bad magic');
  const version = w.u32();
  if (version !== 1) throw new SumsError(`SSH signature: version ${version}, expected 1`);
  const key = ed25519Key(w.string(), 'SSH signature key');
  const ns = w.string();
  const reserved = w.string();
  const hashAlg = w.string().toString('latin1');
  const sigBlob = w.string();
  w.end();
  if (ns.toString('latin1') !== namespace)
    throw new SumsError(
      `SSH signature namespace ${JSON.stringify(ns.toString('latin1').slice(0, 40))}, expected ${JSON.stringify(namespace)}`,
    );
  if (hashAlg !== 'sha256' && hashAlg !== 'sha512')
    throw new SumsError(`SSH signature hash ${JSON.stringify(hashAlg.slice(0, 20))} is not sha256 or sha512`);
  const sw = new Wire(sigBlob, 'SSH signature blob');
  const sigType = sw.string().toString('latin1');
  const sig = sw.string();
  sw.end();
  if (sigType !== 'ssh-ed25519' || sig.length !== 64)
    throw new SumsError(`SSH signature of type ${JSON.stringify(sigType.slice(0, 40))}, not ssh-ed25519`);
  const signer = trusted.find((k) => k.key.equals(key));
  if (!signer) throw new SumsError(`signed by ${fingerprint(key)}, which is not a trusted key`);
  const signed = Buffer.concat([
    MAGIC,
    sshString(ns),
    sshString(reserved),
    sshString(Buffer.from(hashAlg)),
    sshString(createHash(hashAlg).update(message).digest()),
  ]);
  const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: key.toString('base64url') }, format: 'jwk' });
  if (!verify(null, signed, pub, sig)) throw new SumsError(`signature by ${fingerprint(key)} does not match the file`);
  return { comment: signer.comment, fingerprint: fingerprint(key) };
}

/**
 * Fetches `sumsUrl` and `sumsUrl.sig`, verifies the signature against `trusted`, and returns the
 * sha256 SHA256SUMS lists for the last path component of `fileUrl`. Rejects with a permanent
 * NetError naming the SHA256SUMS URL.
 */
export async function pinFromSignedSums(
  fetch: Fetch,
  sumsUrl: string,
  fileUrl: string,
  trusted: readonly TrustedKey[],
  signal?: AbortSignal,
): Promise<{ sha256: string; signer: string }> {
  const opts = signal ? { signal } : {};
  const sums = await fetch(sumsUrl, { maxBytes: MAX_SUMS_BYTES, ...opts });
  const sig = await fetch(`${sumsUrl}.sig`, { maxBytes: MAX_SIG_BYTES, ...opts });
  let name: string;
  try {
    name = decodeURIComponent(new URL(fileUrl).pathname.split('/').pop() ?? '');
  } catch {
    throw new NetError(fileUrl, 'bad percent-encoding in the file name', true);
  }
  try {
    const who = verifySshsig(sums.bytes, Buffer.from(sig.bytes).toString('latin1'), trusted);
    const hash = parseSha256Sums(Buffer.from(sums.bytes).toString('utf8')).get(name);
    if (hash === undefined) throw new SumsError(`${JSON.stringify(name)} is not listed`);
    return { sha256: hash, signer: `${who.fingerprint}${who.comment ? ` (${who.comment})` : ''}` };
  } catch (e) {
    if (e instanceof SumsError) throw new NetError(sums.url, e.message, true);
    throw e;
  }
}
