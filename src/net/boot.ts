// The boot stage of network boot: from the leases to a menu. Each lease's boot file becomes
// entries (entries.ts) on that interface's NetFileSystem; the entries of all leases go through
// the same finalizeEntries as disk entries (ids, titles, the default a config names), and plans
// read their kernels through the same FsLookup, so kexec, the dry run and the menu treat a
// network entry like a disk one. Nothing is downloaded here but configs and the boot file;
// kernels and initrds are fetched when a plan reads them.

import * as fs from 'node:fs';
import {
  isBootable,
  type BootTarget,
  type FsId,
  type MenuEntry,
  type MenuSettings,
  type SourceEntry,
} from '../discovery/model';
import type { ProposedSettings } from '../discovery/sources/context';
import { finalizeEntries } from '../discovery/entries/select';
import type { FileSystem } from '../discovery/fs/types';
import type { NetSettings, TrustSettings } from '../settings/schema';
import { loadTrustStore } from '../trust/keys';
import { acquireLeases } from './acquire';
import { clockMode, ntpServers, syncClock, type ClockReport } from './clock';
import { netbootEntries, type NetbootOptions, type SumsOptions } from './entries';
import { readSmbios } from './facts';
import { createFetch, downloadToMemfd, type FetchConfig, usableMemory } from './fetch';
import { parseIpArg, type IpPlan } from './manual';
import { nvmeDisks, type NvmeMenuOptions } from './nvme/disk';
import { nvmeHost } from './nvme/target';
import { optional } from '../util/optional';
import { makeLinks } from './virtual-links';
import { linkPlan, linkWords, topInterfaces, type LinkPlan } from './vlan-bond';
import { NetError, type Fetch, type FetchOptions, type Identity, type Lease } from './types';
import type { NetMenu } from './net-menu';

export type { NetMenu } from './net-menu';

/** Every lease's entries, finalized together. Never throws: failures are diagnostics naming the URL. */
export async function netMenu(leases: readonly Lease[], fetch: Fetch, opts: NetbootOptions = {}): Promise<NetMenu> {
  const results = await Promise.all(leases.map((l) => netbootEntries(l, fetch, opts)));
  const entries: SourceEntry[] = results.flatMap((r) => r.entries);
  const proposals: ProposedSettings[] = results.flatMap((r) => (r.settings ? [r.settings] : []));
  const fin = finalizeEntries(entries, proposals);
  const byId = new Map<FsId, FileSystem>(results.map((r) => [r.fs.fsId, r.fs]));
  const disks = results.flatMap((r) => r.disks ?? []);
  return {
    entries: fin.entries,
    settings: fin.settings,
    diagnostics: [...results.flatMap((r) => r.diagnostics), ...fin.diagnostics],
    fs: (id) => byId.get(id) ?? disks.map((d) => d.fs(id)).find((f) => f !== undefined),
    ...(disks.length ? { devices: disks.map((d) => d.device) } : {}),
    sources: leases.map((lease, i) => ({
      lease,
      ...(results[i]!.bootFile ? { bootFile: results[i]!.bootFile } : {}),
      ...(results[i]!.sums ? { sums: results[i]!.sums } : {}),
    })),
  };
}

/** NVMe/TCP targets' namespaces as a menu of their own (docs/net-nvme.md §3). Never throws. */
export async function nvmeMenu(urls: readonly string[], o: NvmeMenuOptions): Promise<NetMenu> {
  const d = await nvmeDisks(urls, o);
  const proposals: ProposedSettings[] =
    d.defaultId !== undefined
      ? [{ kind: 'menu-config', defaultId: d.defaultId, from: d.disks[0]?.name ?? 'nvme-tcp' }]
      : [];
  const fin = finalizeEntries(d.entries, proposals);
  return {
    entries: fin.entries,
    settings: fin.settings,
    diagnostics: [...d.diagnostics, ...fin.diagnostics],
    fs: (id) => d.disks.map((x) => x.fs(id)).find((f) => f !== undefined),
    devices: d.disks.map((x) => x.device),
    sources: [],
  };
}

/**
 * Several lease stages' menus as one (the first run's and those of NICs plugged in later, in
 * that order). The default is the first menu's bootable one; an id already taken gets
 * `@<fsId>`, the rule finalizeEntries uses for disks.
 */
