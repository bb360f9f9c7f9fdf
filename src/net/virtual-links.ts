// Making the VLAN and bond interfaces of a LinkPlan before the lease stage, so DHCP runs on them
// and not on the NICs below. Bonds go through the bonding driver's sysfs files (busybox `ip`
// has no bond options); VLANs through `ip link add ... type vlan` (busybox and iproute2 both
// have it). Bonds first: a VLAN may sit on one. docs/net-dhcp.md §13.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { runIp, SYS_NET } from './link';
import { NetError } from './types';
import type { BondPlan, LinkPlan, VlanPlan } from './vlan-bond';

export interface LinkOptions {
  /** How long a lower interface (a NIC whose driver is still probing) may take to appear. */
  readonly appearMs?: number;
  readonly root?: string;
  readonly log?: (line: string) => void;
  /** Runs `ip` (default link.ts runIp). */
  readonly ip?: (iface: string, args: readonly string[]) => Promise<string>;
}

const DEFAULT_APPEAR_MS = 10_000;

/** Writes one sysfs attribute; a refusal names the file and errno (the driver's reason is in dmesg). */
function sysWrite(subject: string, file: string, value: string): void {
  try {
    // Never O_CREAT: a missing attribute (no bonding driver, a wrong name) is an error, not a new file.
    const fd = fs.openSync(file, fs.constants.O_WRONLY);
    try {
      fs.writeSync(fd, value);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new NetError(subject, `write '${value}' to ${file}: ${code}`);
  }
}

async function waitFor(name: string, root: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fs.existsSync(path.join(root, name))) {
    if (Date.now() >= end) throw new NetError(name, `no such network interface (waited ${Math.round(ms / 1000)} s)`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function makeBond(b: BondPlan, o: Required<Omit<LinkOptions, 'log'>>, log?: (l: string) => void) {
  const dir = path.join(o.root, b.name);
  // Loading the bonding module makes bond0 already (max_bonds=1): reuse it while it is empty.
  if (!fs.existsSync(dir)) sysWrite(b.name, path.join(o.root, 'bonding_masters'), `+${b.name}`);
  if (!fs.existsSync(path.join(dir, 'bonding'))) throw new NetError(b.name, `${dir} exists but is not a bond`);
  await o.ip(b.name, ['link', 'set', 'dev', b.name, 'down']);
  for (const [key, value] of b.options)
    for (const v of key === 'arp_ip_target' ? value.split(';').map((a) => `+${a}`) : [value])
      sysWrite(b.name, path.join(dir, 'bonding', key), v);
  for (const s of b.slaves) {
    await waitFor(s, o.root, o.appearMs);
    // The driver enslaves only a link that is down, and brings it up itself.
    await o.ip(s, ['link', 'set', 'dev', s, 'down']);
    sysWrite(b.name, path.join(dir, 'bonding', 'slaves'), `+${s}`);
  }
  if (b.mtu !== undefined) await o.ip(b.name, ['link', 'set', 'dev', b.name, 'mtu', String(b.mtu)]);
  log?.(`${b.name}: bond of ${b.slaves.join(', ')} (${b.options.map(([k, v]) => `${k}=${v}`).join(', ')})`);
}

async function makeVlan(v: VlanPlan, o: Required<Omit<LinkOptions, 'log'>>, log?: (l: string) => void) {
  await waitFor(v.phys, o.root, o.appearMs);
  if (fs.existsSync(path.join(o.root, v.name))) throw new NetError(v.name, 'an interface of that name exists already');
  // The VLAN's carrier follows its lower link's, which must be up for it.
  await o.ip(v.phys, ['link', 'set', 'dev', v.phys, 'up']);
  await o.ip(v.name, ['link', 'add', 'link', v.phys, 'name', v.name, 'type', 'vlan', 'id', String(v.id)]);
  log?.(`${v.name}: VLAN ${v.id} on ${v.phys}`);
}

/** Makes the plan's bonds, then its VLANs; the first failure is thrown, naming the file or command. */
export async function makeLinks(p: LinkPlan, o: LinkOptions = {}): Promise<void> {
  const opts = { appearMs: o.appearMs ?? DEFAULT_APPEAR_MS, root: o.root ?? SYS_NET, ip: o.ip ?? runIp };
  for (const b of p.bonds) await makeBond(b, opts, o.log);
  for (const v of p.vlans) await makeVlan(v, opts, o.log);
}
