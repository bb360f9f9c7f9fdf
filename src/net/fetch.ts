// Fetch one boot file by URL: tftp, http or https, into memory or into a sealed memfd, hashed
// while it arrives, size-limited and checked against a sha256 pin. Free memory is checked
// against the announced size before the first byte. See docs/net-transfer.md §4.

import * as fs from 'node:fs';
import { addSeals, F_SEAL, MFD_ALLOW_SEALING, MFD_CLOEXEC, memfdCreate } from '../native/sys';
import { httpGet, type HttpOptions } from './http/client';
import { FdSink, MemorySink, type Sink, type SinkOptions } from './sink';
import { tftpGet, type TftpOptions } from './tftp/client';
import { type Fetch, type Fetched, type FetchOptions, NetError } from './types';

export interface FetchConfig {
  readonly http?: Omit<HttpOptions, 'signal' | 'onInfo'>;
  readonly tftp?: Omit<TftpOptions, 'signal' | 'onInfo'>;
  /** Memory to leave free after a download (default 64 MiB); 0 skips the MemAvailable check. */
  readonly memReserveBytes?: number;
  /** Where MemAvailable is read (tests and non-Linux hosts). */
  readonly meminfoPath?: string;
  /** Negotiation, redirects, resumes and retries as they happen. */
  readonly onInfo?: (message: string) => void;
}

const DEFAULT_RESERVE = 64 << 20;
const SHA256 = /^[0-9a-f]{64}$/;

/** MemAvailable from /proc/meminfo in bytes, or undefined when the kernel does not say. */
export function memAvailable(path = '/proc/meminfo'): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
  const m = /^MemAvailable:\s+(\d{1,15}) kB$/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/** MemAvailable less the reserve (what a download may take), or undefined when unknown or unchecked. */
export function usableMemory(cfg: FetchConfig): number | undefined {
  const reserve = cfg.memReserveBytes ?? DEFAULT_RESERVE;
  const avail = reserve === 0 ? undefined : memAvailable(cfg.meminfoPath);
  return avail === undefined ? undefined : avail - reserve;
}

/** Refuses a download of `total` bytes that would leave less than the reserve free. */
export function checkMemory(url: string, total: number, cfg: FetchConfig): void {
  const reserve = cfg.memReserveBytes ?? DEFAULT_RESERVE;
  if (reserve === 0) return;
  const avail = memAvailable(cfg.meminfoPath);
  if (avail !== undefined && total + reserve > avail)
    throw new NetError(
      url,
      `${total} bytes do not fit in memory: MemAvailable is ${avail} bytes and ${reserve} must stay free`,
      true,
    );
}

function parseUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new NetError(raw, 'not a URL', true);
  }
  if (u.protocol !== 'tftp:' && u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new NetError(raw, `scheme ${u.protocol.slice(0, -1)} is not supported (only tftp, http and https)`, true);
  if (u.username !== '' || u.password !== '') throw new NetError(raw, 'credentials in URLs are not supported', true);
  return u;
}

function checkPin(opts: FetchOptions, url: string): string | undefined {
  if (opts.sha256 === undefined) return undefined;
  const pin = opts.sha256.toLowerCase();
  if (!SHA256.test(pin))
    throw new NetError(url, `sha256 pin ${JSON.stringify(opts.sha256)} is not 64 hex digits`, true);
  return pin;
}

/** Runs the transfer for `u` into `sink`; resolves with the final URL. */
async function transfer(u: URL, sink: Sink, opts: FetchOptions, cfg: FetchConfig): Promise<string> {
  const signal = { ...(opts.signal ? { signal: opts.signal } : {}), ...(cfg.onInfo ? { onInfo: cfg.onInfo } : {}) };
  if (u.protocol === 'tftp:') {
    await tftpGet(u, sink, { ...cfg.tftp, ...signal });
    return u.href;
  }
  return httpGet(u, sink, { ...cfg.http, ...(opts.proxy !== undefined ? { proxy: opts.proxy } : {}), ...signal });
}

function sinkOptions(url: string, opts: FetchOptions, cfg: FetchConfig): SinkOptions {
  return {
    url,
    maxBytes: opts.maxBytes,
    onExpect: (total) => checkMemory(url, total, cfg),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  };
}

function verify(url: string, pin: string | undefined, actual: string): void {
  if (pin !== undefined && pin !== actual)
    throw new NetError(url, `sha256 mismatch: expected ${pin}, got ${actual}`, true);
}

/** The Fetch other modules use: one whole file into memory. */
export function createFetch(cfg: FetchConfig = {}): Fetch {
  return async (raw: string, opts: FetchOptions): Promise<Fetched> => {
    const u = parseUrl(raw);
    const pin = checkPin(opts, u.href);
    const sink = new MemorySink(sinkOptions(u.href, opts, cfg));
    const url = await transfer(u, sink, opts, cfg);
    const sha256 = sink.digest();
    verify(url, pin, sha256);
    return { url, bytes: sink.bytes(), sha256 };
  };
}

export interface MemfdDownload {
  readonly url: string;
  /**
   * A read-only fd of a memfd sealed against writes, growth and shrinking (no writable fd is
   * left open, so kexec_file_load may read it: docs/kexec.md §1.2); the caller closes it.
   */
  readonly fd: number;
  readonly size: number;
  readonly sha256: string;
}

/**
 * Streams `url` into a new memfd (named after the file) while hashing, then seals it so the bytes
 * that were verified are the bytes kexec reads, and swaps the writable fd for a read-only one.
 * With F_SEAL_WRITE | GROW | SHRINK | SEAL set, memfd_create(2) and fcntl(2) ("File Seals")
 * guarantee the content can no longer change by any fd or mapping, so a hash of it taken now or
 * later is a hash of what kexec_file_load reads (docs/net-transfer.md §10). The fd is closed on
 * failure.
 */
export async function downloadToMemfd(raw: string, opts: FetchOptions, cfg: FetchConfig = {}): Promise<MemfdDownload> {
  const u = parseUrl(raw);
  const pin = checkPin(opts, u.href);
  const name = `tendril-net-${u.pathname.split('/').pop() || 'file'}`.slice(0, 240);
  const fd = memfdCreate(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  const sink = new FdSink(sinkOptions(u.href, opts, cfg), fd);
  try {
    const url = await transfer(u, sink, opts, cfg);
    const sha256 = await sink.finish();
    verify(url, pin, sha256);
    addSeals(fd, F_SEAL.WRITE | F_SEAL.GROW | F_SEAL.SHRINK | F_SEAL.SEAL);
    // libuv opens with O_CLOEXEC.
    const ro = fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_RDONLY);
    return { url, fd: ro, size: sink.size, sha256 };
  } finally {
    fs.closeSync(fd);
    sink.close(); // its hashing worker, if any
  }
}
