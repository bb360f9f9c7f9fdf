// HTTP(S) GET of one file into a Sink: at most 5 redirects and never from https to http,
// bounded retries with jittered backoff (never after a 4xx or a certificate error), and resume
// of a dropped body with Range + If-Range (RFC 9110 §14.2, §13.1.5), accepting only a 206 whose
// Content-Range starts where we stopped; anything else starts again from byte 0.
// See docs/net-transfer.md §2–§4.

import * as http from 'node:http';
import type * as net from 'node:net';
import type { Sink } from '../sink';
import { sleep } from '../sleep';
import { NetError } from '../types';
import { BulkReads } from './bulk';
import { hostOf, portOf, proxyTunnel, tcpConnect, tlsHandshake } from './connect';
import { type ProxyOptions, proxyFor } from './proxy';
import { type CaSetting, loadTrust, type Trust } from './trust';

export interface HttpOptions extends ProxyOptions {
  /** PEM bundle file or `system` (default: /etc/tendril/netboot-ca.pem when it exists). */
  readonly ca?: CaSetting;
  readonly maxRedirects?: number;
  /** Further attempts after a failure that retrying can cure. */
  readonly retries?: number;
  /** Base of the exponential backoff between attempts. */
  readonly backoffMs?: number;
  /** TCP connect, proxy CONNECT and TLS handshake, each. */
  readonly connectTimeoutMs?: number;
  /** Longest silence while waiting for the response or the body. */
  readonly idleTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Redirects, resumes and retries as they happen, for `tendril fetch --verbose` and the log. */
  readonly onInfo?: (message: string) => void;
}

export const HTTP_DEFAULTS = {
  maxRedirects: 5,
  retries: 4,
  backoffMs: 500,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
} as const;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** What identifies the representation for If-Range: a strong ETag, else Last-Modified. */
function validatorOf(res: http.IncomingMessage): string | undefined {
  const etag = res.headers.etag;
  if (etag !== undefined && !etag.startsWith('W/')) return etag;
  return res.headers['last-modified'];
}

/** A body read past the parser (bulk.ts): a 200 or 206 with a Content-Length and no Transfer-Encoding. */
function plainBody(res: http.IncomingMessage): boolean {
  const status = res.statusCode;
  return (
    (status === 200 || status === 206) &&
    res.headers['transfer-encoding'] === undefined &&
    /^\d{1,15}$/.test(res.headers['content-length'] ?? '')
  );
}

interface Response {
  readonly res: http.IncomingMessage;
  readonly sock: net.Socket;
  /** Set when the body's reads go past the parser (plain http). */
  readonly bulk: BulkReads | undefined;
}

