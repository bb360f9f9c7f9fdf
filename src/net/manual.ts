// Manual configuration in dracut's syntax (dracut.cmdline(7), "Network"): `ip=` in its three
// forms and `nameserver=`, parsed into a plan; a static plan becomes a Lease with how 'manual'.
// docs/net-dhcp.md §7.

import { maskToPrefix } from './dhcp4/lease';
import { NetError, type Lease } from './types';

export type Autoconf = 'none' | 'off' | 'dhcp' | 'on' | 'any' | 'dhcp6' | 'auto6';
const AUTOCONF: readonly Autoconf[] = ['none', 'off', 'dhcp', 'on', 'any', 'dhcp6', 'auto6'];

export interface StaticPlan {
  readonly kind: 'static';
  /** undefined: the first NIC with carrier. */
  readonly iface?: string;
  readonly address: string;
  readonly prefixLength: number;
  readonly peer?: string;
  readonly gateway?: string;
  readonly hostname?: string;
  readonly mtu?: number;
  readonly mac?: string;
  readonly dns: readonly string[];
}

export interface AutoPlan {
  readonly kind: 'auto';
  /** undefined: every NIC. */
  readonly iface?: string;
  /** off/none: no configuration; dhcp/on/any: DHCP per net.family; dhcp6/auto6: IPv6 only (docs/net-dhcp.md §11). */
  readonly method: Autoconf;
  readonly mtu?: number;
  readonly mac?: string;
}

export type IpPlan = StaticPlan | AutoPlan;

export interface NetPlan {
  readonly ips: readonly IpPlan[];
  readonly nameservers: readonly string[];
}

/** Longest `ip=` value we read (a kernel command line is at most a few KiB). */
export const MAX_IP_ARG = 512;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IFNAME = /^[^/\s:]{1,15}$/;
const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

function fail(value: string, why: string): never {
  throw new NetError(`ip=${value.length > 80 ? value.slice(0, 80) + '…' : value}`, why);
}

