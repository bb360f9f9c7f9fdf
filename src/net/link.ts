// Links: which Ethernet NICs there are (/sys/class/net), bringing one up and waiting for its
// carrier, and configuring a lease on it with `ip` (busybox in the initramfs, iproute2 on a
// host), spawned with argument arrays. docs/net-dhcp.md §5.

import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NetError, type Lease } from './types';

export interface NicInfo {
  readonly name: string;
  readonly ifindex: number;
  /** Lower-case colon-separated. */
  readonly mac: string;
  /** undefined when the kernel cannot say (the link is administratively down). */
  readonly carrier: boolean | undefined;
  readonly operstate: string;
  /** Backed by a device (PCI, USB, virtio), not a software interface (veth, bridge, tap). */
  readonly physical: boolean;
  readonly driver?: string;
}

export const SYS_NET = '/sys/class/net';
const ARPHRD_ETHER = 1;

function read(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** One interface's facts, or undefined when it is not Ethernet (or vanished meanwhile). */
export function nicInfo(name: string, root = SYS_NET): NicInfo | undefined {
  const dir = path.join(root, name);
  if (Number(read(path.join(dir, 'type'))) !== ARPHRD_ETHER) return undefined;
  const ifindex = Number(read(path.join(dir, 'ifindex')));
  const mac = read(path.join(dir, 'address'))?.toLowerCase();
  if (!Number.isInteger(ifindex) || ifindex < 1 || !mac || !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac))
    return undefined;
  const carrier = read(path.join(dir, 'carrier'));
  let driver: string | undefined;
  try {
    driver = path.basename(fs.readlinkSync(path.join(dir, 'device', 'driver')));
  } catch {
    driver = undefined;
  }
  return {
    name,
    ifindex,
    mac,
    carrier: carrier === undefined ? undefined : carrier === '1',
    operstate: read(path.join(dir, 'operstate')) ?? 'unknown',
    physical: fs.existsSync(path.join(dir, 'device')) && !fs.existsSync(path.join(dir, 'wireless')),
    ...(driver ? { driver } : {}),
  };
}

/**
 * The Ethernet NICs: by default those backed by a device (so not bridges, bonds, veth, tap or
 * Wi-Fi); `names` picks interfaces explicitly, any Ethernet-type one, and a missing or
 * non-Ethernet name is an error.
 */
export function listNics(names: readonly string[] = [], root = SYS_NET): NicInfo[] {
  if (names.length > 0)
    return names.map((n) => {
      if (!/^[^/\s]{1,15}$/.test(n) || n === '.' || n === '..') throw new NetError(n, 'not an interface name');
      if (!fs.existsSync(path.join(root, n))) throw new NetError(n, 'no such network interface');
      const info = nicInfo(n, root);
      if (!info) throw new NetError(n, 'not an Ethernet interface');
      return info;
    });
  let entries: string[];
  try {
    entries = fs.readdirSync(root);
  } catch {
    return [];
  }
  return entries
    .sort()
    .map((n) => nicInfo(n, root))
    .filter((n): n is NicInfo => n !== undefined && n.physical);
}

/**
 * PCI network controllers (class 0x02) that have no network interface, named as "no driver for
 * 8086:15b8" (nothing bound) or "driver e1000e bound to 0000:00:19.0 but no interface".
 */
export function nicsWithoutNetdev(root = '/sys/bus/pci/devices'): string[] {
  let devs: string[];
  try {
    devs = fs.readdirSync(root).sort();
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const d of devs) {
    const dir = path.join(root, d);
    if (!read(path.join(dir, 'class'))?.startsWith('0x02')) continue;
    if (fs.existsSync(path.join(dir, 'net'))) continue;
    const id = [read(path.join(dir, 'vendor')), read(path.join(dir, 'device'))].map((x) => x?.replace(/^0x/, ''));
    let driver: string | undefined;
    try {
      driver = path.basename(fs.readlinkSync(path.join(dir, 'driver')));
    } catch {
      driver = undefined;
    }
    out.push(driver ? `driver ${driver} bound to ${d} but no interface` : `no driver for ${id.join(':')} (${d})`);
  }
  return out;
}

