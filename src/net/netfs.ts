// A FileSystem over a Fetch (docs/net-bootfiles.md §5): network entries name their kernels and
// initrds as FileRefs on `net:<iface>`, so planBoot and materialize read them through the same
// interface as disk files. A path stands for one URL: '/<scheme>/<host[:port]><path>[?query]'.
// There are no directories to list; a file is fetched whole on first open and kept.

import {
  type DirEntry,
  type FileHandle,
  type FileStat,
  type FileSystem,
  FsError,
  normalizePath,
} from '../discovery/fs/types';
import { type SumsState, type Verifier, verifierOf } from './entry-sums';
import { type Fetch, type Fetched, type FetchOptions, NetError } from './types';
import { type UrlPolicy, resolveUrl } from './url';

/** The FsId of the network files of one interface. */
export function netFsId(iface: string): string {
  return `net:${iface}`;
}

/** Marks a path whose rest is one %-encoded component holding the URL's path and query. */
const ESCAPED = '/%/';

/**
 * The path that stands for `url`: '/<scheme>/<host><path>[?query]' when that survives path
 * normalisation, else '/<scheme>/<host>/%/<encodeURIComponent(path + query)>' (a URL with '//'
 * or a trailing '/'), so every URL has exactly one path. Throws NetError only for a URL whose
 * path would pass PATH_MAX.
 */
export function urlToPath(url: string): string {
  const u = new URL(url);
  const base = `/${u.protocol.slice(0, -1)}/${u.host}`;
  const origin = `${u.protocol}//${u.host}`;
  // From the href, not pathname + search: 'http://h/?' keeps its empty query.
  const rest = u.href.startsWith(origin) ? u.href.slice(origin.length) : `${u.pathname}${u.search}`;
  try {
    if (!rest.startsWith(ESCAPED)) {
      const plain = normalizePath(base + (rest.startsWith('/') ? '' : '/') + rest);
      if (plain.length > base.length + 1 && pathToUrl(plain) === u.href) return plain;
    }
    const escaped = normalizePath(`${base}${ESCAPED}${encodeURIComponent(rest)}`);
    if (pathToUrl(escaped) !== u.href) throw new Error(`${escaped} does not lead back to it`);
    return escaped;
  } catch (e) {
    throw new NetError(url, `cannot name it as a file: ${(e as Error).message}`, true);
  }
}

/** The URL a path of a NetFileSystem stands for; throws FsError(ENOENT) when it stands for none. */
export function pathToUrl(path: string): string {
  const m = /^\/([a-z][a-z0-9+.-]*)\/([^/]+)(\/.*)?$/.exec(path);
  if (!m) throw new FsError('ENOENT', path, 'not a network file path (/<scheme>/<host>/<path>)');
  const rest = m[3] ?? '/';
  if (!rest.startsWith(ESCAPED)) return `${m[1]}://${m[2]}${rest}`;
  try {
    return `${m[1]}://${m[2]}${decodeURIComponent(rest.slice(ESCAPED.length))}`;
  } catch {
    throw new FsError('ENOENT', path, 'a bad %-escape in a network file path');
  }
}

export interface NetFsOptions {
  /** Largest file fetched through this filesystem (kernel, initrd, UKI). */
  readonly maxBytes: number;
  readonly policy?: UrlPolicy;
  readonly signal?: AbortSignal;
  readonly onProgress?: FetchOptions['onProgress'];
  /** The sha256 a URL's bytes must have (settings `[net.pins]`); a mismatch names both. */
  readonly pins?: Readonly<Record<string, string>>;
  /** Signed SHA256SUMS next to the boot file: a file listed there is pinned to its hash (§9). */
  readonly sums?: SumsState;
  /** Refuse a file a plan reads (kernel, initrd, UKI) that no pin or signed sums vouch for. */
  readonly requireVerified?: boolean;
}

function handleOver(bytes: Uint8Array): FileHandle {
  return {
    size: bytes.length,
    read: async (position, length) => {
      if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0)
        throw new FsError('EINVAL', '(net file)', `bad read ${position}+${length}`);
      return bytes.subarray(position, Math.min(bytes.length, position + length));
    },
    close: async () => {},
  };
}