/** Splits on ':' outside `[...]` (IPv6 literals are bracketed in dracut's syntax). */
function fields(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  for (const c of value) {
    if (c === '[') depth++;
    if (c === ']') depth--;
    if (depth < 0 || depth > 1) fail(value, 'unbalanced brackets');
    if (c === ':' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (depth !== 0) fail(value, 'unbalanced brackets');
  out.push(cur);
  return out;
}

function ip4(value: string, f: string, what: string): string {
  if (f.startsWith('[')) fail(value, `${what} ${f}: IPv6 static configuration is not supported yet`);
  if (!IPV4.test(f)) fail(value, `${what} '${f}' is not an IPv4 address`);
  return f;
}

function optIp4(value: string, f: string | undefined, what: string): string | undefined {
  return f === undefined || f === '' ? undefined : ip4(value, f, what);
}

function mtuOf(value: string, f: string | undefined): number | undefined {
  if (f === undefined || f === '') return undefined;
  const n = /^\d{1,5}$/.test(f) ? Number(f) : NaN;
  if (!(n >= 68 && n <= 65535)) fail(value, `MTU '${f}' is not a number in 68..65535`);
  return n;
}

/** `[<mtu>][:<macaddr>]` or (static form) `[<dns1>][:<dns2>]` after the autoconf field. */
function tail(value: string, rest: string[]): { mtu?: number; mac?: string; dns: string[] } {
  if (rest.length === 0) return { dns: [] };
  if (rest.length <= 2 && rest.every((f) => f === '' || IPV4.test(f)))
    if (rest.some((f) => f.includes('.'))) return { dns: rest.filter((f) => f !== '') };
  const mtu = mtuOf(value, rest[0]);
  const macText = rest.slice(1).join(':');
  if (macText !== '' && !MAC.test(macText)) fail(value, `'${macText}' is not a MAC address`);
  return {
    ...(mtu !== undefined ? { mtu } : {}),
    ...(macText ? { mac: macText.toLowerCase() } : {}),
    dns: [],
  };
}

function autoconf(value: string, f: string): Autoconf {
  const m = AUTOCONF.find((a) => a === f);
  if (!m) fail(value, `'${f}' is not one of ${AUTOCONF.join(', ')}`);
  return m;
}

/** One `ip=` value (with or without the `ip=` prefix). */
export function parseIpArg(raw: string): IpPlan {
  const value = raw.startsWith('ip=') ? raw.slice(3) : raw;
  if (value.length > MAX_IP_ARG) fail(value, `longer than ${MAX_IP_ARG} characters`);
  if (value === '') fail(value, 'empty');
  const f = fields(value);
  if (f.length > 16) fail(value, 'too many fields');
  if (f.length === 1) return { kind: 'auto', method: autoconf(value, f[0]!) };
  // The static form's second field is a peer address, the short form's an autoconf keyword.
  if (f.length >= 7 && !AUTOCONF.some((a) => a === f[1])) {
    const [addr, peer, gw, mask, host, iface, method] = f as [string, string, string, string, string, string, string];
    const how = autoconf(value, method);
    if (iface !== '' && !IFNAME.test(iface)) fail(value, `'${iface}' is not an interface name`);
    const t = tail(value, f.slice(7));
    if (how !== 'none' && how !== 'off')
      return {
        kind: 'auto',
        method: how,
        ...(iface ? { iface } : {}),
        ...(t.mtu !== undefined ? { mtu: t.mtu } : {}),
        ...(t.mac ? { mac: t.mac } : {}),
      };
    const address = ip4(value, addr, 'client address');
    let prefixLength: number | undefined;
    if (/^\d{1,2}$/.test(mask) && Number(mask) <= 32) prefixLength = Number(mask);
    else if (IPV4.test(mask)) prefixLength = maskToPrefix(mask);
    if (prefixLength === undefined) fail(value, `netmask '${mask}' is neither a contiguous mask nor a prefix length`);
    if (host.length > 64) fail(value, 'hostname longer than 64 characters');
    const peerIp = optIp4(value, peer, 'peer');
    const gateway = optIp4(value, gw, 'gateway');
    return {
      kind: 'static',
      address,
      prefixLength,
      dns: t.dns,
      ...(iface ? { iface } : {}),
      ...(peerIp ? { peer: peerIp } : {}),
      ...(gateway ? { gateway } : {}),
      ...(host ? { hostname: host } : {}),
      ...(t.mtu !== undefined ? { mtu: t.mtu } : {}),
      ...(t.mac ? { mac: t.mac } : {}),
    };
  }
  // <interface>:<autoconf>[:[<mtu>][:<macaddr>]]
  const [iface, method] = f as [string, string];
  if (!IFNAME.test(iface)) fail(value, `'${iface}' is not an interface name`);
  const t = tail(value, f.slice(2));
  if (t.dns.length > 0) fail(value, 'DNS servers belong to the static form');
  return {
    kind: 'auto',
    iface,
    method: autoconf(value, method),
    ...(t.mtu !== undefined ? { mtu: t.mtu } : {}),
    ...(t.mac ? { mac: t.mac } : {}),
  };
}

/** The `ip=` and `nameserver=` words of a kernel command line (other words are ignored). */
export function parseNetCmdline(cmdline: string): NetPlan {
  const ips: IpPlan[] = [];
  const nameservers: string[] = [];
  for (const w of cmdline.split(/\s+/)) {
    if (w.startsWith('ip=')) ips.push(parseIpArg(w));
    else if (w.startsWith('nameserver=')) {
      const v = w.slice('nameserver='.length);
      if (!IPV4.test(v)) throw new NetError(w, 'not an IPv4 address');
      nameservers.push(v);
    }
    if (ips.length > 16) throw new NetError('ip=', 'more than 16 ip= arguments');
  }
  return { ips, nameservers };
}

/** The Lease a static plan gives on `nic`; nameservers come after the plan's own DNS servers. */
export function staticLease(
  p: StaticPlan,
  nic: { readonly name: string; readonly mac: string },
  nameservers: readonly string[] = [],
): Lease {
  return {
    iface: nic.name,
    mac: nic.mac,
    family: 4,
    how: 'manual',
    address: p.address,
    prefixLength: p.prefixLength,
    dns: [...p.dns, ...nameservers.filter((n) => !p.dns.includes(n))],
    ntp: [],
    ...(p.gateway ? { router: p.gateway } : {}),
    ...(p.hostname ? { hostname: p.hostname } : {}),
    ...(p.mtu !== undefined ? { mtu: p.mtu } : {}),
  };
}