export function combineNetMenus(menus: readonly NetMenu[]): NetMenu | undefined {
  if (menus.length <= 1) return menus[0];
  const bootableDefault = (m: NetMenu): boolean =>
    m.entries.some((e) => e.id === m.settings.defaultId && isBootable(e));
  const lead = menus.find(bootableDefault) ?? menus[0]!;
  const used = new Set<string>();
  const entries: MenuEntry[] = [];
  let defaultId: string | undefined;
  for (const m of menus)
    for (const e of m.entries) {
      let id = e.id;
      if (used.has(id)) {
        id = `${e.id}@${e.origin.fsId}`;
        for (let n = 2; used.has(id); n++) id = `${e.id}@${e.origin.fsId}#${n}`;
      }
      used.add(id);
      if (defaultId === undefined && m === lead && e.id === lead.settings.defaultId) defaultId = id;
      entries.push({ ...e, id, index: entries.length, default: false });
    }
  return {
    entries: entries.map((e) => ({ ...e, default: e.id === defaultId })),
    settings: { ...lead.settings, ...(defaultId !== undefined ? { defaultId } : {}) },
    diagnostics: menus.flatMap((m) => m.diagnostics),
    fs: (id) => menus.map((m) => m.fs(id)).find((f) => f !== undefined),
    devices: menus.flatMap((m) => m.devices ?? []),
    sources: menus.flatMap((m) => m.sources),
  };
}

const hasBootFile = (l: Lease): boolean =>
  l.bootUrl !== undefined || l.pxeConfigFile !== undefined || l.pxePathPrefix !== undefined || l.pxeMenu !== undefined;

/**
 * The leases whose boot files become entries. A NIC with an IPv4 and an IPv6 lease
 * (docs/net-dhcp.md §11) gets entries from each lease that names a boot file, once per distinct
 * boot URL (the first lease's, IPv4 before IPv6, wins). A NIC whose leases name none keeps its
 * first, for the diagnostic that says so.
 */
export function bootLeases(leases: readonly Lease[]): Lease[] {
  const out: Lease[] = [];
  for (const iface of [...new Set(leases.map((l) => l.iface))]) {
    const mine = leases.filter((l) => l.iface === iface).sort((a, b) => a.family - b.family);
    const named = mine.filter(hasBootFile);
    if (named.length === 0) {
      out.push(mine[0]!);
      continue;
    }
    const seen = new Set<string>();
    for (const l of named) {
      const key = `${l.bootUrl ?? ''} ${l.pxeConfigFile ?? ''} ${l.pxePathPrefix ?? ''}`;
      if (!seen.has(key)) out.push(l);
      seen.add(key);
    }
  }
  return out;
}

/** Set by /init: the resolv.conf tendril writes the lease's DNS servers to. */
export const RESOLV_CONF_ENV = 'TENDRIL_RESOLV_CONF';

/** Set by /init: created once the NIC drivers are loaded (initramfs/init.sh). */
export const NET_MODULES_ENV = 'TENDRIL_NET_MODULES';

/** Waits (at most `limitMs`) for /init's NIC drivers, so the first NIC list is the whole one. */
export async function netModulesLoaded(
  env: NodeJS.ProcessEnv = process.env,
  limitMs = 15_000,
): Promise<string | undefined> {
  const file = env[NET_MODULES_ENV];
  if (!file) return undefined;
  const until = performance.now() + limitMs;
  while (!fs.existsSync(file)) {
    if (performance.now() >= until)
      return `${file} did not appear within ${limitMs / 1000} s: using the NICs there are`;
    await new Promise((r) => setTimeout(r, 50));
  }
  return undefined;
}

export interface NetworkChoices {
  /** Command-line choices over the settings' (absent: the settings decide). */
  readonly ifaces?: readonly string[];
  readonly identity?: Identity;
  readonly family?: NetSettings['family'];
  readonly timeoutMs?: number;
  readonly ips?: readonly IpPlan[];
  readonly nameservers?: readonly string[];
  readonly resolvConf?: string;
  /** Stop after the lease stage. */
  readonly leasesOnly?: boolean;
  /** Lease and transfer details (each DHCP message, redirects, retries). */
  readonly verbose?: (line: string) => void;
  readonly onProgress?: FetchOptions['onProgress'];
  /** The clock's line, as soon as SNTP is done (before the first fetch). */
  readonly onClock?: (r: ClockReport) => void;
  /**
   * The owner's keys and policy ([trust]): signed SHA256SUMS next to a boot file are checked
   * with the OpenSSH keys in trust.keys (docs/net-transfer.md §9). Absent: sums are not looked for.
   */
  readonly trust?: TrustSettings;
}

