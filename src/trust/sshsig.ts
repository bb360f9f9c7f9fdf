// OpenSSH signatures (PROTOCOL.sshsig, `ssh-keygen -Y sign`) made with Ed25519 keys, and OpenSSH
// public-key lines. Split in two so a signature can be checked against a digest computed while
// the file is copied (docs/signatures.md §3): parseSshsig() says which hash to compute,
// checkSshsig() checks the signature over it. Shared with net/sums.ts (SHA256SUMS.sig).

import { createHash, createPublicKey, verify } from 'node:crypto';

export const MAX_SSHSIG_BYTES = 16 << 10;
const MAGIC = Buffer.from('SSHSIG');

export class SshsigError extends Error {
  override readonly name = 'SshsigError';
}

/** Reads SSH wire-format strings (uint32 length + bytes), never past the end. */
class Wire {
  private off = 0;
  constructor(
    private readonly b: Buffer,
    private readonly what: string,
  ) {}
  bytes(n: number): Buffer {
    if (n > this.b.length - this.off) throw new SshsigError(`${this.what}: truncated`);
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
    if (this.off !== this.b.length) throw new SshsigError(`${this.what}: ${this.b.length - this.off} trailing bytes`);
  }
}

function sshString(b: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length, 0);
  return Buffer.concat([len, b]);
}

/** The raw 32-byte key of an `ssh-ed25519` wire blob. */
function ed25519Key(blob: Buffer, what: string): Buffer {
  const w = new Wire(blob, what);
  const type = w.string().toString('latin1');
  if (type !== 'ssh-ed25519')
    throw new SshsigError(`${what}: key type ${JSON.stringify(type.slice(0, 40))}, not ssh-ed25519`);
  const key = w.string();
  if (key.length !== 32) throw new SshsigError(`${what}: Ed25519 key of ${key.length} bytes`);
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
    if (!m) throw new SshsigError(`${source} line ${i + 1}: not an 'ssh-ed25519 <base64> [comment]' key`);
    keys.push({ key: ed25519Key(Buffer.from(m[1]!, 'base64'), `${source} line ${i + 1}`), comment: m[2] ?? '' });
  });
  if (keys.length === 0) throw new SshsigError(`${source}: no ssh-ed25519 key`);
  return keys;
}

export function fingerprint(key: Buffer): string {
  const blob = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(key)]);
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export interface Sshsig {
  readonly key: Buffer;
  readonly namespace: Buffer;
  readonly reserved: Buffer;
  readonly hashAlg: 'sha256' | 'sha512';
  readonly sig: Buffer;
}

/** Parse an armored SSHSIG (Ed25519, hash sha256 or sha512). Throws SshsigError. */
export function parseSshsig(armored: string): Sshsig {
  if (armored.length > MAX_SSHSIG_BYTES) throw new SshsigError(`signature is larger than ${MAX_SSHSIG_BYTES} bytes`);
  const m = /-----BEGIN SSH SIGNATURE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END SSH SIGNATURE-----/.exec(armored);
  if (!m) throw new SshsigError('signature is not an armored SSH SIGNATURE');
  const w = new Wire(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'), 'SSH signature');
  if (!w.bytes(6).equals(MAGIC)) throw new SshsigError('SSH signature: bad magic');
  const version = w.u32();
  if (version !== 1) throw new SshsigError(`SSH signature: version ${version}, expected 1`);
  const key = ed25519Key(w.string(), 'SSH signature key');
  const namespace = w.string();
  const reserved = w.string();
  const hashAlg = w.string().toString('latin1');
  const sigBlob = w.string();
  w.end();
  if (hashAlg !== 'sha256' && hashAlg !== 'sha512')
    throw new SshsigError(`SSH signature hash ${JSON.stringify(hashAlg.slice(0, 20))} is not sha256 or sha512`);
  const sw = new Wire(sigBlob, 'SSH signature blob');
  const sigType = sw.string().toString('latin1');
  const sig = sw.string();
  sw.end();
  if (sigType !== 'ssh-ed25519' || sig.length !== 64)
    throw new SshsigError(`SSH signature of type ${JSON.stringify(sigType.slice(0, 40))}, not ssh-ed25519`);
  return { key, namespace, reserved, hashAlg, sig };
}

/**
 * Check a parsed SSHSIG against `digest` (the message's hash with s.hashAlg), the expected
 * namespace and the trusted keys. Returns the signer's comment and fingerprint; throws SshsigError.
 */
export function checkSshsig(
  s: Sshsig,
  digest: Uint8Array,
  trusted: readonly TrustedKey[],
  namespace = 'file',
): { comment: string; fingerprint: string } {
  const ns = s.namespace.toString('latin1');
  if (ns !== namespace)
    throw new SshsigError(
      `SSH signature namespace ${JSON.stringify(ns.slice(0, 40))}, expected ${JSON.stringify(namespace)}`,
    );
  const signer = trusted.find((k) => k.key.equals(s.key));
  if (!signer) throw new SshsigError(`signed by ${fingerprint(s.key)}, which is not a trusted key`);
  const signed = Buffer.concat([
    MAGIC,
    sshString(s.namespace),
    sshString(s.reserved),
    sshString(Buffer.from(s.hashAlg)),
    sshString(digest),
  ]);
  const pub = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: s.key.toString('base64url') }, format: 'jwk' });
  if (!verify(null, signed, pub, s.sig))
    throw new SshsigError(`signature by ${fingerprint(s.key)} does not match the file`);
  return { comment: signer.comment, fingerprint: fingerprint(s.key) };
}
