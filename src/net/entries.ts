// Network entries (docs/net-bootfiles.md §5): from a lease to the menu. The boot file is
// fetched and classified; a kernel or UKI is one entry, an iPXE script one entry per menu path,
// a PXELINUX program (or options 209/210) the labels of the config the lookup finds, a GRUB image
// the entries of its network grub.cfg (grub-net.ts), a disk image the entries on it (netdisk.ts,
// docs/net-bootfiles.md §9). Files are
// FileRefs on the interface's NetFileSystem, fetched when a plan reads them.

import { diag, errorMessage, type Diagnostic } from '../discovery/diagnostics';
import { namedTarget, statusOf, type BootTarget, type SourceEntry, type TimeoutSetting } from '../discovery/model';
import type { TrustPolicy } from '../settings/schema';
import { classifyBootFile, diskImageByName, type BootFileKind } from './classify';
import { loadNetDisk, type ScannedNetDevice } from './netdisk';
import { isNvmeUrl, nvmeDisks, type NvmeMenuOptions } from './nvme/disk';
import { loadSignedSums, type SumsState, sumsUrlFor } from './entry-sums';
import type { TrustedKey } from './sums';
import { exploreIpxe, type IpxeOutcome, type IpxePath } from './ipxe';
import { NetFileSystem, type NetFsOptions, netFsId, pathToUrl } from './netfs';
import { targetRefs } from './verified';
import { netOrigin, netRef, netTitle } from './netentry';
import type { Smbios } from './facts';
import { findPxelinuxConfig, pxelinuxEntries, pxelinuxPlace } from './pxelinux';
import { itemLease, pxeMenuEntries } from './dhcp4/pxe-entries';
import { parsePe } from '../discovery/uki/pe';
import { type GrubImageFacts, grubImageFacts } from './grub-image';
import { grubNetEntries } from './grub-net';
import type { ProposedSettings } from '../discovery/sources/context';
import type { Fetch, FetchOptions, Lease } from './types';
import { type UrlPolicy, resolveUrl, urlBasename, urlHost } from './url';

export interface NetbootOptions {
  /** Largest kernel, initrd or UKI (default 1 GiB). */
  readonly maxFileBytes?: number;
  /** Largest boot file (default: maxFileBytes; it is kept and booted, so it is fetched whole). */
  readonly maxBootFileBytes?: number;
  readonly smbios?: Smbios;
  readonly policy?: UrlPolicy;
  readonly signal?: AbortSignal;
  /** Progress of every download through the interface's filesystem (kernels, initrds). */
  readonly onProgress?: FetchOptions['onProgress'];
  /** sha256 pins by URL, and whether a kernel or initrd without one is refused (NetFsOptions). */
  readonly pins?: Readonly<Record<string, string>>;
  readonly requireVerified?: boolean;
  /** Plan files (kernels, initrds, UKIs) into sealed memfds (NetFsOptions.download, docs/net-transfer.md §10). */
  readonly download?: NetFsOptions['download'];
  /** Signed SHA256SUMS (docs/net-transfer.md §9); absent: none are looked for. */
  readonly sums?: SumsOptions;
  /**
   * Look up GRUB network configs for any EFI boot file, not only one recognised as GRUB
   * (docs/net-bootfiles.md §6.1): for a GRUB image that classification misses.
   */
  readonly grubConfigs?: boolean;
  /**
   * NVMe/TCP targets a lease's boot file or an iPXE `sanboot` names (docs/net-nvme.md §4): how to
   * connect and scan them. Absent: such a URL is an error.
   */
  readonly nvme?: NvmeMenuOptions;
  /** Disk images a boot file names (docs/net-bootfiles.md §9): the size limit and the free memory. */
  readonly image?: {
    readonly maxBytes: number;
    readonly usableMemory?: () => number | undefined;
  };
}

export interface SumsOptions {
  /** net.sums: a URL or a name relative to the boot file's directory, or "none". */
  readonly setting: string;
  /** The owner's OpenSSH Ed25519 keys (trust.keys in the initramfs). */
  readonly keys: readonly TrustedKey[];
  /** trust.policy: with `off`, sums that do not verify are a warning instead of disabling the entries. */
  readonly policy: TrustPolicy;
}