export interface NetworkRun {
  readonly leases: Lease[];
  /** One per interface without a lease, or one for the whole network when it is off or misconfigured. */
  readonly errors: NetError[];
  /** The entries of the leases' boot files (absent with leasesOnly or without a lease). */
  readonly menu?: NetMenu;
  /** What SNTP found and did before the first fetch (absent without a lease). */
  readonly clock?: ClockReport;
}

/**
 * Network boot up to the menu, as the settings say (README "Settings", [net]): leases on the
 * NICs (or the manual ip=), then their entries. `net.mode = off` stops it unless the caller
 * named interfaces or an ip= itself.
 */
export async function runNetwork(net: NetSettings, c: NetworkChoices = {}): Promise<NetworkRun> {
  let ifaces = c.ifaces ?? [];
  let ips = [...(c.ips ?? [])];
  if (net.mode.kind === 'off' && !ifaces.length && !ips.length)
    return { leases: [], errors: [new NetError('network', 'network boot is off (net.mode / tendril.net=off)', true)] };
  if (!ips.length && net.mode.kind === 'ip') {
    try {
      ips = [parseIpArg(net.mode.spec)];
    } catch (e) {
      return { leases: [], errors: [e instanceof NetError ? e : new NetError('net.mode', String(e), true)] };
    }
  }
  // Under /init tendril owns /etc: the first lease's DNS servers go to its resolv.conf, so
  // names in boot URLs resolve (node asks the C library, which reads that file).
  const resolvConf = c.resolvConf ?? process.env[RESOLV_CONF_ENV];
  const late = await netModulesLoaded();
  if (late) c.verbose?.(late);
  let links: LinkPlan;
  try {
    links = linkPlan(net.vlan, net.bond);
    // The NICs below are named by the plan: wait for them (drivers still probing) up to the lease deadline.
    await makeLinks(links, { appearMs: c.timeoutMs ?? net.timeout * 1000, ...(c.verbose ? { log: c.verbose } : {}) });
  } catch (e) {
    return { leases: [], errors: [e instanceof NetError ? e : new NetError('net.vlan/net.bond', String(e), true)] };
  }
  // With VLANs or bonds, DHCP runs on them (and on interfaces an ip= names), not on the NICs below.
  const tops = topInterfaces(links);
  if (!ifaces.length && tops.length)
    ifaces = [...new Set([...tops, ...ips.flatMap((p) => (p.iface !== undefined ? [p.iface] : []))])];
  const { leases, errors } = await acquireLeases({
    ifaces,
    identity: c.identity ?? net.identity,
    family: c.family ?? net.family,
    timeoutMs: c.timeoutMs ?? net.timeout * 1000,
    plan: { ips, nameservers: c.nameservers ?? [] },
    ...(resolvConf !== undefined ? { resolvConf } : {}),
    ...(c.verbose ? { log: c.verbose } : {}),
  });
  if (leases.length === 0) return { leases, errors };
  // Before any TLS: a certificate's validity is a date range (docs/net-dhcp.md §12).
  const clock = await syncClock({
    mode: clockMode(net.clock),
    servers: ntpServers(net.ntp, leases),
  });
  c.onClock?.(clock);
  if (c.leasesOnly) return { leases, errors, clock };
  const cfg: FetchConfig = {
    http: {
      ca: net.ca.kind === 'system' ? 'system' : net.ca.path,
      ...(net.proxy !== undefined ? { proxy: net.proxy } : {}),
      ...(net.noProxy !== undefined ? { noProxy: net.noProxy } : {}),
    },
    ...(c.verbose ? { onInfo: c.verbose } : {}),
  };
  const fetch = createFetch(cfg);
  const smbios = readSmbios();
  // NVMe/TCP namespaces (docs/net-nvme.md) connect while the boot files are read.
  const nvmeOptions: NvmeMenuOptions = {
    ...optional('host', nvmeHost(net.nvmeHostnqn, smbios.uuid)),
    connectMs: (c.timeoutMs ?? net.timeout * 1000) / 2,
    ...(net.nvmeWritable ? { writable: true } : {}),
    ...optional('originUrl', net.origin),
    ...(c.verbose ? { log: c.verbose } : {}),
  };
  const nvme = net.nvme.length ? nvmeMenu(net.nvme, nvmeOptions) : undefined;
  const leaseMenu = await netMenu(bootLeases(leases), fetch, {
    smbios,
    pins: net.pins,
    requireVerified: net.requireVerified,
    // Kernels, initrds and UKIs stream into sealed memfds that kexec loads as they are (docs/net-transfer.md §10).
    download: (url, o) => downloadToMemfd(url, o, cfg),
    // NVMe/TCP targets a boot file or sanboot names (docs/net-nvme.md §4).
    nvme: nvmeOptions,
    // Disk images the boot file names (docs/net-bootfiles.md §9).
    image: { maxBytes: net.maxImageMiB * 2 ** 20, usableMemory: () => usableMemory(cfg) },
    ...(c.trust ? { sums: sumsOptions(net, c.trust, c.verbose) } : {}),
    ...(c.onProgress ? { onProgress: c.onProgress } : {}),
  });
  const menu = nvme ? (combineNetMenus([leaseMenu, await nvme]) ?? leaseMenu) : leaseMenu;
  return { leases, errors, menu: withLinkWords(menu, linkWords(links)), clock };
}

