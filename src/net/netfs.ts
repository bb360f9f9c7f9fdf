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
import * as fs from 'node:fs';
import { type SumsState, type Verifier, verifierOf } from './entry-sums';
import type { MemfdDownload } from './fetch';
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
  /** Signed SHA256SUMS next to the boot file: a file listed there is pinned to its hash (docs/net-transfer.md §9). */
  readonly sums?: SumsState;
  /** Refuse a file a plan reads (kernel, initrd, UKI) that no pin or signed sums vouch for. */
  readonly requireVerified?: boolean;
  /**
   * Streams a file a plan reads into a sealed memfd (fetch.ts downloadToMemfd), which kexec then
   * loads as it is (docs/net-transfer.md §10). Absent: plan files are fetched into memory too.
   */
  readonly download?: (url: string, opts: FetchOptions) => Promise<MemfdDownload>;
}

/** A file held as a sealed, read-only memfd. */
interface Sealed {
  readonly fd: number;
  readonly size: number;
  readonly sha256: string;
}

function handleOverFd(s: Sealed, path: string): FileHandle {
  return {
    size: s.size,
    read: async (position, length) => {
      if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0)
        throw new FsError('EINVAL', path, `bad read ${position}+${length}`);
      const want = Math.max(0, Math.min(length, s.size - position));
      const buf = Buffer.allocUnsafe(want);
      let done = 0;
      while (done < want) {
        const n = fs.readSync(s.fd, buf, done, want - done, position + done);
        if (n === 0) throw new FsError('EIO', path, `short read at ${position + done} of a sealed memfd`);
        done += n;
      }
      return buf;
    },
    close: async () => {},
  };
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
  /** Plan files downloaded into sealed memfds, by URL (a failure is not kept). */
  private readonly sealed = new Map<string, Promise<Sealed>>();
  /** The settled ones, for sealedFile() (kexec/load.ts asks synchronously). */
  private readonly sealedDone = new Map<string, Sealed>();

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
    let o: FetchOptions;
    try {
      o = this.fetchOptions(url, maxBytes);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const p = this.fetch(url, o).then((f) => {
      if (f.bytes.length > maxBytes) throw new NetError(url, `${f.bytes.length} bytes > limit ${maxBytes}`, true);
      return f;
    });
    this.cache.set(url, p);
    p.catch(() => this.cache.delete(url));
    return p;
  }

  /** The options of one download: size limit, the pin that vouches for it, its proxy. */
  private fetchOptions(url: string, maxBytes: number): FetchOptions {
    const sha256 = this.verifier(url)?.sha256;
    const proxy = this.proxies.get(url);
    return {
      maxBytes,
      ...(sha256 !== undefined ? { sha256 } : {}),
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      ...(this.opts.onProgress ? { onProgress: this.opts.onProgress } : {}),
      ...(proxy !== undefined ? { proxy } : {}),
    };
  }

  /** Download a plan file into a sealed memfd once (later calls share it). Rejects with NetError. */
  private downloadSealed(
    url: string,
    download: NonNullable<NetFsOptions['download']>,
    maxBytes = this.opts.maxBytes,
  ): Promise<Sealed> {
    const hit = this.sealed.get(url);
    if (hit) return hit;
    let o: FetchOptions;
    try {
      o = this.fetchOptions(url, maxBytes);
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
    const p = download(url, o).then((d) => {
      const s = { fd: d.fd, size: d.size, sha256: d.sha256 };
      this.sealedDone.set(url, s);
      return s;
    });
    this.sealed.set(url, p);
    p.catch(() => this.sealed.delete(url));
    return p;
  }

  /**
   * Download `url` as a file a plan reads (a sealed memfd when there is a downloader), at most
   * `maxBytes`, under the same pins and net.require-verified as the others: an `rd.systemd.pull=`
   * image for the extra initrd (docs/net-bootfiles.md §8.3). Rejects with NetError or FsError.
   */
  async prefetch(url: string, maxBytes: number): Promise<{ readonly size: number; readonly sha256: string }> {
    this.checkVerified(url, urlToPath(url));
    const dl = this.opts.download;
    if (dl) return this.downloadSealed(url, dl, maxBytes);
    const f = await this.fetchUrl(url, maxBytes);
    return { size: f.bytes.length, sha256: f.sha256 };
  }

  /**
   * The sealed memfd holding the file at `path`, when it was downloaded into one: kexec/load.ts
   * passes it to kexec_file_load as it is instead of copying it (docs/net-transfer.md §10).
   */
  sealedFile(path: string): { readonly fd: number; readonly size: number } | undefined {
    try {
      return this.sealedDone.get(pathToUrl(normalizePath(path)));
    } catch {
      return undefined;
    }
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

  /** What a plan reads: bytes already in memory (the boot file, a config), else a sealed memfd when there is a downloader. */
  private async file(path: string): Promise<Uint8Array | Sealed> {
    const p = normalizePath(path);
    const url = pathToUrl(p);
    const dl = this.opts.download;
    if (!dl || this.cache.has(url)) return this.get(p);
    try {
      this.checkVerified(url, p);
      return await this.downloadSealed(url, dl);
    } catch (e) {
      throw this.asFsError(e, url, p);
    }
  }

  private checkVerified(url: string, p: string): void {
    if (this.opts.requireVerified && this.verifier(url) === undefined)
      throw new FsError(
        'EACCES',
        p,
        `${url}: not verified: no sha256 pin vouches for it and no signed SHA256SUMS lists it (net.require-verified)`,
      );
  }

  private asFsError(e: unknown, url: string, p: string): FsError {
    if (e instanceof FsError) return e;
    const msg = e instanceof Error ? e.message : String(e);
    const notFound = e instanceof NetError && e.notFound;
    // A NetError already names its URL.
    return new FsError(notFound ? 'ENOENT' : 'EIO', p, msg.startsWith(url) ? msg : `${url}: ${msg}`);
  }

  private async get(path: string): Promise<Uint8Array> {
    const p = normalizePath(path);
    const url = pathToUrl(p);
    try {
      this.checkVerified(url, p);
      return (await this.fetchUrl(url)).bytes;
    } catch (e) {
      throw this.asFsError(e, url, p);
    }
  }

  /** Fetches the file: over tftp and http that is the only honest way to know it is there. */
  async stat(path: string): Promise<FileStat> {
    const p = normalizePath(path);
    if (!/^\/[^/]+\/[^/]+\/./.test(p)) return { kind: 'dir', size: 0 };
    const f = await this.file(p);
    return { kind: 'file', size: f instanceof Uint8Array ? f.length : f.size };
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
    const f = await this.file(p);
    return f instanceof Uint8Array ? handleOver(f) : handleOverFd(f, p);
  }

  async close(): Promise<void> {
    this.cache.clear();
    const all = [...this.sealed.values()];
    this.sealed.clear();
    this.sealedDone.clear();
    for (const s of await Promise.allSettled(all)) if (s.status === 'fulfilled') fs.closeSync(s.value.fd);
  }
}
