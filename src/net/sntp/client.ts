// An SNTPv4 client over dgram (RFC 4330 §5, RFC 5905 §8), udp4 and udp6: one request per server
// (re-sent once at half the deadline), replies validated before any arithmetic, every server
// asked in parallel and the lowest-delay answer taken. docs/net-dhcp.md §12.

import * as dgram from 'node:dgram';
import * as dns from 'node:dns/promises';
import * as net from 'node:net';
import { NetError } from '../types';
import {
  MODE,
  NtpParseError,
  decodeNtp,
  encodeNtp,
  isZeroTime,
  kissCode,
  msFromNtp,
  ntpFromMs,
  offsetAndDelay,
  sameTime,
  type NtpPacket,
  type NtpTime,
} from './packet';

export const NTP_PORT = 123;
/** More servers than this are not asked (a config typo must not become a flood). */
export const MAX_SERVERS = 8;
/** RFC 5905 §7.2 MAXDIST is 1.5 s; a server this far from its reference is not worth trusting. */
const MAX_ROOT_DISTANCE_S = 16;

export type SntpFailure = 'resolve' | 'socket' | 'refused' | 'timeout' | 'kiss-o-death' | 'unsynchronised' | 'bogus';

/** Why one server gave no usable time; the message names the server. */
export class SntpError extends NetError {
  constructor(
    server: string,
    readonly failure: SntpFailure,
    reason: string,
  ) {
    super(`NTP server ${server}`, reason, failure === 'kiss-o-death' || failure === 'resolve');
    this.name = 'SntpError';
  }
}

export interface SntpSample {
  /** The server as configured (name or address). */
  readonly server: string;
  readonly address: string;
  readonly stratum: number;
  readonly version: number;
  /** Milliseconds to add to the local clock. */
  readonly offsetMs: number;
  /** Round-trip milliseconds, the server's own processing time excluded. */
  readonly delayMs: number;
}

export interface SntpOptions {
  /** The whole exchange with one server, name resolution included. */
  readonly timeoutMs: number;
  readonly port?: number;
  readonly signal?: AbortSignal;
  /** The local clock in Unix ms (tests); Date.now by default. */
  readonly now?: () => number;
}

/** Checks a reply against the request it answers (RFC 4330 §5 "sanity checks"); a reason, or undefined. */
export function replyProblem(p: NtpPacket, sent: NtpTime): { failure: SntpFailure; reason: string } | undefined {
  if (p.mode !== MODE.SERVER) return { failure: 'bogus', reason: `reply has mode ${p.mode}, not 4 (server)` };
  if (p.version < 3 || p.version > 4) return { failure: 'bogus', reason: `reply has NTP version ${p.version}` };
  if (p.stratum === 0) {
    const code = kissCode(p.refId);
    return { failure: 'kiss-o-death', reason: `kiss-o'-death ${code}${KISS_MEANING[code] ?? ''}` };
  }
  if (p.stratum > 15) return { failure: 'unsynchronised', reason: `server is unsynchronised (stratum ${p.stratum})` };
  if (p.leap === 3) return { failure: 'unsynchronised', reason: 'server is unsynchronised (leap indicator 3)' };
  if (!sameTime(p.originate, sent))
    return { failure: 'bogus', reason: 'originate timestamp does not match the request (stale or forged reply)' };
  if (isZeroTime(p.transmit)) return { failure: 'bogus', reason: 'transmit timestamp is zero' };
  if (isZeroTime(p.receive)) return { failure: 'bogus', reason: 'receive timestamp is zero' };
  const distance = Math.abs(p.rootDelay) / 2 + p.rootDispersion;
  if (distance > MAX_ROOT_DISTANCE_S)
    return {
      failure: 'unsynchronised',
      reason: `root distance ${distance.toFixed(1)} s exceeds ${MAX_ROOT_DISTANCE_S} s`,
    };
  return undefined;
}

const KISS_MEANING: Readonly<Record<string, string>> = {
  DENY: ' (access denied)',
  RSTR: ' (access restricted)',
  RATE: ' (rate exceeded)',
};