export interface NetbootResult {
  readonly entries: SourceEntry[];
  readonly fs: NetFileSystem;
  readonly diagnostics: Diagnostic[];
  /** What the boot file was (absent when nothing could be fetched). */
  readonly bootFile?: { readonly url: string; readonly kind: BootFileKind };
  /** The entry the config names as its default. */
  readonly defaultId?: string;
  readonly timeout?: TimeoutSetting;
  /** PXELINUX `PROXY`. */
  readonly proxy?: string;
  /** The default and timeout as a source proposes them to discovery (sources/context.ts). */
  readonly settings?: ProposedSettings;
  /** What the signed SHA256SUMS next to the boot file said (absent: not looked for). */
  readonly sums?: SumsState;
  /** The network disks the boot file was or named (docs/net-bootfiles.md §9, docs/net-nvme.md): readers and devices. */
  readonly disks?: readonly ScannedNetDevice[];
}

/** Build the network entries of one lease. Never throws: every failure is a diagnostic naming the URL. */
export async function netbootEntries(lease: Lease, fetch: Fetch, opts: NetbootOptions = {}): Promise<NetbootResult> {
  const r = lease.pxeMenu ? await pxeMenu(lease, fetch, opts) : await leaseEntries(lease, fetch, opts);
  if (r.defaultId === undefined && r.timeout === undefined) return r;
  const from = `${netFsId(lease.iface)} ${r.entries[0]?.origin.file ?? lease.bootUrl ?? ''}`.trim();
  const settings: ProposedSettings = {
    kind: 'menu-config',
    ...(r.defaultId !== undefined ? { defaultId: r.defaultId } : {}),
    ...(r.timeout !== undefined ? { timeout: r.timeout } : {}),
    from,
  };
  return { ...r, settings };
}

async function leaseEntries(lease: Lease, fetch: Fetch, opts: NetbootOptions): Promise<NetbootResult> {
  const sums = opts.sums ? await sumsOf(lease, fetch, opts.sums, opts) : undefined;
  return sums && opts.sums
    ? judgeSums(await build(lease, fetch, opts, sums), sums, opts.sums.policy, lease)
    : build(lease, fetch, opts);
}

/**
 * A PXE boot menu (DHCPv4 option 43): each item's boot file is entries of its own; the chosen
 * item's build stands for the lease (its filesystem, boot file and sums). docs/net-dhcp.md §14.
 */
async function pxeMenu(lease: Lease, fetch: Fetch, opts: NetbootOptions): Promise<NetbootResult> {
  const m = await pxeMenuEntries(lease, (l) => netbootEntries(l, fetch, opts));
  const base = m.primary ?? (await leaseEntries(itemLease(lease, { type: 0, description: '' }), fetch, opts));
  const { settings: _settings, defaultId: _default, timeout: _timeout, ...rest } = base;
  return {
    ...rest,
    entries: m.entries,
    diagnostics: m.primary ? m.diagnostics : [...m.diagnostics, ...base.diagnostics],
    ...(m.defaultId !== undefined ? { defaultId: m.defaultId } : {}),
    ...(m.timeout ? { timeout: m.timeout } : {}),
  };
}

/** The sums next to the boot file (or the PXELINUX prefix when there is no boot file). */
async function sumsOf(lease: Lease, fetch: Fetch, s: SumsOptions, opts: NetbootOptions): Promise<SumsState> {
  // A lease that names no boot file has nothing for sums to vouch for (NVMe/TCP targets alone, say).
  if (lease.bootUrl === undefined && lease.pxeConfigFile === undefined && lease.pxePathPrefix === undefined)
    return { kind: 'none' };
  let url: string | undefined;
  try {
    const base = lease.bootUrl
      ? resolveUrl(lease.bootUrl, undefined, opts.policy)
      : pxelinuxPlace(lease, opts.policy).prefix;
    url = sumsUrlFor(s.setting, base);
  } catch {
    // No boot file URL to resolve against: build() reports why.
    return { kind: 'none' };
  }
  return url === undefined ? { kind: 'none' } : loadSignedSums(fetch, url, s.keys, opts.signal);
}

/**
 * Sums that did not verify disable every entry of this boot file, with the reason, unless
 * trust.policy is off (then a warning, and nothing is pinned by them). docs/net-transfer.md §9.
 */
