// The DHCPv6 message and option codec (RFC 8415 §8, §21): a message is type, 24-bit transaction
// id and options; IA_NA and IAADDR carry options of their own. Decoding has hard limits on size,
// option count and nesting, and every refusal is a NetError saying what and why.
// docs/net-dhcp.md §9.

import { NetError } from '../types';

export const MSG6 = {
  SOLICIT: 1,
  ADVERTISE: 2,
  REQUEST: 3,
  CONFIRM: 4,
  RENEW: 5,
  REBIND: 6,
  REPLY: 7,
  RELEASE: 8,
  DECLINE: 9,
  RECONFIGURE: 10,
  INFORMATION_REQUEST: 11,
} as const;

export const OPT6 = {
  CLIENTID: 1,
  SERVERID: 2,
  IA_NA: 3,
  IAADDR: 5,
  ORO: 6,
  PREFERENCE: 7,
  ELAPSED_TIME: 8,
  STATUS_CODE: 13,
  RAPID_COMMIT: 14,
  USER_CLASS: 15,
  VENDOR_CLASS: 16,
  DNS_SERVERS: 23,
  DOMAIN_LIST: 24,
  SNTP_SERVERS: 31,
  NTP_SERVER: 56,
  BOOTFILE_URL: 59,
  BOOTFILE_PARAM: 60,
  CLIENT_ARCH_TYPE: 61,
  NII: 62,
  SOL_MAX_RT: 82,
  INF_MAX_RT: 83,
} as const;

export const STATUS6 = { SUCCESS: 0, UNSPEC_FAIL: 1, NO_ADDRS_AVAIL: 2, NO_BINDING: 3, NOT_ON_LINK: 4 } as const;

export interface Dhcp6Option {
  readonly code: number;
  readonly data: Uint8Array;
}

export interface Dhcp6Message {
  readonly type: number;
  /** 24-bit transaction id. */
  readonly xid: number;
  readonly options: readonly Dhcp6Option[];
}

/** Limits that bound the work and memory one received message can cost. */
export const DHCP6_LIMITS = {
  /** Bytes of one message (a 1500-byte MTU's worth, with room to spare). */
  maxMessage: 4096,
  /** Options in one message, counting those inside IA_NA and IAADDR. */
  maxOptions: 256,
  /** Levels of encapsulated options read: message → IA_NA → IAADDR. */
  maxDepth: 3,
} as const;

/** Options whose data holds options of their own, and where those start. */
const NESTED: ReadonlyMap<number, number> = new Map([
  [OPT6.IA_NA, 12],
  [OPT6.IAADDR, 24],
]);

const bad = (why: string) => new NetError('DHCPv6 message', why, true);

export function encodeOptions(options: readonly Dhcp6Option[]): Uint8Array {
  const total = options.reduce((n, o) => n + 4 + o.data.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const o of options) {
    if (!Number.isInteger(o.code) || o.code < 0 || o.code > 0xffff) throw bad(`option code ${o.code} out of range`);
    if (o.data.length > 0xffff) throw bad(`option ${o.code} longer than 65535 bytes`);
    out[at] = o.code >> 8;
    out[at + 1] = o.code & 0xff;
    out[at + 2] = o.data.length >> 8;
    out[at + 3] = o.data.length & 0xff;
    out.set(o.data, at + 4);
    at += 4 + o.data.length;
  }
  return out;
}

export function encodeDhcp6(m: Dhcp6Message): Uint8Array {
  if (!Number.isInteger(m.type) || m.type < 1 || m.type > 255) throw bad(`message type ${m.type} out of range`);
  if (!Number.isInteger(m.xid) || m.xid < 0 || m.xid > 0xffffff) throw bad(`transaction id ${m.xid} out of range`);
  const opts = encodeOptions(m.options);
  const out = new Uint8Array(4 + opts.length);
  out[0] = m.type;
  out[1] = (m.xid >> 16) & 0xff;
  out[2] = (m.xid >> 8) & 0xff;
  out[3] = m.xid & 0xff;
  out.set(opts, 4);
  return out;
}

interface Budget {
  options: number;
}

/**
 * The options in `area`. Each option must fit in the area; IA_NA and IAADDR are checked to
 * hold well-formed options too (`depth` levels deep at most), so a view never meets a bad one.
 */
export function decodeOptions(area: Uint8Array, depth = 1, budget: Budget = { options: 0 }): Dhcp6Option[] {
  const out: Dhcp6Option[] = [];
  let at = 0;
  while (at < area.length) {
    if (area.length - at < 4) throw bad(`${area.length - at} stray bytes after the last option`);
    const code = (area[at]! << 8) | area[at + 1]!;
    const len = (area[at + 2]! << 8) | area[at + 3]!;
    if (at + 4 + len > area.length)
      throw bad(`option ${code} claims ${len} bytes but only ${area.length - at - 4} remain`);
    if (++budget.options > DHCP6_LIMITS.maxOptions) throw bad(`more than ${DHCP6_LIMITS.maxOptions} options`);
    const data = area.subarray(at + 4, at + 4 + len);
    const inner = NESTED.get(code);
    if (inner !== undefined) {
      if (len < inner) throw bad(`option ${code} is ${len} bytes, shorter than its ${inner}-byte header`);
      if (depth >= DHCP6_LIMITS.maxDepth) throw bad(`options nested more than ${DHCP6_LIMITS.maxDepth} deep`);
      decodeOptions(data.subarray(inner), depth + 1, budget);
    }
    out.push({ code, data });
    at += 4 + len;
  }
  return out;
}

export function decodeDhcp6(bytes: Uint8Array): Dhcp6Message {
  if (bytes.length < 4) throw bad(`${bytes.length} bytes, shorter than the 4-byte header`);
  if (bytes.length > DHCP6_LIMITS.maxMessage)
    throw bad(`${bytes.length} bytes, longer than the ${DHCP6_LIMITS.maxMessage}-byte limit`);
  const type = bytes[0]!;
  const xid = (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!;
  return { type, xid, options: decodeOptions(bytes.subarray(4)) };
}

export const findOption = (opts: readonly Dhcp6Option[], code: number): Uint8Array | undefined =>
  opts.find((o) => o.code === code)?.data;

export const u16 = (n: number) => Uint8Array.of(n >> 8, n & 0xff);
export const u32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
