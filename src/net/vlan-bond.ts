// VLANs and bonds in dracut's syntax (dracut.cmdline(7), "Network"): `vlan=<vlanname>:<phys>` and
// `bond=<bondname>[:<slaves>[:<options>[:<mtu>]]]`, from the kernel command line or net.vlan /
// net.bond, parsed into plans that virtual-links.ts makes before DHCP runs. The words are
// rebuilt from the plans for the kexec'd OS (dracut reads them again). docs/net-dhcp.md §13.

import { NetError } from './types';

export interface VlanPlan {
  /** The VLAN interface, e.g. eth0.10 or vlan0010. */
  readonly name: string;
  /** The interface it is tagged on (a NIC or a bond). */
  readonly phys: string;
  /** 1..4094, from the name (dracut's four naming styles). */
  readonly id: number;
}

export interface BondPlan {
  readonly name: string;
  readonly slaves: readonly string[];
  /** Bonding driver options in order (`mode` first), each written to /sys/class/net/<bond>/bonding/<key>. */
  readonly options: readonly (readonly [string, string])[];
  readonly mtu?: number;
}

export interface LinkPlan {
  readonly vlans: readonly VlanPlan[];
  readonly bonds: readonly BondPlan[];
}

/** Longest vlan=/bond= value read (a kernel command line is a few KiB). */
export const MAX_LINK_ARG = 512;
/** Most vlan= or bond= words a plan may have, and slaves a bond may have. */
export const MAX_LINKS = 16;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/**
 * The bonding driver's sysfs attributes (Documentation/networking/bonding.rst, "Bonding Driver
 * Options"): only these may be written, so an option name can never be a path.
 */
export const BOND_OPTIONS: readonly string[] = [
  'mode',
  'miimon',
  'updelay',
  'downdelay',
  'peer_notif_delay',
  'use_carrier',
  'arp_interval',
  'arp_ip_target',
  'arp_validate',
  'arp_all_targets',
  'arp_missed_max',
  'primary',
  'primary_reselect',
  'fail_over_mac',
  'xmit_hash_policy',
  'lacp_rate',
  'ad_select',
  'ad_actor_sys_prio',
  'ad_actor_system',
  'ad_user_port_key',
  'min_links',
  'num_grat_arp',
  'num_unsol_na',
  'all_slaves_active',
  'resend_igmp',
  'lp_interval',
  'packets_per_slave',
  'tlb_dynamic_lb',
];

function short(v: string): string {
  return v.length > 80 ? v.slice(0, 80) + '…' : v;
}

function ifname(word: string, field: string, v: string): string {
  if (!IFNAME.test(v) || v === '.' || v === '..')
    throw new NetError(word, `${field} '${short(v)}' is not an interface name (1-15 of A-Z a-z 0-9 _ . -)`);
  return v;
}

function bounded(key: 'vlan' | 'bond', raw: string): { word: string; value: string } {
  const value = raw.startsWith(`${key}=`) ? raw.slice(key.length + 1) : raw;
  const word = `${key}=${short(value)}`;
  if (value.length > MAX_LINK_ARG) throw new NetError(word, `longer than ${MAX_LINK_ARG} characters`);
  return { word, value };
}

/** The VLAN id a name means: vlan0005, vlan5, eth0.0005 or eth0.5. */
export function vlanIdOf(name: string): number | undefined {
  const m = /^vlan(\d{1,4})$/.exec(name) ?? /^[^.]+(?:\.[^.]+)*\.(\d{1,4})$/.exec(name);
  if (!m) return undefined;
  const id = Number(m[1]);
  return id >= 1 && id <= 4094 ? id : undefined;
}

/** One `vlan=<vlanname>:<phys>` (with or without the `vlan=` prefix). */
export function parseVlanArg(raw: string): VlanPlan {
  const { word, value } = bounded('vlan', raw);
  const f = value.split(':');
  if (f.length !== 2) throw new NetError(word, `needs <vlanname>:<phys>, got ${f.length} field(s)`);
  const name = ifname(word, '<vlanname>', f[0]!);
  const phys = ifname(word, '<phys>', f[1]!);
  if (name === phys) throw new NetError(word, '<vlanname> and <phys> are the same interface');
  const id = vlanIdOf(name);
  if (id === undefined)
    throw new NetError(
      word,
      `<vlanname> '${name}' names no VLAN id in 1..4094 (use vlan0010, vlan10, ${phys}.0010 or ${phys}.10)`,
    );
  return { name, phys, id };
}

function optionsOf(word: string, text: string): [string, string][] {
  const out: [string, string][] = [];
  if (text === '') return out;
  for (const o of text.split(',')) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    const val = eq < 0 ? '' : o.slice(eq + 1);
    if (!BOND_OPTIONS.includes(key)) throw new NetError(word, `<options>: '${short(key)}' is not a bonding option`);
    if (eq < 0 || val === '') throw new NetError(word, `<options>: ${key} has no value`);
    // arp_ip_target's several addresses are separated by ';' (dracut); the sysfs file takes one at a time.
    if (!/^[A-Za-z0-9_.+;:-]{1,64}$/.test(val))
      throw new NetError(word, `<options>: ${key} value '${short(val)}' has characters a bonding option cannot`);
    if (out.some(([k]) => k === key)) throw new NetError(word, `<options>: ${key} given twice`);
    out.push([key, val]);
  }
  // The driver takes `mode` only while the bond has no slaves and is down: it goes first.
  return [...out.filter(([k]) => k === 'mode'), ...out.filter(([k]) => k !== 'mode')];
}

