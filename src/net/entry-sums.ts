// Signed SHA256SUMS for network entries (docs/net-transfer.md §9): the sums file next to the boot
// file (setting net.sums), its SSHSIG signature checked with the owner's keys from the
// initramfs (trust.keys), and, per URL, which check vouches for a kernel, initrd or UKI: a
// `[net.pins]` pin or the signed sums. Loading never throws: its outcome is a state the entries
// and the dry run report.

import { errorMessage } from '../discovery/diagnostics';
import { MAX_SUMS_BYTES, parseSha256Sums, SumsError, type TrustedKey, verifySshsig } from './sums';
import { MAX_SSHSIG_BYTES } from '../trust/sshsig';
import { type Fetch, NetError } from './types';
import { dirUrl, resolveUrl } from './url';

/** The setting's default: `SHA256SUMS` in the boot file's directory. */
export const DEFAULT_SUMS_NAME = 'SHA256SUMS';
/** The SSHSIG namespace, as `tendril fetch --sums` and `ssh-keygen -Y sign -n file` use. */
export const SUMS_NAMESPACE = 'file';

export type SumsState =
  /** The server has no sums file (404 / TFTP file not found), or net.sums = "none". */
  | { readonly kind: 'none'; readonly url?: string }
  | {
      readonly kind: 'verified';
      readonly url: string;
      /** `SHA256:… (comment)` of the key that signed it. */
      readonly signer: string;
      readonly hashes: ReadonlyMap<string, string>;
    }
  /** The sums could not be fetched, or their signature or text is bad. */
  | { readonly kind: 'failed'; readonly url: string; readonly reason: string };

/** How a URL's bytes are vouched for: its pin, or the signed sums that list it. */
export type Verifier =
  | { readonly by: 'pin'; readonly sha256: string }
  | { readonly by: 'sums'; readonly sha256: string; readonly sums: string; readonly signer: string };

/** The sums URL: `setting` resolved against the boot file's directory; undefined for "none". */
export function sumsUrlFor(setting: string, bootUrl: string): string | undefined {
  if (setting === 'none') return undefined;
  return resolveUrl(setting, dirUrl(bootUrl), { allowDowngrade: true });
}

/**
 * Fetches `url` and `url.sig` and verifies the signature against `keys`. A missing sums file is
 * `none`; a missing signature, a fetch failure, a bad signature or a bad line is `failed` with a
 * reason that names the URL.
 */
export async function loadSignedSums(
  fetch: Fetch,
  url: string,
  keys: readonly TrustedKey[],
  signal?: AbortSignal,
): Promise<SumsState> {
  const o = signal ? { signal } : {};
  let text: Uint8Array;
  try {
    text = (await fetch(url, { maxBytes: MAX_SUMS_BYTES, ...o })).bytes;
  } catch (e) {
    if (e instanceof NetError && e.notFound) return { kind: 'none', url };
    return { kind: 'failed', url, reason: named(url, e) };
  }
  const sigUrl = `${url}.sig`;
  let sig: Uint8Array;
  try {
    sig = (await fetch(sigUrl, { maxBytes: MAX_SSHSIG_BYTES, ...o })).bytes;
  } catch (e) {
    const why =
      e instanceof NetError && e.notFound ? `${sigUrl}: not found: the sums are not signed` : named(sigUrl, e);
    return { kind: 'failed', url, reason: why };
  }
  try {
    if (keys.length === 0) throw new SumsError('no OpenSSH Ed25519 key in trust.keys to check its signature with');
    const who = verifySshsig(text, Buffer.from(sig).toString('latin1'), keys, SUMS_NAMESPACE);
    const hashes = parseSha256Sums(Buffer.from(text).toString('utf8'));
    return { kind: 'verified', url, signer: `${who.fingerprint}${who.comment ? ` (${who.comment})` : ''}`, hashes };
  } catch (e) {
    if (e instanceof SumsError) return { kind: 'failed', url, reason: `${url}: ${e.message}` };
    throw e;
  }
}

function named(url: string, e: unknown): string {
  const m = errorMessage(e);
  return m.startsWith(url) ? m : `${url}: ${m}`;
}

/**
 * The hash verified sums list for `fileUrl`: its path relative to the sums file's directory
 * (same scheme and host, no query), percent-decoded, as sha256sum names files.
 */
export function listedHash(s: SumsState, fileUrl: string): string | undefined {
  if (s.kind !== 'verified') return undefined;
  let f: URL;
  let d: URL;
  try {
    f = new URL(fileUrl);
    d = new URL(dirUrl(s.url));
  } catch {
    return undefined;
  }
  if (f.origin !== d.origin || f.protocol !== d.protocol || f.search !== '' || !f.pathname.startsWith(d.pathname))
    return undefined;
  let rel: string;
  try {
    rel = decodeURIComponent(f.pathname.slice(d.pathname.length));
  } catch {
    return undefined;
  }
  return rel === '' ? undefined : s.hashes.get(rel);
}

/**
 * Who vouches for `url`: its `[net.pins]` pin first, else verified sums. A pin and sums that
 * disagree are refused (NetError naming both), since one of them is wrong.
 */
export function verifierOf(
  url: string,
  pins: Readonly<Record<string, string>> | undefined,
  sums: SumsState | undefined,
): Verifier | undefined {
  const pin = pins?.[url];
  const listed = sums ? listedHash(sums, url) : undefined;
  if (pin !== undefined && listed !== undefined && pin !== listed)
    throw new NetError(
      url,
      `[net.pins] says sha256 ${pin} but ${sums!.kind === 'verified' ? sums!.url : 'SHA256SUMS'} lists ${listed}`,
      true,
    );
  if (pin !== undefined) return { by: 'pin', sha256: pin };
  if (listed !== undefined && sums?.kind === 'verified')
    return { by: 'sums', sha256: listed, sums: sums.url, signer: sums.signer };
  return undefined;
}

/** One line for the dry run and the log: `verified by pin`, `verified by SHA256SUMS … signed by …`. */
export function describeVerifier(v: Verifier | undefined): string {
  if (!v) return 'not verified';
  return v.by === 'pin' ? 'verified by [net.pins]' : `verified by ${v.sums} signed by ${v.signer}`;
}
