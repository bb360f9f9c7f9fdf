// The boot origin (docs/net-bootfiles.md §8): the URL a boot came from, and the systemd hand-off
// that depends on it. systemd-import-generator resolves `systemd.pull=` / `rd.systemd.pull=`
// expressions with the `bootorigin` option against the StubDeviceURL EFI variable, which
// systemd-stub sets only when the firmware loaded the UKI from a URL. After a kexec no stub ran,
// so systemd would skip the download: tendril writes the absolute URL into the option instead.

import type { FileRef } from '../discovery/model';
import { netFsId, pathToUrl } from './netfs';

/** A kernel command line longer than this is not rewritten (kexec's limit is far below). */
export const MAX_REWRITE_CMDLINE = 1 << 20;

/**
 * systemd's import_url_change_suffix(url, 1, suffix) (src/shared/import-util.c): after the
 * scheme, its slashes and the host, cut the query and fragment, drop trailing slashes, drop the
 * last path component and the slashes before it, then append '/' and `suffix`. Undefined where
 * systemd fails: no ':' (or one at the start), or an empty host.
 */
export function changeLastComponent(url: string, suffix: string): string | undefined {
  const colon = url.indexOf(':');
  if (colon <= 0) return undefined;
  let d = colon + 1;
  while (url[d] === '/') d++;
  const hostEnd = d + strcspn(url.slice(d), '/?#');
  if (hostEnd === d) return undefined;
  let e = hostEnd + strcspn(url.slice(hostEnd), '?#');
  while (e > hostEnd && url[e - 1] === '/') e--;
  while (e > hostEnd && url[e - 1] !== '/') e--;
  while (e > hostEnd && url[e - 1] === '/') e--;
  return `${url.slice(0, e)}/${suffix}`;
}

function strcspn(s: string, reject: string): number {
  for (let i = 0; i < s.length; i++) if (reject.includes(s[i]!)) return i;
  return s.length;
}

/** systemd's http_url_is_valid(): StubDeviceURL must be http:// or https:// with something after. */
export function isHttpUrl(url: string): boolean {
  return /^https?:\/\/[^\s]/i.test(url) && !/[\s\x00-\x1f\x7f]/.test(url);
}

export interface PullRewrite {
  /** The option as the entry gave it, and as the kernel gets it. */
  readonly from: string;
  readonly to: string;
}

export interface PullRewriteResult {
  readonly cmdline: string;
  readonly rewrites: readonly PullRewrite[];
  /** Why a `bootorigin` option was left as it was (one line each). */
  readonly notes: readonly string[];
}

const PULL_KEYS = ['systemd.pull=', 'rd.systemd.pull='];

/**
 * Rewrite every `[rd.]systemd.pull=OPTIONS:LOCAL:REMOTE` word whose comma-separated OPTIONS hold
 * `bootorigin`: REMOTE becomes changeLastComponent(origin, REMOTE) and `bootorigin` is dropped
 * from OPTIONS, so the OS downloads the same URL it would have derived from StubDeviceURL. Words
 * in quotes and expressions systemd cannot split (no second ':') are left alone, as is every word
 * when there is no origin or it is not http(s) (systemd would refuse such a StubDeviceURL too).
 */
export function rewriteBootOriginPulls(cmdline: string, origin: string | undefined): PullRewriteResult {
  if (cmdline.length > MAX_REWRITE_CMDLINE || !cmdline.includes('bootorigin'))
    return { cmdline, rewrites: [], notes: [] };
  const rewrites: PullRewrite[] = [];
  const notes: string[] = [];
  // Split on runs of blanks, keeping them, so everything but the rewritten words stays byte-identical.
  const parts = cmdline.split(/([ \t\n]+)/);
  let quoted = false;
  for (let i = 0; i < parts.length; i += 2) {
    const word = parts[i]!;
    const inQuotes = quoted;
    // A quote opens a span that may hold blanks; such words are not touched.
    if ((word.match(/"/g)?.length ?? 0) % 2 === 1) quoted = !quoted;
    if (inQuotes || word.includes('"')) continue;
    const key = PULL_KEYS.find((k) => word.startsWith(k));
    if (!key) continue;
    const value = word.slice(key.length);
    const c1 = value.indexOf(':');
    const c2 = c1 < 0 ? -1 : value.indexOf(':', c1 + 1);
    if (c2 < 0) continue;
    const options = value.slice(0, c1).split(',');
    if (!options.includes('bootorigin')) continue;
    const remote = value.slice(c2 + 1);
    if (origin === undefined) {
      notes.push(`${word}: bootorigin left as it is: this boot has no origin URL (net.origin, tendril.origin=)`);
      continue;
    }
    if (!isHttpUrl(origin)) {
      notes.push(`${word}: bootorigin left as it is: the origin ${origin} is not http(s), which systemd refuses`);
      continue;
    }
    const url = changeLastComponent(origin, remote);
    if (url === undefined) {
      notes.push(`${word}: bootorigin left as it is: the origin ${origin} has no host`);
      continue;
    }
    const kept = options.filter((o) => o !== 'bootorigin').join(',');
    const to = `${key}${kept}:${value.slice(c1 + 1, c2)}:${url}`;
    parts[i] = to;
    rewrites.push({ from: word, to });
  }
  return { cmdline: parts.join(''), rewrites, notes };
}

/**
 * The origin systemd-stub would have reported for a boot of `kernel`: the URL it was fetched from
 * when it is a network file (StubDeviceURL is the URL of the image the stub was loaded from),
 * else tendril's own origin.
 */
export function bootOriginFor(kernel: Pick<FileRef, 'fsId' | 'path'>, origin: string | undefined): string | undefined {
  if (kernel.fsId.startsWith(netFsId(''))) {
    try {
      return pathToUrl(kernel.path);
    } catch {
      return origin;
    }
  }
  return origin;
}