function judgeSums(r: NetbootResult, sums: SumsState, policy: TrustPolicy, lease: Lease): NetbootResult {
  const at = { fsId: netFsId(lease.iface), device: lease.iface, ...(sums.url ? { file: sums.url } : {}) };
  if (sums.kind === 'none')
    return {
      ...r,
      sums,
      diagnostics: [...r.diagnostics, diag('info', 'net', `no signed sums${sums.url ? ` at ${sums.url}` : ''}`, at)],
    };
  if (sums.kind === 'verified') {
    const msg = `${sums.url}: signature by ${sums.signer} verified; ${sums.hashes.size} files listed`;
    return { ...r, sums, diagnostics: [...r.diagnostics, diag('info', 'net', msg, at)] };
  }
  if (policy === 'off') {
    const msg = `signed sums not used: ${sums.reason} (trust.policy = off)`;
    return { ...r, sums, diagnostics: [...r.diagnostics, diag('warning', 'net', msg, at)] };
  }
  const reason = `signed sums refused: ${sums.reason} (trust.policy = ${policy})`;
  const entries = r.entries.map((e) => ({
    ...e,
    status: statusOf(namedTarget(e.status), e.status.ok ? reason : `${reason}; ${e.status.reason}`),
  }));
  return { ...r, sums, entries, diagnostics: [...r.diagnostics, diag('error', 'net', reason, at)] };
}

async function build(lease: Lease, fetch: Fetch, opts: NetbootOptions, sums?: SumsState): Promise<NetbootResult> {
  const fsId = netFsId(lease.iface);
  const fs = new NetFileSystem(fsId, fetch, {
    ...(sums ? { sums } : {}),
    ...(opts.download ? { download: opts.download } : {}),
    maxBytes: opts.maxFileBytes ?? 1 << 30,
    ...(opts.policy ? { policy: opts.policy } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.pins ? { pins: opts.pins } : {}),
    ...(opts.requireVerified ? { requireVerified: true } : {}),
  });
  const diagnostics: Diagnostic[] = [];
  const err = (message: string, file?: string, line?: number) =>
    diagnostics.push(diag('error', 'net', message, { fsId, device: lease.iface, file, line }));
  try {
    // Options 209/210 are for PXELINUX alone: with either, the config lookup is what the server asks for.
    if (lease.pxeConfigFile || lease.pxePathPrefix) return { ...(await pxelinux(lease, fs, opts)), fs };
    if (!lease.bootUrl) {
      err(`the lease on ${lease.iface} names no boot file`);
      return { entries: [], fs, diagnostics };
    }
    // An NVMe/TCP target as the boot file: connected, not fetched (docs/net-nvme.md §4).
    if (isNvmeUrl(lease.bootUrl)) return { ...(await nvmePart(lease.bootUrl, opts)), fs };
    const url = resolveUrl(lease.bootUrl, undefined, opts.policy);
    // An image by its name is streamed into memory as it is, never fetched whole as a boot file.
    const byName = diskImageByName(url);
    if (byName) return { ...(await netDisk(lease, fs, url, opts)), fs, bootFile: { url, kind: byName } };
    const fetched = await fs.fetchUrl(url, opts.maxBootFileBytes ?? opts.maxFileBytes ?? 1 << 30);
    const kind = classifyBootFile(url, fetched.bytes);
    const bootFile = { url, kind };
    const host = urlHost(url);
    const one = (target: BootTarget, what: string): NetbootResult => ({
      entries: [
        {
          sourceId: `net:${fsId}:${url}`,
          title: netTitle('Net', `${what} ${urlBasename(url)}`, host),
          origin: netOrigin('net', lease.iface, url),
          status: statusOf(target, undefined),
          diagnostics: [],
        },
      ],
      fs,
      diagnostics,
      bootFile,
    });
    switch (kind.kind) {
      case 'bzimage':
        return one({ kind: 'linux', kernel: netRef(lease.iface, url), initrds: [], cmdline: '' }, 'Linux');
      case 'uki':
        return one({ kind: 'uki', image: netRef(lease.iface, url), profile: 0, addons: [] }, 'UKI');
      case 'efi': {
        const image = one({ kind: 'efi', image: netRef(lease.iface, url) }, `EFI (${kind.flavour})`);
        if (kind.flavour !== 'grub' && !opts.grubConfigs) return image;
        // A GRUB image: its network config, as the image would find it (docs/net-bootfiles.md §6).
        const g = await grubNet(lease, fs, url, fetched.bytes);
        if (g.entries.length > 0) return { ...g, fs, diagnostics: [...diagnostics, ...g.diagnostics], bootFile };
        return { ...image, diagnostics: [...diagnostics, ...g.diagnostics] };
      }
      case 'pxelinux':
        return { ...(await pxelinux(lease, fs, opts)), fs, bootFile };
      case 'ipxe-script':
        return { ...(await ipxe(lease, fs, url, fetched.bytes, opts)), fs, bootFile };
      case 'disk-image':
        return { ...(await netDisk(lease, fs, url, opts, fetched.bytes)), fs, bootFile };
      case 'unknown':
        err(`boot file ${url}: ${kind.reason}`, url);
        return { entries: [], fs, diagnostics, bootFile };
    }
  } catch (e) {
    err(errorMessage(e));
    return { entries: [], fs, diagnostics };
  }
}

