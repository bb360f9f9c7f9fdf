// The BOOTP/DHCPv4 message (RFC 2131 §2, RFC 951) and its codec: fixed header, magic cookie,
// options, and option overload (option 52: options continue in `file` and/or `sname`,
// RFC 2132 §9.3). Limits are explicit; bad input is a NetError. docs/net-dhcp.md §2.

import { NetError } from '../types';
import { OPT, type Options, readOptionArea, writeOptions } from './options';

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
const HEADER = 236;
const COOKIE = [99, 130, 83, 99] as const;
/** Smallest message a BOOTP relay must accept (RFC 951); we pad what we send to it. */
const MIN_SEND = 300;
/** Largest message we accept: bigger than any Ethernet frame, so nothing real is refused. */
export const MAX_PACKET = 4096;

export interface Dhcp4Packet {
  readonly op: number;
  readonly htype: number;
  readonly hlen: number;
  readonly hops: number;
  readonly xid: number;
  readonly secs: number;
  readonly flags: number;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  readonly giaddr: string;
  /** 16 bytes; the first `hlen` are the hardware address. */
  readonly chaddr: Uint8Array;
  /** 64 and 128 bytes as sent; when overloaded they carried options (see `overload`). */
  readonly sname: Uint8Array;
  readonly file: Uint8Array;
  /** Option 52: 1 = `file` holds options, 2 = `sname`, 3 = both; 0 when absent. */
  readonly overload: number;
  readonly options: Options;
}

export type Dhcp4PacketInit = Partial<Omit<Dhcp4Packet, 'options' | 'overload'>> & {
  readonly op: number;
  readonly xid: number;
  readonly options: Options;
};

/** Decodes one message. Concatenation order across areas is options, file, sname (RFC 3396 §5). */
export function decodeDhcp4(b: Uint8Array): Dhcp4Packet {
  if (b.length < HEADER + 4) throw new NetError('DHCPv4 packet', `${b.length} bytes is shorter than a BOOTP header`);
  if (b.length > MAX_PACKET) throw new NetError('DHCPv4 packet', `${b.length} bytes is over the ${MAX_PACKET} limit`);
  if (COOKIE.some((c, i) => b[HEADER + i] !== c)) throw new NetError('DHCPv4 packet', 'no DHCP magic cookie');
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const options = new Map<number, Uint8Array>();
  const counter = { n: 0 };
  const sname = b.slice(44, 108);
  const file = b.slice(108, HEADER);
  readOptionArea(b.subarray(HEADER + 4), options, counter, 'the options field', true);
  const ov = options.get(OPT.OVERLOAD);
  let overload = 0;
  if (ov) {
    if (ov.length !== 1 || ov[0]! < 1 || ov[0]! > 3)
      throw new NetError('DHCPv4 packet', `option 52 (overload) is not 1, 2 or 3`);
    overload = ov[0]!;
    if (overload & 1) readOptionArea(file, options, counter, 'the file field (overload)', false);
    if (overload & 2) readOptionArea(sname, options, counter, 'the sname field (overload)', false);
  }
  return {
    op: b[0]!,
    htype: b[1]!,
    hlen: b[2]!,
    hops: b[3]!,
    xid: dv.getUint32(4),
    secs: dv.getUint16(8),
    flags: dv.getUint16(10),
    ciaddr: ip(b, 12),
    yiaddr: ip(b, 16),
    siaddr: ip(b, 20),
    giaddr: ip(b, 24),
    chaddr: b.slice(28, 44),
    sname,
    file,
    overload,
    options,
  };
}

/** Encodes a message (no overload: what we send fits the options field). */
export function encodeDhcp4(p: Dhcp4PacketInit): Uint8Array {
  const opts = writeOptions(p.options);
  const out = new Uint8Array(Math.max(MIN_SEND, HEADER + 4 + opts.length));
  if (out.length > MAX_PACKET) throw new NetError('DHCPv4 packet', `options too long to send (${opts.length} bytes)`);
  const dv = new DataView(out.buffer);
  out[0] = p.op;
  out[1] = p.htype ?? 1;
  out[2] = p.hlen ?? 6;
  out[3] = p.hops ?? 0;
  dv.setUint32(4, p.xid >>> 0);
  dv.setUint16(8, p.secs ?? 0);
  dv.setUint16(10, p.flags ?? 0);
  putIp(out, 12, p.ciaddr);
  putIp(out, 16, p.yiaddr);
  putIp(out, 20, p.siaddr);
  putIp(out, 24, p.giaddr);
  putField(out, 28, 16, p.chaddr, 'chaddr');
  putField(out, 44, 64, p.sname, 'sname');
  putField(out, 108, 128, p.file, 'file');
  out.set(COOKIE, HEADER);
  out.set(opts, HEADER + 4);
  return out;
}

function ip(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Dotted-quad IPv4 to 4 bytes; anything else is a NetError. */
export function parseIpv4(s: string): Uint8Array {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  const parts = m ? m.slice(1).map(Number) : [];
  if (parts.length !== 4 || parts.some((n) => n > 255)) throw new NetError(s, 'not an IPv4 address');
  return Uint8Array.from(parts);
}

function putIp(out: Uint8Array, off: number, s: string | undefined): void {
  if (s !== undefined) out.set(parseIpv4(s), off);
}

function putField(out: Uint8Array, off: number, size: number, v: Uint8Array | undefined, name: string): void {
  if (!v) return;
  if (v.length > size) throw new NetError('DHCPv4 packet', `${name} is ${v.length} bytes, over ${size}`);
  out.set(v, off);
}
