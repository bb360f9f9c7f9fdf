// PXELINUX over the network (docs/net-bootfiles.md §3): where the config is (options 209/210,
// then pxelinux.cfg/ UUID, 01-MAC, hex IP prefixes, default), how its names become URLs, and
// its labels as entries. The config itself is read by the syslinux parser.

import { diag, errorMessage, type Diagnostic } from '../discovery/diagnostics';
import { statusOf, type BootTarget, type FileRef, type SourceEntry, type TimeoutSetting } from '../discovery/model';
import { EXPLICIT_TYPES, NON_LINUX_EXT, takeInitrdArg } from '../discovery/sources/syslinux';
import { parseSyslinux, type Label, type ParsedConfig, type ReadResult } from '../discovery/sources/syslinux/parser';
import { ipv4Bytes, prefixToNetmask } from './facts';
import type { NetFileSystem } from './netfs';
import { netOrigin, netRef, netTitle } from './netentry';
import { type Lease, NetError } from './types';
import { type UrlPolicy, dirUrl, resolveUrl, schemeOf, urlHost } from './url';

const SOURCE = 'pxelinux';
/** Largest pxelinux config file (and each INCLUDEd one). */
export const MAX_PXE_CONFIG_BYTES = 1 << 20;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * The file names tried under `pxelinux.cfg/`, in order: UUID, `01-<mac>`, the hex IPv4 address
 * and its prefixes down to one digit, `default` (docs/net-bootfiles.md §3.2).
 */
export function pxelinuxCandidates(lease: Pick<Lease, 'mac' | 'address' | 'family'>, uuid?: string): string[] {
  const out: string[] = [];
  const u = uuid?.toLowerCase();
  // All-zero and all-ones UUIDs are "not set" in SMBIOS: a file named for them would match every machine.
  if (u && UUID_RE.test(u) && !/^[0-]+$/.test(u) && !/^[f-]+$/.test(u)) out.push(u);
  const mac = lease.mac.toLowerCase();
  if (MAC_RE.test(mac)) out.push(`01-${mac.replace(/:/g, '-')}`);
  const ip = lease.family === 4 ? ipv4Bytes(lease.address) : undefined;
  if (ip) {
    const hex = ip.map((n) => n.toString(16).toUpperCase().padStart(2, '0')).join('');
    for (let n = 8; n >= 1; n--) out.push(hex.slice(0, n));
  }
  out.push('default');
  return out;
}

/** Where names resolve: the path prefix as an absolute URL string (names are appended to it). */
export interface PxePlace {
  readonly prefix: string;
  /** Option 209 resolved, when the server named the config file. */
  readonly configUrl?: string;
}

/** The TFTP server of a lease: the host of its boot URL, else its DHCP server. */
function serverOf(lease: Lease): string | undefined {
  if (lease.bootUrl) {
    try {
      return new URL(lease.bootUrl).host;
    } catch {
      /* fall through */
    }
  }
  return lease.server && (lease.server.includes(':') ? `[${lease.server}]` : lease.server);
}

/** The prefix (option 210, else the boot file's directory) and option 209. Throws NetError. */
export function pxelinuxPlace(lease: Lease, policy: UrlPolicy = {}): PxePlace {
  const server = serverOf(lease);
  let prefix: string;
  const p210 = lease.pxePathPrefix;
  if (p210 !== undefined && p210 !== '') {
    if (schemeOf(p210)) prefix = p210;
    else if (server) prefix = `tftp://${server}${p210.startsWith('/') ? '' : '/'}${p210}`;
    else
      throw new NetError(
        'option 210',
        `path prefix ${JSON.stringify(p210)} is not a URL and the lease names no server`,
        true,
      );
    resolveUrl(prefix, undefined, policy);
  } else if (lease.bootUrl) {
    prefix = dirUrl(resolveUrl(lease.bootUrl, undefined, policy));
  } else if (server) {
    prefix = `tftp://${server}/`;
  } else {
    throw new NetError(
      lease.iface,
      'the lease names no boot file, path prefix or server: nowhere to look for pxelinux.cfg',
      true,
    );
  }
  const p209 = lease.pxeConfigFile;
  const configUrl = p209 !== undefined && p209 !== '' ? resolvePxeName(p209, prefix, policy) : undefined;
  return configUrl ? { prefix, configUrl } : { prefix };
}

