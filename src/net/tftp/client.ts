// A TFTP read client over node:dgram: RFC 1350 with option negotiation (RFC 2347), blksize
// (2348), tsize (2349) and windowsize (7440). The server answers from a new port (its transfer
// ID); anything from another port gets ERROR 5 and is ignored. Lost packets are recovered by
// re-sending our last packet with a doubling timeout, a bounded number of times; a server that
// refuses options gets a plain RRQ. See docs/net-transfer.md §1.

import * as dgram from 'node:dgram';
import * as dns from 'node:dns/promises';
import * as net from 'node:net';
import type { Sink } from '../sink';
import { NetError } from '../types';
import {
  decode,
  describeError,
  encodeAck,
  encodeError,
  encodeRrq,
  MAX_BLKSIZE,
  MAX_WINDOWSIZE,
  MIN_BLKSIZE,
  type Options,
  type ServerPacket,
  TftpDecodeError,
} from './packet';

export interface TftpOptions {
  /** RFC 2348 block size to ask for; 1468 fills a 1500-byte Ethernet frame. */
  readonly blksize?: number;
  /** RFC 7440 window to ask for; 1 is lock-step RFC 1350. */
  readonly windowsize?: number;
  /** Retransmission timeout until a round trip has been measured; then it adapts (RFC 6298
   *  style, at least minTimeoutMs) and doubles on every retry of the same packet up to 8 s. */
  readonly timeoutMs?: number;
  readonly minTimeoutMs?: number;
  /** Retransmissions of one packet before giving up. */
  readonly retries?: number;
  /** Skip option negotiation altogether (also what the fallback does). */
  readonly noOptions?: boolean;
  readonly signal?: AbortSignal;
  /** What was negotiated and why a fallback happened, for `tendril fetch --verbose` and the log. */
  readonly onInfo?: (message: string) => void;
}

export const TFTP_DEFAULTS = { blksize: 1468, windowsize: 16, timeoutMs: 1000, minTimeoutMs: 100, retries: 8 } as const;
const MAX_TIMEOUT_MS = 8000;

interface Target {
  readonly url: string;
  readonly host: string;
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
  readonly filename: string;
}

