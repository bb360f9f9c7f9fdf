// Signed checksums: a `SHA256SUMS` file (as sha256sum writes it) whose detached signature
// `SHA256SUMS.sig` is an OpenSSH SSHSIG made with an Ed25519 key (`ssh-keygen -Y sign -n file`),
// verified with crypto.verify against keys given as OpenSSH public-key lines. Both parsers are
// bounded and reject rather than guess. See docs/net-transfer.md §8.

import { createHash } from 'node:crypto';
import {
  type TrustedKey,
  MAX_SSHSIG_BYTES as MAX_SIG_BYTES,
  SshsigError,
  checkSshsig,
  parseSshsig,
  parseTrustedKeys as parseKeys,
} from '../trust/sshsig';
import { type Fetch, NetError } from './types';

export const MAX_SUMS_BYTES = 1 << 20;
export const MAX_SUMS_LINES = 10_000;

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

export type { TrustedKey } from '../trust/sshsig';

/** The trust/ module's errors, as this module's own (same messages). */
function asSums<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof SshsigError) throw new SumsError(e.message);
    throw e;
  }
}

/** OpenSSH public-key lines (`ssh-ed25519 AAAA… comment`); other key types are refused. */
export function parseTrustedKeys(text: string, source: string): TrustedKey[] {
  return asSums(() => parseKeys(text, source));
}

/**
 * Verifies an armored SSHSIG over `message` (PROTOCOL.sshsig): Ed25519 key among `trusted`, the
 * expected namespace, hash sha256 or sha512. Returns the signing key's comment and fingerprint;
 * throws SumsError naming what did not match. The format itself is in trust/sshsig.ts.
 */
export function verifySshsig(
  message: Uint8Array,
  armored: string,
  trusted: readonly TrustedKey[],
  namespace = 'file',
): { comment: string; fingerprint: string } {
  return asSums(() => {
    const s = parseSshsig(armored);
    return checkSshsig(s, createHash(s.hashAlg).update(message).digest(), trusted, namespace);
  });
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