/** Runs `ip` with these arguments; a failure is a NetError quoting its stderr. */
export function runIp(iface: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', [...args], { timeout: 10_000 }, (err, stdout, stderr) => {
      if (err) reject(new NetError(iface, `ip ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

export async function linkUp(name: string): Promise<void> {
  await runIp(name, ['link', 'set', 'dev', name, 'up']);
}

/** Resolves when the NIC reports carrier; rejects "no carrier on X after N s" at the deadline. */
export async function waitCarrier(
  name: string,
  timeoutMs: number,
  signal?: AbortSignal,
  root = SYS_NET,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (read(path.join(root, name, 'carrier')) === '1') return;
    if (signal?.aborted) throw new NetError(name, 'cancelled while waiting for carrier');
    if (Date.now() >= end) throw new NetError(name, `no carrier on ${name} after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function broadcastOf(address: string, prefix: number): string {
  const n = address.split('.').reduce((a, x) => a * 256 + Number(x), 0);
  const host = prefix >= 32 ? 0 : 2 ** (32 - prefix) - 1;
  const b = (n - (n % (host + 1)) + host) >>> 0;
  return [24, 16, 8, 0].map((s) => (b >>> s) & 255).join('.');
}

export interface ApplyOptions {
  /** Write the lease's DNS servers and domain to this file (e.g. /etc/resolv.conf). */
  readonly resolvConf?: string;
  /** Only write resolvConf; leave the interface alone. */
  readonly dnsOnly?: boolean;
  /**
   * A static route the kernel refused (a gateway it cannot reach, a clash with another NIC's
   * route): reported here and skipped, so one bad route does not cost the whole lease.
   */
  readonly onRouteError?: (e: NetError) => void;
}

/**
 * Puts an IPv4 lease on its interface: address, MTU, static routes, default route; resolv.conf
 * only when told.
 */
export async function applyLease(l: Lease, o: ApplyOptions = {}): Promise<void> {
  if (!o.dnsOnly) await configureInterface(l, o.onRouteError);
  if (o.resolvConf !== undefined && l.dns.length > 0) {
    const lines = [
      `# written by tendril from the ${l.how} lease on ${l.iface}`,
      ...(l.domain ? [`search ${l.domain}`] : []),
      ...l.dns.map((d) => `nameserver ${d}`),
    ];
    fs.writeFileSync(o.resolvConf, lines.join('\n') + '\n');
  }
}

/**
 * Removes every IPv4 address of `dev`. Busybox's `ip addr flush` deletes a primary address and,
 * with it, the kernel's secondaries in the same subnet, then fails deleting those ("Cannot
 * assign requested address"): a failure is only one if an address is left afterwards.
 */
async function flushIpv4(dev: string): Promise<void> {
  try {
    await runIp(dev, ['-4', 'addr', 'flush', 'dev', dev]);
  } catch (e) {
    const left = await runIp(dev, ['-4', 'addr', 'show', 'dev', dev]);
    if (/^\s*inet\s/m.test(left)) throw e;
  }
}

async function configureInterface(l: Lease, onRouteError?: (e: NetError) => void): Promise<void> {
  if (l.family !== 4) throw new NetError(l.iface, 'only IPv4 leases can be applied yet');
  const dev = l.iface;
  if (l.mtu !== undefined) await runIp(dev, ['link', 'set', 'dev', dev, 'mtu', String(l.mtu)]);
  await flushIpv4(dev);
  await runIp(dev, [
    'addr',
    'add',
    `${l.address}/${l.prefixLength}`,
    'broadcast',
    broadcastOf(l.address, l.prefixLength),
    'dev',
    dev,
  ]);
  await runIp(dev, ['link', 'set', 'dev', dev, 'up']);
  // On-link destinations first: RFC 3442 lets a later route's gateway be reachable only through
  // an earlier on-link route. docs/net-dhcp.md §3.
  const routes = [...(l.routes ?? [])].sort(
    (a, b) => Number(b.gateway === '0.0.0.0') - Number(a.gateway === '0.0.0.0'),
  );
  for (const r of routes) {
    const dest = `${r.dest}/${r.prefix}`;
    const how = r.gateway === '0.0.0.0' ? ['scope', 'link'] : ['via', r.gateway];
    try {
      await runIp(dev, ['route', 'replace', dest, ...how, 'dev', dev]);
    } catch (e) {
      const why = e instanceof NetError ? e.reason : String(e);
      const err = new NetError(dev, `static route ${dest} via ${r.gateway} (option 121) not added: ${why}`);
      if (!onRouteError) throw err;
      onRouteError(err);
    }
  }
  if (l.router !== undefined) await runIp(dev, ['route', 'replace', 'default', 'via', l.router, 'dev', dev]);
}