/** tftp://host[:port]/path → the file name the server sees (without the leading slash). */
export async function tftpTarget(url: URL): Promise<Target> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 69 : Number(url.port);
  let filename: string;
  try {
    filename = decodeURIComponent(url.pathname.replace(/^\//, ''));
  } catch {
    throw new NetError(url.href, 'bad percent-encoding in the file name', true);
  }
  if (filename === '') throw new NetError(url.href, 'no file name', true);
  let address = host;
  let family: 4 | 6 = net.isIPv6(host) ? 6 : 4;
  if (net.isIP(host) === 0) {
    try {
      const r = await dns.lookup(host);
      address = r.address;
      family = r.family === 6 ? 6 : 4;
    } catch (e) {
      throw new NetError(url.href, `cannot resolve ${host}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }
  return { url: url.href, host, address, family, port, filename };
}

/** Raised inside one attempt when the server refused our options: retry without them. */
class OptionsRefused extends Error {
  override readonly name = 'OptionsRefused';
}

/** Downloads one file into `sink`; rejects with NetError. */
export async function tftpGet(url: URL, sink: Sink, opts: TftpOptions = {}): Promise<void> {
  const t = await tftpTarget(url);
  if (!opts.noOptions) {
    try {
      return await attempt(t, sink, opts, true);
    } catch (e) {
      if (!(e instanceof OptionsRefused)) throw e;
      opts.onInfo?.(`${t.url}: ${e.message}; asking again without options`);
      sink.reset();
    }
  }
  return attempt(t, sink, opts, false);
}

function attempt(t: Target, sink: Sink, opts: TftpOptions, withOptions: boolean): Promise<void> {
  const blksize = clamp(opts.blksize ?? TFTP_DEFAULTS.blksize, MIN_BLKSIZE, MAX_BLKSIZE);
  const windowsize = clamp(opts.windowsize ?? TFTP_DEFAULTS.windowsize, 1, MAX_WINDOWSIZE);
  const asked: Options = withOptions
    ? { blksize: String(blksize), tsize: '0', ...(windowsize > 1 ? { windowsize: String(windowsize) } : {}) }
    : {};
  const rrq = encodeRrq(t.filename, asked);
  const rtt = new RttEstimator(
    opts.timeoutMs ?? TFTP_DEFAULTS.timeoutMs,
    opts.minTimeoutMs ?? TFTP_DEFAULTS.minTimeoutMs,
  );
  const retries = opts.retries ?? TFTP_DEFAULTS.retries;

  return new Promise<void>((resolve, reject) => {
    const sock = dgram.createSocket({ type: t.family === 6 ? 'udp6' : 'udp4' });
    let serverPort: number | undefined; // the server's transfer ID, fixed by its first answer
    let bs = 512; // RFC 1350 until an OACK says otherwise
    let ws = 1;
    let last = 0; // the last block written, in 16-bit space
    let inWindow = 0; // in-order blocks since our last ACK
    let timer: NodeJS.Timeout | undefined;
    let tries = 0;
    let settled = false;
    let sentDupAckFor = -1; // one ACK per out-of-order episode, not one per stray packet
    let sentAt: number | undefined = performance.now();
    let pending = 0; // sends not yet handed to the kernel: the final ACK or an ERROR must go out

    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (pending === 0) sock.close();
      if (err) reject(err);
      else resolve();
    };
    const fail = (reason: string, permanent = false, notFound = false): void =>
      finish(new NetError(t.url, reason, permanent, notFound));
    const send = (b: Buffer, port = serverPort ?? t.port): void => {
      pending++;
      sock.send(b, port, t.address, (err) => {
        if (--pending === 0 && settled) sock.close();
        if (err) fail(`send to ${t.address}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
      });
    };
    const arm = (): void => {
      clearTimeout(timer);
      const ms = Math.min(rtt.rto * 2 ** tries, MAX_TIMEOUT_MS);
      timer = setTimeout(() => {
        if (++tries > retries) {
          if (serverPort !== undefined) send(encodeError(0, 'timed out'));
          return fail(
            serverPort === undefined
              ? `no answer from ${t.address} after ${retries + 1} tries`
              : `${t.address} stopped answering after block ${last} (${sink.size} bytes), ${retries + 1} tries`,
          );
        }
        // RFC 7440 §4: on a timeout the receiver acknowledges the last block it has in order.
        sentAt = undefined;
        if (serverPort === undefined) send(rrq);
        else ack(last);
        arm();
      }, ms);
    };
    const ack = (block: number): void => {
      inWindow = 0;
      sentAt = tries === 0 ? performance.now() : undefined; // Karn: no sample across a retransmission
      send(encodeAck(block));
    };
    const abortTransfer = (code: number, msg: string, err: Error): void => {
      if (serverPort !== undefined) send(encodeError(code, msg));
      finish(err);
    };
    const onAbort = (): void =>
      abortTransfer(0, 'aborted', new NetError(t.url, `aborted: ${String(opts.signal?.reason ?? 'signal')}`, true));
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener('abort', onAbort);

    sock.on('error', (err) => fail(`socket: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    sock.on('message', (msg, rinfo) => {
      if (settled) return;
      if (rinfo.address !== t.address) return; // not our server at all: say nothing
      if (serverPort !== undefined && rinfo.port !== serverPort) {
        // RFC 1350 §4: a packet from an unknown transfer ID is answered with ERROR 5.
        send(encodeError(5, 'Unknown transfer ID'), rinfo.port);
        return;
      }
      let p: ServerPacket;
      try {
        p = decode(msg);
      } catch (e) {
        if (!(e instanceof TftpDecodeError)) throw e;
        return abortTransfer(
          4,
          'malformed packet',
          new NetError(t.url, `malformed packet from ${t.address}: ${e.message}`, true),
        );
      }
      const first = serverPort === undefined;
      serverPort ??= rinfo.port;
      if (sentAt !== undefined && (p.op !== 'DATA' || p.block === ((last + 1) & 0xffff))) {
        rtt.sample(performance.now() - sentAt);
        sentAt = undefined;
      }
      try {
        handle(p, first);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        abortTransfer(err instanceof NetError && /limit/.test(err.reason) ? 3 : 0, err.message.slice(0, 100), err);
      }
    });

    const handle = (p: ServerPacket, first: boolean): void => {
      switch (p.op) {
        case 'ERROR':
          // RFC 2347: ERROR 8 is "I will not take these options"; some servers send 0 or 4 instead.
          if (first && withOptions && (p.code === 8 || p.code === 0 || p.code === 4))
            return finish(
              new OptionsRefused(`${t.address} refused the options: ${describeError(p.code, p.message, t.address)}`),
            );
          return fail(describeError(p.code, p.message, t.address), p.code === 1 || p.code === 2, p.code === 1);
        case 'OACK': {
          if (!first || !withOptions) return; // a duplicate OACK: our ACK 0 went missing, the timer resends it
          const o = acceptOack(p.options, asked, t.url);
          bs = o.blksize;
          ws = o.windowsize;
          sink.expect(o.tsize);
          opts.onInfo?.(
            `${t.url}: ${t.address}:${serverPort} accepted blksize ${bs}, windowsize ${ws}, tsize ${o.tsize ?? 'unknown'}`,
          );
          tries = 0;
          ack(0);
          arm();
          return;
        }
        case 'DATA': {
          if (first)
            opts.onInfo?.(
              `${t.url}: ${t.address}:${serverPort} sent data without option negotiation: blksize 512, lock-step`,
            );
          const expected = (last + 1) & 0xffff;
          if (p.block !== expected) {
            // Out of order or a duplicate: acknowledge what we have so the server resumes from there
            // (RFC 7440 §4), once per episode.
            if (sentDupAckFor !== last) {
              sentDupAckFor = last;
              ack(last);
            }
            return;
          }
          if (p.data.length > bs) return fail(`block ${p.block} has ${p.data.length} bytes, blksize is ${bs}`, true);
          sink.write(p.data);
          last = expected;
          inWindow++;
          tries = 0;
          sentDupAckFor = -1;
          if (p.data.length < bs) {
            ack(last); // the short block ends the file; the server may resend it if this ACK is lost
            return finish();
          }
          if (inWindow >= ws) ack(last);
          arm();
          return;
        }
        default:
          return fail(`unexpected ${p.op} from ${t.address}`, true);
      }
    };

    send(rrq);
    arm();
  });
}

/** RFC 6298's smoothed round-trip time and variance, in ms. */
class RttEstimator {
  private srtt: number | undefined;
  private rttvar = 0;

  constructor(
    private readonly initial: number,
    private readonly min: number,
  ) {}

  get rto(): number {
    if (this.srtt === undefined) return this.initial;
    return Math.min(MAX_TIMEOUT_MS, Math.max(this.min, this.srtt + 4 * this.rttvar));
  }

  sample(ms: number): void {
    if (this.srtt === undefined) {
      this.srtt = ms;
      this.rttvar = ms / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - ms);
      this.srtt = 0.875 * this.srtt + 0.125 * ms;
    }
  }
}

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.floor(n)));
}

/** RFC 2347: the server may only answer options we asked for, with values no larger than ours. */
function acceptOack(
  o: Options,
  asked: Options,
  url: string,
): { blksize: number; windowsize: number; tsize: number | undefined } {
  const num = (k: string): number | undefined => {
    const v = o[k];
    if (v === undefined) return undefined;
    if (!/^\d{1,15}$/.test(v)) throw new NetError(url, `OACK option ${k}=${JSON.stringify(v)} is not a number`, true);
    return Number(v);
  };
  for (const k of Object.keys(o))
    if (!(k in asked) && k !== 'timeout') throw new NetError(url, `OACK has option ${k} that was not asked for`, true);
  const blksize = num('blksize') ?? 512;
  if (blksize < MIN_BLKSIZE || blksize > Number(asked.blksize ?? 512))
    throw new NetError(url, `OACK blksize ${blksize} outside ${MIN_BLKSIZE}..${asked.blksize ?? 512}`, true);
  const windowsize = num('windowsize') ?? 1;
  if (windowsize < 1 || windowsize > Number(asked.windowsize ?? 1))
    throw new NetError(url, `OACK windowsize ${windowsize} outside 1..${asked.windowsize ?? 1}`, true);
  return { blksize, windowsize, tsize: num('tsize') };
}
