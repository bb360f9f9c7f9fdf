// URL resolution for boot files and configs (docs/net-bootfiles.md §1): a reference resolves
// against the URL of the file that names it, and the result must use a permitted scheme. A
// config fetched over https may not send the client to a plain-text scheme unless allowed.

import { NetError } from './types';

export type Scheme = 'tftp' | 'http' | 'https';
export const SCHEMES: readonly Scheme[] = ['tftp', 'http', 'https'];
/** Longest URL accepted (a config line cannot make a larger one). */
export const MAX_URL = 4096;

export interface UrlPolicy {
  /** Schemes a reference may resolve to (default: tftp, http, https). */
  readonly schemes?: readonly Scheme[];
  /** Allow an https config to name a tftp or http file (default: refused). */
  readonly allowDowngrade?: boolean;
}

const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/** The scheme of an absolute URL, without the colon, lower-cased; undefined when it has none. */
export function schemeOf(url: string): string | undefined {
  const m = HAS_SCHEME.exec(url);
  return m ? m[0].slice(0, -1).toLowerCase() : undefined;
}

/**
 * Resolve `ref` against `base` (RFC 3986 §5 as WHATWG URL does it) and check the policy.
 * Throws NetError naming the reference and why.
 */
export function resolveUrl(ref: string, base: string | undefined, policy: UrlPolicy = {}): string {
  const shown = ref.length > 80 ? ref.slice(0, 80) + '...' : ref;
  if (ref.length === 0) throw new NetError('(empty URL)', 'an empty file name', true);
  if (ref.length > MAX_URL) throw new NetError(shown, `URL longer than ${MAX_URL} characters`, true);
  if (/[\0-\x1f\x7f]/.test(ref)) throw new NetError(JSON.stringify(shown), 'control character in URL', true);
  let u: URL;
  try {
    u = HAS_SCHEME.test(ref) || base === undefined ? new URL(ref) : new URL(ref, base);
  } catch {
    throw new NetError(shown, base && !HAS_SCHEME.test(ref) ? `not a URL relative to ${base}` : 'not a URL', true);
  }
  const scheme = u.protocol.slice(0, -1);
  const allowed = policy.schemes ?? SCHEMES;
  if (!(allowed as readonly string[]).includes(scheme)) {
    throw new NetError(shown, `scheme ${scheme}: is not permitted (permitted: ${allowed.join(', ')})`, true);
  }
  if (u.hostname === '') throw new NetError(shown, 'URL names no host', true);
  if (u.username !== '' || u.password !== '') throw new NetError(shown, 'credentials in URLs are refused', true);
  if (base !== undefined && schemeOf(base) === 'https' && scheme !== 'https' && !policy.allowDowngrade) {
    throw new NetError(shown, `${base} was fetched over https; a ${scheme} file named by it is refused`, true);
  }
  u.hash = '';
  const out = u.href;
  if (out.length > MAX_URL) throw new NetError(shown, `resolved URL longer than ${MAX_URL} characters`, true);
  return out;
}

/** The directory URL of `url` (ends in '/'), for files named relative to it. */
export function dirUrl(url: string): string {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  u.pathname = u.pathname.replace(/[^/]*$/, '');
  return u.href;
}

/** The last path component of a URL, decoded when that is possible (for titles and image names). */
export function urlBasename(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url;
  }
  const last = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** The host of a URL as shown in titles ('192.0.2.1', '[2001:db8::1]'). */
export function urlHost(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '?';
  }
}
