// The kernel's IPv6 state for one interface, read and set through /proc (no `ip -j`: busybox's
// ip in the initramfs has no JSON): the sysctls that let it autoconfigure from Router
// Advertisements (RFC 4862), its addresses from /proc/net/if_inet6, and the default router from
// /proc/net/ipv6_route. docs/net-dhcp.md §10.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { NetError } from '../types';
import { ip6Text } from './views';

const IFA_F_DADFAILED = 0x08;
const IFA_F_TENTATIVE = 0x40;
const IFA_F_PERMANENT = 0x80;
const SCOPE_GLOBAL = 0x00;
const SCOPE_LINK = 0x20;

export interface Ip6Address {
  readonly address: string;
  readonly prefixLength: number;
  readonly scope: 'global' | 'link' | 'other';
  readonly tentative: boolean;
  readonly dadFailed: boolean;
  /** Configured by hand (or by us), not by the kernel's autoconfiguration. */
  readonly permanent: boolean;
}

function hexBytes(h: string): Uint8Array | undefined {
  if (!/^[0-9a-f]{32}$/i.test(h)) return undefined;
  return Uint8Array.from(h.match(/../g)!.map((x) => parseInt(x, 16)));
}

/** The addresses of `iface` in /proc/net/if_inet6 (none when the file is missing: no IPv6). */
export function ip6Addresses(iface: string, file = '/proc/net/if_inet6'): Ip6Address[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: Ip6Address[] = [];
  for (const line of text.split('\n').slice(0, 4096)) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 6 || f[5] !== iface) continue;
    const bytes = hexBytes(f[0]!);
    if (!bytes) continue;
    const scope = parseInt(f[3]!, 16);
    const flags = parseInt(f[4]!, 16);
    out.push({
      address: ip6Text(bytes),
      prefixLength: parseInt(f[2]!, 16),
      scope: scope === SCOPE_GLOBAL ? 'global' : scope === SCOPE_LINK ? 'link' : 'other',
      tentative: (flags & IFA_F_TENTATIVE) !== 0,
      dadFailed: (flags & IFA_F_DADFAILED) !== 0,
      permanent: (flags & IFA_F_PERMANENT) !== 0,
    });
  }
  return out;
}

/** RTF_ADDRCONF: a route a Router Advertisement installed (its prefix, or the default route). */
const RTF_ADDRCONF = 0x00040000;

function routes(iface: string, file: string): string[][] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .slice(0, 65536)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length === 10 && f[9] === iface);
}

/** The gateway of `iface`'s IPv6 default route (one a Router Advertisement installed), if any. */
export function ip6DefaultRouter(iface: string, file = '/proc/net/ipv6_route'): string | undefined {
  for (const f of routes(iface, file)) {
    if (f[1] !== '00' || !/^0{32}$/.test(f[0]!)) continue;
    const hop = hexBytes(f[4]!);
    if (hop && hop.some((b) => b !== 0)) return ip6Text(hop);
  }
  return undefined;
}

/** Whether a Router Advertisement has put a route (on-link prefix or default) on `iface`. */
export function raRouteSeen(iface: string, file = '/proc/net/ipv6_route'): boolean {
  return routes(iface, file).some((f) => (parseInt(f[8]!, 16) & RTF_ADDRCONF) !== 0);
}

/**
 * Lets the kernel run IPv6 on `iface` and autoconfigure from Router Advertisements:
 * disable_ipv6=0, autoconf=1, and accept_ra=1 (2 when the host forwards, which otherwise
 * ignores RAs). Only values that differ are written.
 */
export function enableIpv6(iface: string, root = '/proc/sys/net/ipv6/conf'): void {
  const dir = path.join(root, iface);
  if (!fs.existsSync(dir))
    throw new NetError(iface, `IPv6 is not available (no ${dir}: a kernel without IPv6, or ipv6.disable=1)`);
  const forwarding = readSysctl(path.join(dir, 'forwarding')) === '1';
  const want: [string, string][] = [
    ['disable_ipv6', '0'],
    ['accept_ra', forwarding ? '2' : '1'],
    ['autoconf', '1'],
  ];
  for (const [key, value] of want) {
    const file = path.join(dir, key);
    const now = readSysctl(file);
    if (now === value || (key === 'accept_ra' && now === '2')) continue;
    try {
      fs.writeFileSync(file, value);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      throw new NetError(iface, `write(${file}, ${value}): ${code}`);
    }
  }
}

function readSysctl(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Resolves to a usable (DAD done) link-local address; rejects at `until` or when DAD failed. */
export async function waitLinkLocal(iface: string, until: number, signal?: AbortSignal): Promise<string> {
  for (;;) {
    const ll = ip6Addresses(iface).filter((a) => a.scope === 'link');
    const ok = ll.find((a) => !a.tentative && !a.dadFailed);
    if (ok) return ok.address;
    if (ll.some((a) => a.dadFailed))
      throw new NetError(iface, `duplicate address detection failed for ${ll[0]!.address}`);
    if (signal?.aborted || Date.now() >= until)
      throw new NetError(
        iface,
        ll.length
          ? `link-local address ${ll[0]!.address} still tentative (DAD)`
          : `no IPv6 link-local address on ${iface}`,
      );
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves when `address` on `iface` has passed DAD; rejects when DAD failed or at `until`. */
export async function waitDad(iface: string, address: string, until: number): Promise<void> {
  for (;;) {
    const a = ip6Addresses(iface).find((x) => x.address === address);
    if (a && !a.tentative && !a.dadFailed) return;
    if (a?.dadFailed)
      throw new NetError(iface, `duplicate address detection failed for ${address}: another host uses it`);
    if (Date.now() >= until) throw new NetError(iface, `${address} did not finish duplicate address detection in time`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A global address the kernel configured from a Router Advertisement (SLAAC), once DAD is done. */
export function slaacAddress(iface: string): Ip6Address | undefined {
  return ip6Addresses(iface).find((a) => a.scope === 'global' && !a.permanent && !a.tentative && !a.dadFailed);
}