export class NetFileSystem implements FileSystem {
  readonly type = 'net';
  readonly caseInsensitive = false;
  private readonly cache = new Map<string, Promise<Fetched>>();
  /** Files a PXELINUX config with `PROXY` named: fetched through that proxy (docs/net-bootfiles.md §3.5). */
  private readonly proxies = new Map<string, string>();

  constructor(
    readonly fsId: string,
    private readonly fetch: Fetch,
    private readonly opts: NetFsOptions,
  ) {}

  /** Fetch `url` once (later calls share the result; a failure is not kept). Rejects with NetError. */
  fetchUrl(url: string, maxBytes = this.opts.maxBytes): Promise<Fetched> {
    resolveUrl(url, undefined, { ...this.opts.policy, allowDowngrade: true });
    const hit = this.cache.get(url);
    if (hit) return hit;
    let sha256: string | undefined;
    try {
      sha256 = this.verifier(url)?.sha256;
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const proxy = this.proxies.get(url);
    const p = this.fetch(url, {
      maxBytes,
      ...(sha256 !== undefined ? { sha256 } : {}),
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      ...(this.opts.onProgress ? { onProgress: this.opts.onProgress } : {}),
      ...(proxy !== undefined ? { proxy } : {}),
    }).then((f) => {
      if (f.bytes.length > maxBytes) throw new NetError(url, `${f.bytes.length} bytes > limit ${maxBytes}`, true);
      return f;
    });
    this.cache.set(url, p);
    p.catch(() => this.cache.delete(url));
    return p;
  }

  /** Fetch `url` (when it is first fetched) through the http:// proxy `proxy`. */
  routeThrough(url: string, proxy: string): void {
    this.proxies.set(url, proxy);
  }

  /** Who vouches for `url`'s bytes (docs/net-transfer.md §9); throws NetError when a pin and the sums disagree. */
  verifier(url: string): Verifier | undefined {
    return verifierOf(url, this.opts.pins, this.opts.sums);
  }

  /** What was fetched for `path`, if it was (for reports: the URL after redirects and the sha256). */
  async fetched(path: string): Promise<Fetched | undefined> {
    const hit = this.cache.get(pathToUrl(normalizePath(path)));
    return hit ? hit.catch(() => undefined) : undefined;
  }

  private async get(path: string): Promise<Uint8Array> {
    const p = normalizePath(path);
    const url = pathToUrl(p);
    try {
      if (this.opts.requireVerified && this.verifier(url) === undefined)
        throw new FsError(
          'EACCES',
          p,
          `${url}: not verified: no sha256 pin vouches for it and no signed SHA256SUMS lists it (net.require-verified)`,
        );
      return (await this.fetchUrl(url)).bytes;
    } catch (e) {
      if (e instanceof FsError) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      const notFound = e instanceof NetError && e.notFound;
      // A NetError already names its URL.
      throw new FsError(notFound ? 'ENOENT' : 'EIO', p, msg.startsWith(url) ? msg : `${url}: ${msg}`);
    }
  }

  /** Fetches the file: over tftp and http that is the only honest way to know it is there. */
  async stat(path: string): Promise<FileStat> {
    const p = normalizePath(path);
    if (!/^\/[^/]+\/[^/]+\/./.test(p)) return { kind: 'dir', size: 0 };
    return { kind: 'file', size: (await this.get(p)).length };
  }

  lstat(path: string): Promise<FileStat> {
    return this.stat(path);
  }

  async readdir(path: string): Promise<DirEntry[]> {
    throw new FsError('EINVAL', normalizePath(path), 'tftp and http have no directory listing');
  }

  async open(path: string): Promise<FileHandle> {
    const p = normalizePath(path);
    if (!/^\/[^/]+\/[^/]+\/./.test(p)) throw new FsError('EISDIR', p, 'names a server, not a file');
    return handleOver(await this.get(p));
  }

  async close(): Promise<void> {
    this.cache.clear();
  }
}
