// DHCPv4 option numbers and the option-area codec: RFC 2132 (option formats), RFC 3396 (long
// options split into several instances and concatenated on receipt). docs/net-dhcp.md §2.

import { NetError } from '../types';

export const OPT = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS: 6,
  HOSTNAME: 12,
  DOMAIN: 15,
  MTU: 26,
  BROADCAST: 28,
  NTP: 42,
  VENDOR_SPECIFIC: 43,
  REQUESTED_IP: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAM_REQUEST: 55,
  MESSAGE: 56,
  MAX_SIZE: 57,
  VENDOR_CLASS: 60,
  CLIENT_ID: 61,
  TFTP_SERVER: 66,
  BOOTFILE: 67,
  USER_CLASS: 77,
  CLIENT_ARCH: 93,
  CLIENT_NDI: 94,
  CLIENT_UUID: 97,
  DOMAIN_SEARCH: 119,
  CLASSLESS_ROUTES: 121,
  PXELINUX_CONFIGFILE: 209,
  PXELINUX_PATHPREFIX: 210,
  END: 255,
} as const;

export const MSG = { DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8 } as const;

/** Options by code; a value may exceed 255 bytes (RFC 3396 concatenation). */
export type Options = ReadonlyMap<number, Uint8Array>;

/** Limits that bound the work and memory one received packet can cost. */
export const OPTION_LIMITS = {
  /** Option instances (codes, PADs excluded) read from one packet, across all areas. */
  maxInstances: 512,
  /** Bytes of one option after concatenation: a packet's areas cannot hold more anyway. */
  maxValueBytes: 4096,
} as const;

/**
 * Appends the options of one area (the options field, `file` or `sname`) to `into`, concatenating
 * repeated codes in order (RFC 3396 §5). Stops at END; running past the area's end inside an
 * option is an error, as is a missing END in the options field (`needEnd`).
 */
export function readOptionArea(
  area: Uint8Array,
  into: Map<number, Uint8Array>,
  counter: { n: number },
  where: string,
  needEnd: boolean,
): void {
  let i = 0;
  while (i < area.length) {
    const code = area[i]!;
    if (code === OPT.END) return;
    if (code === OPT.PAD) {
      i++;
      continue;
    }
    if (i + 1 >= area.length) throw new NetError('DHCPv4 packet', `option ${code} in ${where} has no length byte`);
    const len = area[i + 1]!;
    if (i + 2 + len > area.length)
      throw new NetError('DHCPv4 packet', `option ${code} in ${where} runs past the end (length ${len})`);
    if (++counter.n > OPTION_LIMITS.maxInstances)
      throw new NetError('DHCPv4 packet', `more than ${OPTION_LIMITS.maxInstances} options`);
    const value = area.subarray(i + 2, i + 2 + len);
    const prev = into.get(code);
    if (prev && prev.length + len > OPTION_LIMITS.maxValueBytes)
      throw new NetError('DHCPv4 packet', `option ${code} longer than ${OPTION_LIMITS.maxValueBytes} bytes`);
    into.set(code, prev ? concat(prev, value) : value.slice());
    i += 2 + len;
  }
  if (needEnd) throw new NetError('DHCPv4 packet', `no END option in ${where}`);
}

/** Encodes options in map order, splitting values over 255 bytes into instances (RFC 3396 §6). */
export function writeOptions(options: Options): Uint8Array {
  const parts: number[] = [];
  for (const [code, value] of options) {
    if (!Number.isInteger(code) || code <= OPT.PAD || code >= OPT.END)
      throw new NetError('DHCPv4 packet', `option code ${code} cannot be encoded`);
    if (value.length === 0) {
      parts.push(code, 0);
      continue;
    }
    for (let off = 0; off < value.length; off += 255) {
      const chunk = value.subarray(off, Math.min(off + 255, value.length));
      parts.push(code, chunk.length, ...chunk);
    }
  }
  parts.push(OPT.END);
  return Uint8Array.from(parts);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// ---- typed views of option values (RFC 2132 formats); undefined when absent or malformed ----

export function optU8(o: Options, code: number): number | undefined {
  const v = o.get(code);
  return v && v.length === 1 ? v[0] : undefined;
}

export function optU16(o: Options, code: number): number | undefined {
  const v = o.get(code);
  return v && v.length === 2 ? (v[0]! << 8) | v[1]! : undefined;
}

export function optU32(o: Options, code: number): number | undefined {
  const v = o.get(code);
  return v && v.length === 4 ? ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0 : undefined;
}

export function ipv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** A list of IPv4 addresses (length a non-zero multiple of 4). */
export function optIps(o: Options, code: number): string[] {
  const v = o.get(code);
  if (!v || v.length === 0 || v.length % 4 !== 0) return [];
  const out: string[] = [];
  for (let i = 0; i < v.length; i += 4) out.push(ipv4(v, i));
  return out;
}

/** Text up to the first NUL (servers often send a terminating NUL), as UTF-8. */
export function optText(o: Options, code: number): string | undefined {
  const v = o.get(code);
  if (!v) return undefined;
  const s = cString(v);
  return s === '' ? undefined : s;
}

export function cString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return new TextDecoder('utf-8').decode(nul < 0 ? b : b.subarray(0, nul));
}

/** Classless static routes (RFC 3442): destination/prefix → gateway. Malformed → []. */
export function optClasslessRoutes(
  o: Options,
): { readonly dest: string; readonly prefix: number; readonly gateway: string }[] {
  const v = o.get(OPT.CLASSLESS_ROUTES);
  if (!v) return [];
  const out: { dest: string; prefix: number; gateway: string }[] = [];
  let i = 0;
  while (i < v.length) {
    const prefix = v[i]!;
    if (prefix > 32) return [];
    const n = Math.ceil(prefix / 8);
    if (i + 1 + n + 4 > v.length) return [];
    const dest = new Uint8Array(4);
    dest.set(v.subarray(i + 1, i + 1 + n));
    out.push({ dest: ipv4(dest), prefix, gateway: ipv4(v, i + 1 + n) });
    i += 1 + n + 4;
  }
  return out;
}
