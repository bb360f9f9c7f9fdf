// One connection for one request: TCP (directly or to the proxy), the proxy's CONNECT tunnel
// for https, then TLS with the configured CA. Doing these steps ourselves (rather than through an
// http.Agent) gives each phase its own deadline and each failure its own message.
// See docs/net-transfer.md §2–§3.

import * as net from 'node:net';
import * as tls from 'node:tls';
import { NetError } from '../types';
import { describeCertError, type Trust } from './trust';

/** A response header block larger than this from a proxy is refused. */
const MAX_PROXY_HEADER = 16 << 10;

export interface ConnectOptions {
  readonly connectTimeoutMs: number;
  readonly signal?: AbortSignal;
}

export function hostOf(u: URL): string {
  return u.hostname.replace(/^\[(.*)\]$/, '$1');
}

export function portOf(u: URL): number {
  return u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

/** Runs `step` on a socket under the connect deadline; the socket is destroyed on failure. */
function phase<T>(
  sock: net.Socket,
  subject: string,
  what: string,
  o: ConnectOptions,
  step: (ok: (v: T) => void, fail: (e: Error) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (e: Error | undefined, v?: T): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      sock.off('error', onError);
      if (e) {
        sock.destroy();
        reject(e);
      } else resolve(v as T);
    };
    const onError = (e: Error): void => finish(e instanceof NetError ? e : toNetError(e, subject, what));
    const onAbort = (): void => finish(new NetError(subject, `aborted during ${what}`, true));
    const timer = setTimeout(
      () => finish(new NetError(subject, `${what} took longer than ${o.connectTimeoutMs} ms`)),
      o.connectTimeoutMs,
    );
    if (o.signal?.aborted) return onAbort();
    o.signal?.addEventListener('abort', onAbort);
    // The step's own error handlers run first: they turn e.g. a certificate error into a sentence.
    step(
      (v) => finish(undefined, v),
      (e) => finish(e),
    );
    sock.on('error', onError);
  });
}

function toNetError(e: Error, subject: string, what: string): NetError {
  const code = (e as NodeJS.ErrnoException).code;
  return new NetError(subject, `${what}: ${code ?? e.message}`);
}

/** TCP to host:port; `onread` makes every read land in the caller's buffer (net.connect's option). */
export function tcpConnect(
  subject: string,
  host: string,
  port: number,
  o: ConnectOptions,
  onread?: net.OnReadOpts,
): Promise<net.Socket> {
  const sock = net.connect({ host, port, ...(onread ? { onread } : {}) });
  return phase(sock, subject, `connect to ${host}:${port}`, o, (ok) => sock.once('connect', () => ok(sock)));
}

/** CONNECT host:port through an already connected proxy socket (RFC 9110 §9.3.6). */
export function proxyTunnel(
  subject: string,
  sock: net.Socket,
  proxy: string,
  target: string,
  o: ConnectOptions,
): Promise<net.Socket> {
  return phase(sock, subject, `CONNECT ${target} through proxy ${proxy}`, o, (ok, fail) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > MAX_PROXY_HEADER)
          fail(new NetError(subject, `proxy ${proxy} sent a header over ${MAX_PROXY_HEADER} bytes`));
        return;
      }
      sock.off('data', onData);
      sock.off('end', onEnd);
      const status = buf.subarray(0, buf.indexOf('\r\n')).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(status);
      if (!m || m[1] !== '200')
        return fail(
          new NetError(subject, `proxy ${proxy} refused CONNECT ${target}: ${JSON.stringify(status.slice(0, 100))}`),
        );
      const rest = buf.subarray(end + 4);
      if (rest.length > 0) sock.unshift(rest);
      sock.pause();
      ok(sock);
    };
    const onEnd = (): void =>
      fail(new NetError(subject, `proxy ${proxy} closed the connection during CONNECT ${target}`));
    sock.on('data', onData);
    sock.once('end', onEnd);
    sock.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

/** TLS over `sock`, verified against `trust`; a refused certificate is a permanent NetError. */
export function tlsHandshake(
  subject: string,
  sock: net.Socket,
  host: string,
  trust: Trust,
  o: ConnectOptions,
): Promise<tls.TLSSocket> {
  const t = tls.connect({
    socket: sock,
    host,
    ...(net.isIP(host) === 0 ? { servername: host } : {}),
    ca: [...trust.ca],
    ALPNProtocols: ['http/1.1'],
  });
  return phase(t, subject, `TLS handshake with ${host}`, o, (ok, fail) => {
    t.once('secureConnect', () => ok(t));
    t.once('error', (e: NodeJS.ErrnoException) => {
      const cert = describeCertError(e, host, trust);
      if (cert !== undefined) fail(new NetError(subject, cert, true));
    });
  });
}