/** One `bond=<bondname>[:<slaves>[:<options>[:<mtu>]]]`; a bare `bond` is bond0:eth0,eth1:mode=balance-rr. */
export function parseBondArg(raw: string): BondPlan {
  if (raw === 'bond' || raw === 'bond=')
    return { name: 'bond0', slaves: ['eth0', 'eth1'], options: [['mode', 'balance-rr']] };
  const { word, value } = bounded('bond', raw);
  const f = value.split(':');
  if (f.length > 4) throw new NetError(word, `at most 4 fields (<bondname>:<slaves>:<options>:<mtu>), got ${f.length}`);
  const name = ifname(word, '<bondname>', f[0]!);
  const slaveText = f[1] ?? 'eth0,eth1';
  const slaves = slaveText.split(',').map((s) => ifname(word, '<bondslaves>', s));
  if (slaves.length > MAX_LINKS) throw new NetError(word, `more than ${MAX_LINKS} <bondslaves>`);
  if (new Set(slaves).size !== slaves.length) throw new NetError(word, '<bondslaves> names an interface twice');
  if (slaves.includes(name)) throw new NetError(word, `<bondslaves> names the bond ${name} itself`);
  const options = f.length >= 3 ? optionsOf(word, f[2]!) : [['mode', 'balance-rr'] as [string, string]];
  let mtu: number | undefined;
  if (f[3] !== undefined && f[3] !== '') {
    mtu = /^\d{2,5}$/.test(f[3]) ? Number(f[3]) : NaN;
    if (!(mtu >= 68 && mtu <= 65535)) throw new NetError(word, `<mtu> '${short(f[3])}' is not a number in 68..65535`);
  }
  return { name, slaves, options, ...(mtu !== undefined ? { mtu } : {}) };
}

/**
 * The plan of every vlan= and bond= value, checked together: no interface is made twice, no
 * slave is in two bonds or carries a VLAN itself, no bond is a slave.
 */
export function linkPlan(vlanArgs: readonly string[], bondArgs: readonly string[]): LinkPlan {
  if (vlanArgs.length > MAX_LINKS) throw new NetError('vlan=', `more than ${MAX_LINKS} vlan= arguments`);
  if (bondArgs.length > MAX_LINKS) throw new NetError('bond=', `more than ${MAX_LINKS} bond= arguments`);
  const vlans = vlanArgs.map(parseVlanArg);
  const bonds = bondArgs.map(parseBondArg);
  const made = new Map<string, string>();
  const note = (name: string, word: string) => {
    const before = made.get(name);
    if (before) throw new NetError(word, `${name} is also made by ${before}`);
    made.set(name, word);
  };
  for (const b of bonds) note(b.name, bondWord(b));
  for (const v of vlans) note(v.name, vlanWord(v));
  const enslaved = new Map<string, string>();
  for (const b of bonds)
    for (const s of b.slaves) {
      const word = bondWord(b);
      if (enslaved.has(s)) throw new NetError(word, `${s} is already a slave of ${enslaved.get(s)}`);
      if (made.has(s)) throw new NetError(word, `slave ${s} is itself made by ${made.get(s)}`);
      enslaved.set(s, b.name);
    }
  for (const v of vlans) {
    if (enslaved.has(v.phys))
      throw new NetError(vlanWord(v), `${v.phys} is a slave of ${enslaved.get(v.phys)}: tag the bond instead`);
    if (vlans.some((o) => o.name === v.phys)) throw new NetError(vlanWord(v), `${v.phys} is itself a VLAN`);
    if (vlans.some((o) => o !== v && o.phys === v.phys && o.id === v.id))
      throw new NetError(vlanWord(v), `VLAN ${v.id} on ${v.phys} is made twice`);
  }
  return { vlans, bonds };
}

export function vlanWord(v: VlanPlan): string {
  return `vlan=${v.name}:${v.phys}`;
}

export function bondWord(b: BondPlan): string {
  const opts = b.options.map(([k, v]) => `${k}=${v}`).join(',');
  return `bond=${b.name}:${b.slaves.join(',')}:${opts}${b.mtu !== undefined ? `:${b.mtu}` : ''}`;
}

/** The dracut words the kexec'd OS gets, so its initramfs makes the same links. */
export function linkWords(p: LinkPlan): string[] {
  return [...p.bonds.map(bondWord), ...p.vlans.map(vlanWord)];
}

/**
 * The interfaces DHCP (or ip=) runs on: each VLAN, and each bond no VLAN sits on. Slaves and a
 * VLAN's lower interface carry no address of their own.
 */
export function topInterfaces(p: LinkPlan): string[] {
  const lower = new Set(p.vlans.map((v) => v.phys));
  return [...p.bonds.map((b) => b.name).filter((n) => !lower.has(n)), ...p.vlans.map((v) => v.name)];
}