/** Sends GET and resolves with the response head (the body is left to the caller). */
async function get(
  u: URL,
  headers: Record<string, string>,
  o: Required<Pick<HttpOptions, 'connectTimeoutMs' | 'idleTimeoutMs'>> & HttpOptions,
  trust: () => Trust,
): Promise<Response> {
  const subject = u.href;
  const host = hostOf(u);
  const port = portOf(u);
  const co = { connectTimeoutMs: o.connectTimeoutMs, ...(o.signal ? { signal: o.signal } : {}) };
  let proxy: URL | undefined;
  try {
    proxy = proxyFor(u, o);
  } catch (e) {
    throw new NetError(subject, (e as Error).message, true);
  }
  // TLS reads the TCP socket itself: only plain http takes the bulk reads.
  const bulk = u.protocol === 'http:' ? new BulkReads() : undefined;
  let sock: net.Socket = proxy
    ? await tcpConnect(subject, hostOf(proxy), portOf(proxy), co, bulk?.onread)
    : await tcpConnect(subject, host, port, co, bulk?.onread);
  bulk?.attach(sock);
  const target = `${net6(host)}:${port}`;
  if (u.protocol === 'https:') {
    if (proxy) sock = await proxyTunnel(subject, sock, proxy.host, target, co);
    sock = await tlsHandshake(subject, sock, host, trust(), co);
  }
  const s = sock;
  // Through a proxy, plain http asks for the absolute URI (RFC 9112 §3.2.2).
  const path = proxy && u.protocol === 'http:' ? u.href : `${u.pathname}${u.search}`;
  return new Promise((resolve, reject) => {
    const req = http.request({
      createConnection: () => s,
      host,
      port,
      path,
      method: 'GET',
      headers: { ...headers, Connection: 'close', 'User-Agent': 'tendril', 'Accept-Encoding': 'identity' },
    });
    s.setTimeout(o.idleTimeoutMs, () =>
      s.destroy(new NetError(subject, `no data from ${host} for ${o.idleTimeoutMs} ms`)),
    );
    const onAbort = (): void => {
      s.destroy(new NetError(subject, 'aborted', true));
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    s.once('close', () => o.signal?.removeEventListener('abort', onAbort));
    req.once('response', (res) => {
      // Now, while the parser is in the read that ended the head: the next read is the body's.
      if (bulk && plainBody(res)) bulk.takeBody();
      resolve({ res, sock: s, bulk: bulk?.bodyTaken ? bulk : undefined });
    });
    req.once('error', (e: NodeJS.ErrnoException) =>
      reject(e instanceof NetError ? e : new NetError(subject, `request to ${host}: ${e.code ?? e.message}`)),
    );
    req.end();
  });
}

function net6(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Streams the body into the sink; rejects when it ends short of Content-Length. */
async function receive(u: URL, r: Response, sink: Sink, end: number | undefined): Promise<void> {
  const { res } = r;
  if (r.bulk && end !== undefined) return receiveBulk(u, r, r.bulk, sink, end);
  try {
    for await (const chunk of res) sink.write(chunk as Buffer);
  } catch (e) {
    if (e instanceof NetError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new NetError(u.href, `connection lost after ${sink.size} bytes: ${err.code ?? err.message}`);
  }
  if (end !== undefined && sink.size !== end)
    throw new NetError(u.href, `connection closed after ${sink.size} of ${end} bytes`);
}

/**
 * The body past the parser: first what the parser already put in the response (the bytes after
 * the head in its read), then the socket's reads as they come, up to `end` bytes in the sink.
 */
function receiveBulk(u: URL, r: Response, bulk: BulkReads, sink: Sink, end: number): Promise<void> {
  const { res, sock } = r;
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (e?: Error): void => {
      if (settled) return;
      settled = true;
      sock.off('close', onClose);
      sock.off('error', onError);
      if (e) reject(e);
      else resolve();
    };
    const put = (chunk: Buffer): boolean => {
      if (settled) return false;
      try {
        const want = end - sink.size;
        sink.write(chunk.length > want ? chunk.subarray(0, want) : chunk);
        if (sink.size < end) return true;
        settle();
      } catch (e) {
        settle(e as Error);
        sock.destroy();
      }
      return false;
    };
    const onError = (e: NodeJS.ErrnoException): void =>
      settle(
        e instanceof NetError
          ? e
          : new NetError(u.href, `connection lost after ${sink.size} bytes: ${e.code ?? e.message}`),
      );
    const onClose = (): void => settle(new NetError(u.href, `connection closed after ${sink.size} of ${end} bytes`));
    sock.once('error', onError);
    sock.once('close', onClose);
    // The client calls the body aborted when the socket closes (its parser never saw the rest):
    // this function counts the bytes itself.
    res.on('error', () => undefined);
    for (let c: Buffer | null; (c = res.read() as Buffer | null) !== null;) if (!put(c)) return;
    if (sink.size >= end) return settle();
    // Late parser output (reads the socket's stream still held) comes before the next read.
    res.on('data', put);
    bulk.consume(put);
  });
}

/** GETs `url` into `sink`; resolves with the URL the bytes came from (after redirects). */
export async function httpGet(url: URL, sink: Sink, opts: HttpOptions = {}): Promise<string> {
  const o = { ...HTTP_DEFAULTS, ...opts };
  let trustCache: Trust | undefined;
  const trust = (): Trust => {
    try {
      return (trustCache ??= loadTrust(o.ca));
    } catch (e) {
      throw new NetError(url.href, (e as Error).message, true);
    }
  };
  let current = url;
  let redirects = 0;
  let failures = 0;
  let validator: string | undefined; // of the representation the sink holds a prefix of
  let total: number | undefined;
  for (;;) {
    if (o.signal?.aborted) throw new NetError(current.href, 'aborted', true);
    // Resume only with a validator: without If-Range the server could splice a newer file on.
    const resumeAt = sink.size > 0 && validator !== undefined ? sink.size : 0;
    if (resumeAt === 0 && sink.size > 0) sink.reset();
    const headers: Record<string, string> =
      resumeAt > 0 ? { Range: `bytes=${resumeAt}-`, 'If-Range': validator ?? '' } : {};
    try {
      const r = await get(current, headers, o, trust);
      const { res, sock } = r;
      try {
        const status = res.statusCode ?? 0;
        if (REDIRECTS.has(status)) {
          const loc = res.headers.location;
          if (loc === undefined) throw new NetError(current.href, `HTTP ${status} redirect without a Location`, true);
          let next: URL;
          try {
            next = new URL(loc, current);
          } catch {
            throw new NetError(
              current.href,
              `HTTP ${status} redirect to a bad URL ${JSON.stringify(loc.slice(0, 200))}`,
              true,
            );
          }
          if (current.protocol === 'https:' && next.protocol !== 'https:')
            throw new NetError(
              current.href,
              `redirect to ${next.href} refused: https must not be downgraded to ${next.protocol.slice(0, -1)}`,
              true,
            );
          if (next.protocol !== 'http:' && next.protocol !== 'https:')
            throw new NetError(
              current.href,
              `redirect to ${next.href} refused: only http and https are followed`,
              true,
            );
          if (++redirects > o.maxRedirects)
            throw new NetError(url.href, `more than ${o.maxRedirects} redirects (the last to ${next.href})`, true);
          o.onInfo?.(`${current.href}: HTTP ${status} redirect to ${next.href}`);
          current = next;
          sink.reset();
          validator = undefined;
          total = undefined;
          continue;
        }
        if (status === 206 && resumeAt > 0) {
          const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers['content-range'] ?? '');
          const [start, last, size] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [NaN, NaN, NaN];
          if (start !== resumeAt || last !== size - 1 || (total !== undefined && size !== total)) {
            // Not the rest of what we have: start over rather than splice two different files.
            validator = undefined;
            throw new NetError(
              current.href,
              `resume refused: Content-Range ${JSON.stringify(res.headers['content-range'] ?? '')} does not continue at byte ${resumeAt}`,
            );
          }
          o.onInfo?.(
            `${current.href}: resumed at byte ${resumeAt} (HTTP 206, Content-Range ${res.headers['content-range']})`,
          );
          await receive(current, r, sink, size);
          return current.href;
        }
        if (status === 200) {
          if (sink.size > 0) {
            o.onInfo?.(`${current.href}: HTTP 200 to a resume request: starting again from byte 0`);
            sink.reset(); // the server ignored Range or If-Range did not match
          }
          const len = res.headers['content-length'];
          total = len !== undefined && /^\d{1,15}$/.test(len) ? Number(len) : undefined;
          sink.expect(total);
          validator = validatorOf(res);
          await receive(current, r, sink, total);
          return current.href;
        }
        const why = `HTTP ${status} ${res.statusMessage ?? ''}`.trim();
        throw new NetError(current.href, why, status >= 400 && status < 500, status === 404 || status === 410);
      } finally {
        res.resume();
        sock.destroy();
      }
    } catch (e) {
      const err = e instanceof NetError ? e : new NetError(current.href, (e as Error).message);
      if (err.permanent) throw err;
      if (++failures > o.retries)
        throw new NetError(
          err.subject,
          `${err.reason} (gave up after ${failures} attempt${failures === 1 ? '' : 's'})`,
        );
      o.onInfo?.(
        `${err.message}; attempt ${failures + 1} of ${o.retries + 1}${sink.size > 0 && validator ? `, resuming at byte ${sink.size}` : ''}`,
      );
      // Full jitter between 0.5 and 1.5 times the exponential step keeps many clients apart.
      await sleep(o.backoffMs * 2 ** (failures - 1) * (0.5 + Math.random()), o.signal);
    }
  }
}