/** Asks one server once (a second request at half the deadline if the first is lost). */
export async function querySntp(server: string, o: SntpOptions): Promise<SntpSample> {
  const now = o.now ?? Date.now;
  const deadline = now() + o.timeoutMs;
  const fail = (f: SntpFailure, reason: string): SntpError => new SntpError(server, f, reason);
  const host = server.startsWith('[') && server.endsWith(']') ? server.slice(1, -1) : server;
  let address = host;
  if (net.isIP(host) === 0) {
    try {
      address = (await withDeadline(dns.lookup(host), o.timeoutMs, o.signal)).address;
    } catch (e) {
      throw fail('resolve', `cannot resolve the name: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const remaining = Math.max(1, deadline - now());
  const sock = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4');
  const sent = new Map<string, { t: NtpTime; ms: number }>();
  let ignored = 0;
  try {
    return await new Promise<SntpSample>((resolve, reject) => {
      const timers: NodeJS.Timeout[] = [];
      const done = (e: SntpError | undefined, s?: SntpSample): void => {
        timers.forEach(clearTimeout);
        o.signal?.removeEventListener('abort', onAbort);
        if (e) reject(e);
        else resolve(s!);
      };
      const onAbort = (): void => done(fail('timeout', 'aborted'));
      o.signal?.addEventListener('abort', onAbort);
      const send = (): void => {
        const ms = now();
        // RFC 5905 §9.1 lets the client send any nonce here; the local clock's seconds with a
        // random fraction keeps the request honest and makes an off-path forgery a 2^-32 guess.
        const t = { sec: ntpFromMs(ms).sec, frac: (Math.random() * 2 ** 32) >>> 0 };
        sent.set(`${t.sec}.${t.frac}`, { t, ms });
        sock.send(encodeNtp({ mode: MODE.CLIENT, version: 4, transmit: t }), (err) => {
          if (err) done(fail('socket', `send: ${err.message}`));
        });
      };
      sock.on('error', (err: NodeJS.ErrnoException) =>
        done(
          err.code === 'ECONNREFUSED'
            ? fail('refused', `nothing answers on udp/${o.port ?? NTP_PORT} (ICMP port unreachable)`)
            : fail('socket', `${err.code ?? 'error'}: ${err.message}`),
        ),
      );
      sock.on('message', (msg) => {
        const t4 = now();
        let p: NtpPacket;
        try {
          p = decodeNtp(msg);
        } catch (e) {
          if (!(e instanceof NtpParseError)) throw e;
          ignored++;
          return;
        }
        const req = sent.get(`${p.originate.sec}.${p.originate.frac}`);
        // An answer to no request of ours is dropped, not believed: it may be forged or stale.
        if (!req) {
          ignored++;
          return;
        }
        const bad = replyProblem(p, req.t);
        if (bad) return done(fail(bad.failure, bad.reason));
        const { offsetMs, delayMs } = offsetAndDelay(req.ms, msFromNtp(p.receive), msFromNtp(p.transmit), t4);
        // Date.now has millisecond steps, so a fast LAN may show a hair below zero.
        if (delayMs < -1)
          return done(fail('bogus', `negative round-trip delay ${delayMs.toFixed(1)} ms (timestamps inconsistent)`));
        done(undefined, {
          server,
          address,
          stratum: p.stratum,
          version: p.version,
          offsetMs,
          delayMs: Math.max(0, delayMs),
        });
      });
      const expire = (): void =>
        done(
          fail(
            'timeout',
            `no reply within ${o.timeoutMs} ms${ignored ? ` (${ignored} unusable datagram${ignored === 1 ? '' : 's'} ignored)` : ''}`,
          ),
        );
      sock.connect(o.port ?? NTP_PORT, address, () => {
        send();
        timers.push(setTimeout(send, remaining / 2));
      });
      timers.push(setTimeout(expire, remaining));
    });
  } finally {
    sock.close();
  }
}

export interface SntpRound {
  /** The usable answer with the lowest delay, if any. */
  readonly best?: SntpSample;
  readonly samples: readonly SntpSample[];
  readonly errors: readonly SntpError[];
}

/** Asks up to MAX_SERVERS servers in parallel, each with its own deadline; never rejects. */
export async function sntpRound(servers: readonly string[], o: SntpOptions): Promise<SntpRound> {
  const list = [...new Set(servers)].slice(0, MAX_SERVERS);
  const results = await Promise.allSettled(list.map((s) => querySntp(s, o)));
  const samples: SntpSample[] = [];
  const errors: SntpError[] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') samples.push(r.value);
    else
      errors.push(
        r.reason instanceof SntpError ? r.reason : new SntpError(list[i]!, 'socket', String(r.reason as unknown)),
      );
  });
  const best = [...samples].sort((a, b) => a.delayMs - b.delayMs)[0];
  return { ...(best ? { best } : {}), samples, errors };
}

function withDeadline<T>(p: Promise<T>, ms: number, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}
