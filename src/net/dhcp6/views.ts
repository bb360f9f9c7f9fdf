// Typed views of DHCPv6 options (RFC 8415 §21, RFC 3646 DNS, RFC 5908 NTP, RFC 4075 SNTP,
// RFC 5970 boot file): each returns nothing (or skips an item) for a value of the wrong shape,
// so a malformed option never throws past decodeDhcp6's checks. docs/net-dhcp.md §9.

import { decodeOptions, findOption, OPT6, type Dhcp6Option } from './message';

/** RFC 5952 text of a 16-byte address: lower case, no leading zeros, the longest zero run as `::`. */
export function ip6Text(b: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => (b[2 * i]! << 8) | b[2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** A 16-byte address from text (`2001:db8::1`), or undefined. */
export function ip6Bytes(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:]{2,39}$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const part = (h: string) => (h === '' ? [] : h.split(':'));
  const head = part(halves[0]!);
  const tail = halves.length === 2 ? part(halves[1]!) : [];
  const fill = 8 - head.length - tail.length;
  if ((halves.length === 1 && fill !== 0) || (halves.length === 2 && fill < 1)) return undefined;
  const words = [...head, ...Array<string>(halves.length === 2 ? fill : 0).fill('0'), ...tail];
  if (words.some((w) => !/^[0-9a-fA-F]{1,4}$/.test(w))) return undefined;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    const n = parseInt(w, 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  });
  return out;
}

const be16 = (d: Uint8Array, at: number) => (d[at]! << 8) | d[at + 1]!;
const be32 = (d: Uint8Array, at: number) =>
  ((d[at]! << 24) | (d[at + 1]! << 16) | (d[at + 2]! << 8) | d[at + 3]!) >>> 0;
const utf8 = (d: Uint8Array) => new TextDecoder('utf-8', { fatal: false }).decode(d);

export interface Status {
  readonly code: number;
  readonly message: string;
}

/** Option 13 among `opts`; absent means success (RFC 8415 §21.13). */
export function statusOf(opts: readonly Dhcp6Option[]): Status | undefined {
  const d = findOption(opts, OPT6.STATUS_CODE);
  if (!d || d.length < 2) return undefined;
  return { code: be16(d, 0), message: utf8(d.subarray(2)) };
}

export interface IaAddress {
  readonly address: string;
  readonly bytes: Uint8Array;
  readonly preferred: number;
  readonly valid: number;
  readonly status?: Status;
}

export interface IaNa {
  readonly iaid: number;
  readonly t1: number;
  readonly t2: number;
  readonly addresses: readonly IaAddress[];
  readonly status?: Status;
}

/** The IA_NAs of a message (decodeDhcp6 has checked their nested options already). */
export function iaNas(opts: readonly Dhcp6Option[]): IaNa[] {
  return opts
    .filter((o) => o.code === OPT6.IA_NA && o.data.length >= 12)
    .map((o) => {
      const inner = decodeOptions(o.data.subarray(12), 2);
      const addresses = inner
        .filter((a) => a.code === OPT6.IAADDR && a.data.length >= 24)
        .map((a): IaAddress => {
          const st = statusOf(decodeOptions(a.data.subarray(24), 3));
          return {
            address: ip6Text(a.data.subarray(0, 16)),
            bytes: a.data.slice(0, 16),
            preferred: be32(a.data, 16),
            valid: be32(a.data, 20),
            ...(st ? { status: st } : {}),
          };
        });
      const st = statusOf(inner);
      return {
        iaid: be32(o.data, 0),
        t1: be32(o.data, 4),
        t2: be32(o.data, 8),
        addresses,
        ...(st ? { status: st } : {}),
      };
    });
}

/** A list of 16-byte addresses (options 23, 31); undefined-free, empty when malformed. */
export function addressList(d: Uint8Array | undefined): string[] {
  if (!d || d.length % 16 !== 0) return [];
  return Array.from({ length: d.length / 16 }, (_, i) => ip6Text(d.subarray(16 * i, 16 * i + 16)));
}

/**
 * RFC 1035 §3.1 names, uncompressed (RFC 8415 §10), one after another (option 24). Stops at the
 * first malformed name, keeping those before it.
 */
export function domainList(d: Uint8Array | undefined): string[] {
  const out: string[] = [];
  if (!d) return out;
  let at = 0;
  while (at < d.length) {
    const labels: string[] = [];
    for (;;) {
      if (at >= d.length) return out;
      const len = d[at]!;
      if (len === 0) break;
      if (len > 63 || at + 1 + len > d.length) return out;
      labels.push(utf8(d.subarray(at + 1, at + 1 + len)));
      at += 1 + len;
    }
    at++;
    const name = labels.join('.');
    if (name.length === 0 || name.length > 253 || !/^[A-Za-z0-9._-]+$/.test(name)) return out;
    out.push(name);
  }
  return out;
}

/** Option 56 (RFC 5908): server addresses (suboption 1) and names (suboption 3). */
export function ntpServers(d: Uint8Array | undefined): string[] {
  const out: string[] = [];
  if (!d) return out;
  let at = 0;
  while (at + 4 <= d.length) {
    const code = be16(d, at);
    const len = be16(d, at + 2);
    if (at + 4 + len > d.length) break;
    const v = d.subarray(at + 4, at + 4 + len);
    if (code === 1 && len === 16) out.push(ip6Text(v));
    if (code === 3) out.push(...domainList(v).slice(0, 1));
    at += 4 + len;
  }
  return out;
}

/** Option 60 (RFC 5970 §3.2): length-prefixed parameters. */
export function bootFileParams(d: Uint8Array | undefined): string[] {
  const out: string[] = [];
  if (!d) return out;
  let at = 0;
  while (at + 2 <= d.length) {
    const len = be16(d, at);
    if (at + 2 + len > d.length) break;
    out.push(utf8(d.subarray(at + 2, at + 2 + len)));
    at += 2 + len;
  }
  return out;
}

/** Option 59 (RFC 5970 §3.1): the boot file URL, when it is printable text. */
export function bootFileUrl(opts: readonly Dhcp6Option[]): string | undefined {
  const d = findOption(opts, OPT6.BOOTFILE_URL);
  if (!d || d.length === 0 || d.length > 4096) return undefined;
  const s = utf8(d).replace(/\0+$/, '');
  return /^[\x21-\x7e]+$/.test(s) ? s : undefined;
}

/** Option 7: the server's preference, 0 when absent (RFC 8415 §18.2.9). */
export function preferenceOf(opts: readonly Dhcp6Option[]): number {
  const d = findOption(opts, OPT6.PREFERENCE);
  return d && d.length === 1 ? d[0]! : 0;
}

/** A 32-bit seconds value (SOL_MAX_RT, INF_MAX_RT), when within RFC 8415 §21.24's 60..86400. */
export function maxRtOf(opts: readonly Dhcp6Option[], code: number): number | undefined {
  const d = findOption(opts, code);
  if (!d || d.length !== 4) return undefined;
  const v = be32(d, 0);
  return v >= 60 && v <= 86400 ? v : undefined;
}

/** The DUID of option 1 or 2, as lower-case hex (for logs and for comparing servers). */
export function duidHex(opts: readonly Dhcp6Option[], code: number): string | undefined {
  const d = findOption(opts, code);
  return d && d.length > 0 ? Buffer.from(d).toString('hex') : undefined;
}