/**
 * A file name in a pxelinux config as a URL: a URL with a scheme as is; `host::path` and `::path`
 * (the boot server's root) over TFTP; `/path` from the prefix's server root; anything else is
 * appended to the prefix (PXELINUX concatenates it). Throws NetError.
 */
export function resolvePxeName(name: string, prefix: string, policy: UrlPolicy = {}): string {
  const hostPath = /^([^/:]*)::(.*)$/s.exec(name);
  if (!hostPath && schemeOf(name)) return resolveUrl(name, prefix, policy);
  if (hostPath) {
    const host = hostPath[1] || new URL(prefix).host;
    const path = hostPath[2]!.replace(/^\/*/, '/');
    return resolveUrl(`tftp://${host}${path}`, prefix, policy);
  }
  if (name.startsWith('/')) return resolveUrl(name, prefix, policy);
  return resolveUrl(prefix + name, prefix, policy);
}

export interface FoundConfig {
  readonly url: string;
  readonly text: string;
  /** Every URL tried, in order, the found one last. */
  readonly tried: readonly string[];
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function decodeConfig(url: string, bytes: Uint8Array): string {
  try {
    return decoder.decode(bytes);
  } catch {
    throw new NetError(url, 'the config is not valid UTF-8', true);
  }
}

/**
 * Look the config up: option 209 alone when given, else the candidates in order. A file the
 * server says is not there moves on; any other failure stops the lookup with that error.
 */
export async function findPxelinuxConfig(
  place: PxePlace,
  lease: Lease,
  fs: NetFileSystem,
  opts: { readonly uuid?: string; readonly policy?: UrlPolicy } = {},
): Promise<FoundConfig> {
  const urls = place.configUrl
    ? [place.configUrl]
    : pxelinuxCandidates(lease, opts.uuid).map((n) => resolvePxeName(`pxelinux.cfg/${n}`, place.prefix, opts.policy));
  const tried: string[] = [];
  for (const url of urls) {
    tried.push(url);
    try {
      const f = await fs.fetchUrl(url, MAX_PXE_CONFIG_BYTES);
      return { url, text: decodeConfig(url, f.bytes), tried };
    } catch (e) {
      if (e instanceof NetError && e.notFound) continue;
      throw e;
    }
  }
  throw new NetError(
    place.configUrl ?? `${place.prefix}pxelinux.cfg/`,
    `no pxelinux config found (tried ${tried.join(', ')})`,
    true,
    true,
  );
}

export interface PxeResult {
  readonly entries: SourceEntry[];
  readonly diagnostics: Diagnostic[];
  readonly defaultId?: string;
  readonly timeout?: TimeoutSetting;
  /** PXELINUX `PROXY`, for the fetches of the files it names. */
  readonly proxy?: string;
}

/** The `ip=` and `BOOTIF=` words IPAPPEND/SYSAPPEND bits ask for (docs/net-bootfiles.md §3.4). */
export function ipappendWords(bits: number, lease: Lease, server: string | undefined, uuid?: string): string[] {
  const out: string[] = [];
  if (bits & 1 && lease.family === 4) {
    const mask = prefixToNetmask(lease.prefixLength);
    out.push(`ip=${lease.address}:${server ?? lease.server ?? ''}:${lease.router ?? '0.0.0.0'}:${mask}`);
  }
  if (bits & 2) out.push(`BOOTIF=01-${lease.mac.toLowerCase().replace(/:/g, '-')}`);
  if (bits & 4 && uuid) out.push(`SYSUUID=${uuid.toLowerCase()}`);
  return out;
}

/** Parse the found config (INCLUDE and MENU INCLUDE fetched under the prefix) and make its entries. */
export async function pxelinuxEntries(
  found: FoundConfig,
  place: PxePlace,
  lease: Lease,
  fs: NetFileSystem,
  opts: { readonly uuid?: string; readonly policy?: UrlPolicy } = {},
): Promise<PxeResult> {
  // The parser works on paths: they are the paths of the prefix's server, its working directory
  // the prefix's directory, so relative, '/abs' and '../x' names resolve as URLs do. The main
  // file is named by a sentinel; '::' names keep their PXELINUX meaning.
  const pu = new URL(place.prefix);
  // Not URL.origin: that is "null" for tftp (not a WHATWG special scheme).
  const origin = `${pu.protocol}//${pu.host}`;
  const cwd = new URL(dirUrl(place.prefix)).pathname;
  const urlOf = new Map<string, string>();
  const MAIN = '/\0main';
  urlOf.set(MAIN, found.url);
  const toUrl = (p: string): string => {
    const colons = p.indexOf('::');
    if (colons >= 0) return resolvePxeName(p.slice(p.lastIndexOf('/', colons) + 1), place.prefix, opts.policy);
    return resolveUrl(origin + p, place.prefix, opts.policy);
  };
  const reader = async (p: string): Promise<ReadResult> => {
    if (p === MAIN) return { text: found.text };
    let url: string;
    try {
      url = toUrl(p);
      urlOf.set(p, url);
    } catch (e) {
      return { error: errorMessage(e), missing: false };
    }
    try {
      return { text: decodeConfig(url, (await fs.fetchUrl(url, MAX_PXE_CONFIG_BYTES)).bytes) };
    } catch (e) {
      return { error: errorMessage(e), missing: e instanceof NetError && e.notFound };
    }
  };
  const cfg = await parseSyslinux(MAIN, reader, SOURCE, decodeURIComponentSafe(cwd));
  const fileUrl = (f: string | undefined) => (f === undefined ? undefined : (urlOf.get(f) ?? `${origin}${f}`));
  const fsId = `net:${lease.iface}`;
  const relocate = (d: Diagnostic): Diagnostic =>
    diag(d.severity, d.source, d.message, { fsId, file: fileUrl(d.file), line: d.line });
  const diagnostics: Diagnostic[] = cfg.diagnostics.map(relocate);
  const host = urlHost(found.url);
  const server = ipv4Bytes(urlHost(place.prefix)) ? urlHost(place.prefix) : lease.server;
  const labels = withDefaultLabel(cfg, diagnostics, fileUrl);
  const entries: SourceEntry[] = [];
  const byName = new Map<string, SourceEntry>();
  const ids = new Map<string, number>();
  for (const l of labels) {
    if (l.navigation) continue;
    const file = fileUrl(l.file)!;
    const ds: Diagnostic[] = [];
    let target: BootTarget | undefined;
    let reason: string | undefined;
    try {
      target = labelTarget(cfg, l, lease, place, server, opts, (d) => ds.push(relocate(d)));
    } catch (e) {
      reason = `label ${l.name}: ${errorMessage(e)}`;
      ds.push(
        diag('error', SOURCE, reason, {
          fsId: `net:${lease.iface}`,
          file: fileUrl(l.kernel?.file ?? l.file),
          line: l.kernel?.line ?? l.line,
        }),
      );
    }
    const base = `pxelinux:net:${lease.iface}:${found.url}:${l.name}`;
    const n = (ids.get(base) ?? 0) + 1;
    ids.set(base, n);
    const e: SourceEntry = {
      sourceId: n > 1 ? `${base}#${n}` : base,
      title: netTitle('PXE', l.menuLabel?.trim() || l.name, host),
      origin: netOrigin('pxelinux', lease.iface, file, l.line),
      status: statusOf(target, reason),
      ...(l.hidden ? { hidden: true } : {}),
      ...(l.group ? { group: l.group } : {}),
      diagnostics: ds,
    };
    entries.push(e);
    if (!byName.has(l.name)) byName.set(l.name, e);
  }
  const find = (name: string) =>
    labels.find((l) => l.name === name) ?? labels.find((l) => l.name.toLowerCase() === name.toLowerCase());
  const chosen =
    (cfg.ontimeout && find(cfg.ontimeout.value.split(/\s+/)[0] ?? '')) ||
    labels.find((l) => l.menuDefault) ||
    (cfg.default && find(cfg.default.value.split(/\s+/)[0] ?? ''));
  const defaultId = chosen ? byName.get(chosen.name)?.sourceId : undefined;
  let timeout: TimeoutSetting | undefined;
  if (cfg.timeout)
    timeout =
      cfg.timeout.tenths === 0
        ? { kind: 'menu-force' }
        : { kind: 'seconds', seconds: Math.ceil(cfg.timeout.tenths / 10) };
  if (cfg.proxy)
    diagnostics.push(
      diag('info', SOURCE, `PROXY ${cfg.proxy.value}`, { file: fileUrl(cfg.proxy.file), line: cfg.proxy.line }),
    );
  return {
    entries,
    diagnostics,
    ...(defaultId ? { defaultId } : {}),
    ...(timeout ? { timeout } : {}),
    ...(cfg.proxy ? { proxy: cfg.proxy.value } : {}),
  };
}

/** `DEFAULT vmlinuz args` that names no label is a kernel command line (as syslinux reads it). */
function withDefaultLabel(cfg: ParsedConfig, ds: Diagnostic[], fileUrl: (f: string) => string | undefined): Label[] {
  const labels = [...cfg.labels];
  const d = cfg.default;
  if (!d) return labels;
  const [word, ...rest] = d.value.split(/\s+/);
  if (!word || labels.some((l) => l.name.toLowerCase() === word.toLowerCase()) || /\.c32$/i.test(word)) return labels;
  const synth: Label = { name: word, file: d.file, line: d.line, menuDefault: false, hidden: false };
  synth.kernel = { keyword: 'kernel', path: word, extra: '', file: d.file, line: d.line };
  synth.append = rest.join(' ');
  labels.unshift(synth);
  ds.push(
    diag('info', SOURCE, `DEFAULT ${word} is not a label: used as a kernel command line`, {
      file: fileUrl(d.file),
      line: d.line,
    }),
  );
  return labels;
}

function extOf(p: string): string {
  const base = p.slice(p.lastIndexOf('/') + 1).toLowerCase();
  const i = base.lastIndexOf('.');
  return i < 0 ? '' : base.slice(i);
}

/** The Linux target of one label; throws (NetError or Error) with the reason it cannot boot. */
function labelTarget(
  cfg: ParsedConfig,
  l: Label,
  lease: Lease,
  place: PxePlace,
  server: string | undefined,
  opts: { readonly uuid?: string; readonly policy?: UrlPolicy },
  note: (d: Diagnostic) => void,
): BootTarget {
  if (l.localboot) throw new Error('LOCALBOOT: boots the local disk; tendril continues the boot order instead');
  const k = l.kernel;
  if (!k) throw new Error('no KERNEL or LINUX line');
  if (k.keyword === 'config') throw new Error(`CONFIG ${k.path} inside a label is not followed`);
  const nonLinux = EXPLICIT_TYPES[k.keyword] ?? (k.keyword === 'kernel' ? NON_LINUX_EXT[extOf(k.path)] : undefined);
  if (nonLinux) throw new Error(`${k.keyword.toUpperCase()} ${k.path}: ${nonLinux}, not bootable by kexec`);
  const url = (name: string) => resolvePxeName(name, place.prefix, opts.policy);
  const kernel: FileRef = netRef(lease.iface, url(k.path));
  let append = l.append ?? cfg.globalAppend ?? '';
  if (k.extra) append = `${k.extra} ${append}`.trim();
  const taken = takeInitrdArg(append);
  const names = l.initrd?.files ?? taken.files ?? [];
  const initrds = names.map((n) => netRef(lease.iface, url(n)));
  if (l.fdt) note(diag('info', SOURCE, 'FDT/DEVICETREE ignored on x86', { file: l.fdt.file, line: l.fdt.line }));
  const ipa = l.ipappend ?? cfg.ipappend;
  const words = ipa ? ipappendWords(ipa.bits, lease, server, opts.uuid) : [];
  if (ipa && ipa.bits & ~7)
    note(
      diag('info', SOURCE, `${ipa.bits & ~7} SYSAPPEND bits beyond 1, 2 and 4 are not added`, {
        file: ipa.file,
        line: ipa.line,
      }),
    );
  const cmdline = [taken.cmdline, ...words].filter(Boolean).join(' ');
  return { kind: 'linux', kernel, initrds, cmdline };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