type Part = Omit<NetbootResult, 'fs'>;

/** An NVMe/TCP target's namespaces; without net.nvme options (a caller that has none), an error. */
async function nvmePart(url: string, opts: NetbootOptions): Promise<Part> {
  if (!opts.nvme)
    return {
      entries: [],
      diagnostics: [diag('error', 'nvme-tcp', `${url}: NVMe/TCP is not available here`, { file: url })],
    };
  const d = await nvmeDisks([url], opts.nvme);
  return {
    entries: d.entries,
    diagnostics: d.diagnostics,
    ...(d.defaultId !== undefined ? { defaultId: d.defaultId } : {}),
    ...(d.disks.length ? { disks: d.disks } : {}),
  };
}

/** The boot file as a network disk; a failure is one diagnostic naming the URL and no entries. */
async function netDisk(
  lease: Lease,
  fs: NetFileSystem,
  url: string,
  opts: NetbootOptions,
  bytes?: Uint8Array,
): Promise<Part> {
  try {
    const d = await loadNetDisk(
      url,
      fs,
      {
        maxBytes: opts.image?.maxBytes ?? 8 * 2 ** 30,
        ...(opts.image?.usableMemory ? { usableMemory: opts.image.usableMemory } : {}),
        ...(opts.download ? { download: opts.download } : {}),
        ...(opts.requireVerified ? { requireVerified: true } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      },
      bytes,
    );
    return {
      entries: d.entries,
      diagnostics: d.diagnostics,
      ...(d.defaultId !== undefined ? { defaultId: d.defaultId } : {}),
      disks: [d],
    };
  } catch (e) {
    const where = { fsId: fs.fsId, device: lease.iface, file: url };
    const msg = errorMessage(e);
    return {
      entries: [],
      diagnostics: [diag('error', 'netdisk', `disk image ${msg.startsWith(url) ? msg : `${url}: ${msg}`}`, where)],
    };
  }
}

async function grubNet(lease: Lease, fs: NetFileSystem, url: string, bytes: Uint8Array): Promise<Part> {
  let facts: GrubImageFacts | undefined;
  try {
    facts = grubImageFacts(parsePe(bytes, url), bytes);
  } catch {
    // classify.ts already parsed it; an image without a readable `mods` has no prefix to read.
  }
  const r = await grubNetEntries(lease, fs, url, facts);
  return {
    entries: r.entries,
    diagnostics: r.diagnostics,
    ...(r.defaultId !== undefined ? { defaultId: r.defaultId } : {}),
    ...(r.timeout ? { timeout: r.timeout } : {}),
  };
}

async function pxelinux(lease: Lease, fs: NetFileSystem, opts: NetbootOptions): Promise<Part> {
  const place = pxelinuxPlace(lease, opts.policy);
  const o = {
    ...(opts.smbios?.uuid ? { uuid: opts.smbios.uuid } : {}),
    ...(opts.policy ? { policy: opts.policy } : {}),
  };
  const found = await findPxelinuxConfig(place, lease, fs, o);
  const r = await pxelinuxEntries(found, place, lease, fs, o);
  // PROXY: the files this config names go through that proxy (docs/net-bootfiles.md §3.5).
  if (r.proxy !== undefined)
    for (const e of r.entries) for (const ref of targetRefs(e.status)) fs.routeThrough(pathToUrl(ref.path), r.proxy);
  const info = diag('info', 'pxelinux', `config ${found.url} (tried ${found.tried.length})`, {
    fsId: fs.fsId,
    device: lease.iface,
    file: found.url,
  });
  return { ...r, diagnostics: [info, ...r.diagnostics] };
}

async function ipxe(
  lease: Lease,
  fs: NetFileSystem,
  url: string,
  bytes: Uint8Array,
  opts: NetbootOptions,
): Promise<Part> {
  const x = await exploreIpxe(url, bytes, {
    builtins: { lease, ...(opts.smbios ? { smbios: opts.smbios } : {}), scriptUrl: url },
    fetchFile: async (u) => (await fs.fetchUrl(u)).bytes,
    ...(opts.policy ? { policy: opts.policy } : {}),
  });
  const diagnostics: Diagnostic[] = [];
  const entries: SourceEntry[] = [];
  let defaultId: string | undefined;
  const host = urlHost(url);
  // `sanboot URL`: the image's own entries, once per URL (docs/net-bootfiles.md §9.6).
  const disks: ScannedNetDevice[] = [];
  const sanbooted = new Set<string>();
  for (const p of x.paths) {
    if (p.outcome.kind === 'sanboot') {
      const image = p.outcome.image.url;
      if (sanbooted.has(image)) continue;
      sanbooted.add(image);
      const d = isNvmeUrl(image) ? await nvmePart(image, opts) : await netDisk(lease, fs, image, opts);
      entries.push(...d.entries);
      diagnostics.push(...d.diagnostics);
      disks.push(...(d.disks ?? []));
      if (p.isDefault && defaultId === undefined && d.defaultId !== undefined) defaultId = d.defaultId;
      continue;
    }
    const e = ipxeEntry(lease, url, host, p, diagnostics);
    if (!e) continue;
    entries.push(e);
    if (p.isDefault && p.choices.length > 0 && defaultId === undefined) defaultId = e.sourceId;
  }
  if (x.truncated)
    diagnostics.push(
      diag('warning', 'ipxe', `menus have more than ${x.paths.length} paths; the rest are not listed`, { file: url }),
    );
  return {
    entries,
    diagnostics,
    ...(defaultId ? { defaultId } : {}),
    ...(disks.length ? { disks } : {}),
    ...(x.timeoutMs !== undefined
      ? { timeout: { kind: 'seconds', seconds: Math.ceil(x.timeoutMs / 1000) } as const }
      : {}),
  };
}

/** One path of a script as an entry, or undefined for a path that boots nothing (exit, a loop). */
function ipxeEntry(lease: Lease, url: string, host: string, p: IpxePath, ds: Diagnostic[]): SourceEntry | undefined {
  const o: IpxeOutcome = p.outcome;
  const fsId = netFsId(lease.iface);
  const notes = p.notes.map((n) => diag('info', 'ipxe', n.message, { fsId, file: n.at.url, line: n.at.line }));
  const label = p.texts.length ? p.texts.join(' > ') : urlBasename(url);
  const where = o.kind === 'error' ? { url: o.error.url, line: o.error.line } : o.at;
  const id = `ipxe:${fsId}:${url}${p.choices.length ? ':' + p.choices.join('>') : ''}`;
  const entry = (target: BootTarget | undefined, reason?: string): SourceEntry => {
    const d = reason ? [diag('error', 'ipxe', reason, { fsId, file: where.url, line: where.line })] : [];
    return {
      sourceId: id,
      title: netTitle('iPXE', label, host),
      origin: netOrigin('ipxe', lease.iface, where.url, where.line),
      status: statusOf(target, reason),
      diagnostics: [...notes, ...d],
    };
  };
  const ref = (u: string) => netRef(lease.iface, u);
  try {
    switch (o.kind) {
      case 'linux': {
        // iPXE wraps an initrd that has arguments in a cpio header naming that path; tendril does not (yet).
        const wrapped = o.initrds.find((i) => i.args !== '');
        if (wrapped)
          return entry(
            undefined,
            `${o.at.url}:${o.at.line}: initrd ${wrapped.url} names a destination (${wrapped.args}): iPXE's cpio wrapping is not supported`,
          );
        return entry({
          kind: 'linux',
          kernel: ref(o.kernel.url),
          initrds: o.initrds.map((i) => ref(i.url)),
          cmdline: o.kernel.args,
        });
      }
      case 'uki':
        return entry({
          kind: 'uki',
          image: ref(o.image.url),
          profile: 0,
          addons: [],
          ...(o.image.args ? { cmdlineOverride: o.image.args } : {}),
        });
      case 'efi':
        return entry({ kind: 'efi', image: ref(o.image.url), ...(o.image.args ? { options: o.image.args } : {}) });
      case 'refused':
        return entry(undefined, o.reason);
      case 'sanboot':
        return undefined; // ipxe() scans the image instead
      case 'error':
        return entry(undefined, o.error.message);
      case 'exit':
      case 'end':
      case 'menu':
        ds.push(
          diag(
            'info',
            'ipxe',
            `${label}: ${p.loop ? 'leads back to a menu already shown' : o.kind === 'exit' ? 'exit: back to the menu' : 'the script ends without booting'}; no entry`,
            {
              fsId,
              file: where.url,
              line: where.line,
            },
          ),
        );
        return undefined;
    }
  } catch (e) {
    // A URL no file path can stand for disables this path's entry, not the others.
    return entry(undefined, errorMessage(e));
  }
}