/**
 * The vlan=/bond= words tendril used go on each network Linux entry's command line, so the
 * kexec'd OS's initramfs makes the same links; an entry that has its own keeps them.
 * docs/net-dhcp.md §13.
 */
export function withLinkWords(menu: NetMenu, words: readonly string[]): NetMenu {
  if (words.length === 0) return menu;
  const add = (t: BootTarget): BootTarget => {
    if (t.kind !== 'linux' || /(^|\s)(vlan|bond)=/.test(t.cmdline)) return t;
    return { ...t, cmdline: [t.cmdline, ...words].filter(Boolean).join(' ') };
  };
  return {
    ...menu,
    entries: menu.entries.map((e) => (e.status.ok ? { ...e, status: { ok: true, target: add(e.status.target) } } : e)),
  };
}

/** The sums setting with the owner's SSH keys, read from the initramfs (trust.keys) once per run. */
function sumsOptions(net: NetSettings, trust: TrustSettings, log?: (line: string) => void): SumsOptions {
  const store = loadTrustStore(null, trust.keys);
  for (const p of store.problems) log?.(`trust: key file skipped: ${p}`);
  return { setting: net.sums, keys: store.ssh, policy: trust.policy };
}

/**
 * The menu with the network's entries after the disks' (disk entries keep their places). The
 * default stays the disks' when it can boot, so a slow or dead server never changes or delays
 * a local boot; otherwise it is the network's.
 */
export function withNetwork(
  disk: readonly MenuEntry[],
  diskSettings: MenuSettings | undefined,
  net: NetMenu | undefined,
): { entries: MenuEntry[]; settings: MenuSettings | undefined } {
  if (!net || net.entries.length === 0) return { entries: [...disk], settings: diskSettings };
  const taken = new Set(disk.map((e) => e.id));
  const added = net.entries.filter((e) => !taken.has(e.id));
  const diskDefault = disk.find((e) => e.id === diskSettings?.defaultId && isBootable(e));
  const netDefault = net.entries.find((e) => e.id === net.settings.defaultId && isBootable(e));
  const defaultId = diskDefault?.id ?? netDefault?.id ?? diskSettings?.defaultId;
  const entries = [...disk, ...added].map((e, index) => ({ ...e, index, default: e.id === defaultId }));
  const base = diskSettings ?? net.settings;
  const settings: MenuSettings = diskDefault
    ? base
    : {
        ...base,
        ...(defaultId !== undefined ? { defaultId } : {}),
        defaultReason: netDefault
          ? `no bootable disk default; network: ${net.settings.defaultReason}`
          : base.defaultReason,
      };
  return { entries, settings };
}
