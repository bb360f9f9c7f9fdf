// GRUB network configs (docs/net-bootfiles.md §6): when the boot file is a GRUB image, tendril
// does what that image would do after the firmware's DHCP: set `$prefix` from the image (or the
// boot file's directory), look up `grub.cfg-01-<mac>`, `grub.cfg-<HEX IP>` shortened a digit at a
// time, then `grub.cfg` under it, and run the first one found through the grub interpreter with
// GRUB's net_* variables. `(tftp)`, `(tftp,host)`, `(http,host[:port])` and `(pxe)` devices
// resolve to the interface's NetFileSystem through the interpreter's device hook.

import { diag, errorMessage, type Diagnostic } from '../discovery/diagnostics';
import {
  type DirEntry,
  type FileHandle,
  type FileStat,
  type FileSystem,
  FsError,
  normalizePath,
} from '../discovery/fs/types';
import type { FsReport, SourceEntry, TimeoutSetting } from '../discovery/model';
import type { MountedFs, SourceContext } from '../discovery/sources/context';
import { DEFAULT_LIMITS } from '../discovery/sources/grub';
import type { DeviceHook } from '../discovery/sources/grub/devices';
import { evaluateGrubConfig } from '../discovery/sources/grub/scan';
import type { FsLoc } from '../discovery/sources/grub/state';
import { ipv4Bytes } from './facts';
import type { GrubImageFacts } from './grub-image';
import { type NetFileSystem, pathToUrl } from './netfs';
import { netTitle } from './netentry';
import { type Lease, NetError } from './types';
import { urlHost } from './url';

const SOURCE = 'grub';
/** The interface name GRUB's EFI network driver gives the boot NIC. */
export const GRUB_NET_IFACE = 'efinet0';
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * The names GRUB tries under `$prefix`, in order (GRUB manual, "Network"): `grub.cfg-01-<mac>`,
 * the IPv4 address as 8 upper-case hex digits then shortened one digit at a time (an IPv6
 * address once, written as GRUB writes it), then `grub.cfg`. GRUB also tries the client UUID
 * first when the DHCP server sent option 97 back; leases do not record that, so it is not tried.
 */
export function grubNetCandidates(lease: Pick<Lease, 'mac' | 'address' | 'family'>): string[] {
  const out: string[] = [];
  const mac = lease.mac.toLowerCase();
  if (MAC_RE.test(mac)) out.push(`grub.cfg-01-${mac.replace(/:/g, '-')}`);
  if (lease.family === 4) {
    const ip = ipv4Bytes(lease.address);
    if (ip) {
      const hex = ip.map((n) => n.toString(16).toUpperCase().padStart(2, '0')).join('');
      for (let n = 8; n >= 1; n--) out.push(`grub.cfg-${hex.slice(0, n)}`);
    }
  } else {
    const v6 = grubIpv6(lease.address);
    if (v6) out.push(`grub.cfg-${v6}`);
  }
  out.push('grub.cfg');
  return out;
}

/** An IPv6 address as grub_net_addr_to_str writes it: eight groups, lower-case hex, no '::'. */
export function grubIpv6(addr: string): string | undefined {
  let u: URL;
  try {
    u = new URL(`http://[${addr.replace(/%.*$/, '')}]/`);
  } catch {
    return undefined;
  }
  const h = u.hostname.slice(1, -1);
  const [head = '', tail] = h.split('::');
  const a = head ? head.split(':') : [];
  const b = tail ? tail.split(':') : [];
  if (b.some((g) => g.includes('.')) || a.some((g) => g.includes('.'))) return undefined;
  const groups = tail === undefined ? a : [...a, ...Array<string>(8 - a.length - b.length).fill('0'), ...b];
  return groups.length === 8 ? groups.map((g) => parseInt(g, 16).toString(16)).join(':') : undefined;
}

export type GrubNetScheme = 'tftp' | 'http' | 'https';

/** A network device name taken apart: the URL scheme and host its files come from. */
export interface GrubNetDevice {
  readonly scheme: GrubNetScheme;
  /** As a URL writes it: '192.0.2.1', 'boot.test:8080', '[2001:db8::1]'. */
  readonly host: string;
}

const NET_DEVICE = /^(tftp|http|https|pxe)(?:,(.*))?$/s;

/**
 * A GRUB device name (without parentheses) as a network device: `tftp`, `pxe` (its old name),
 * `http`, each optionally `,server` where server is a name, `name:port`, an IPv6 address bare or
 * in brackets (`[addr]:port`). Without a server, `defaultServer` (GRUB's `$net_default_server`).
 * `http` files come over https when `httpsOnly` (the boot file came over https: no downgrade).
 * Undefined: not a network device name; a string: why this one cannot be used.
 */
export function parseGrubNetDevice(
  dev: string,
  defaultServer: string | undefined,
  httpsOnly = false,
): GrubNetDevice | string | undefined {
  const m = NET_DEVICE.exec(dev);
  if (!m) return undefined;
  const proto = m[1]!;
  if (proto === 'https') return 'GRUB has no https device; name the file (http,host)/path';
  const scheme: GrubNetScheme = proto === 'http' ? (httpsOnly ? 'https' : 'http') : 'tftp';
  const server = m[2] === undefined || m[2] === '' ? defaultServer : m[2];
  if (server === undefined || server === '') return 'no server named and $net_default_server is empty';
  if (server.length > 255 || /[\s/\\@?#%\0-\x1f\x7f]/.test(server)) return `bad server name '${server.slice(0, 80)}'`;
  // A bare IPv6 address has more than one colon; a name or IPv4 address has at most the port's.
  const spelled = (server.match(/:/g)?.length ?? 0) > 1 && !server.startsWith('[') ? `[${server}]` : server;
  let u: URL;
  try {
    u = new URL(`${scheme}://${spelled}/`);
  } catch {
    return `bad server name '${server.slice(0, 80)}'`;
  }
  if (u.host === '' || u.pathname !== '/' || /^\.+$/.test(u.hostname))
    return `bad server name '${server.slice(0, 80)}'`;
  return { scheme, host: u.host };
}

/** The URL a device and a path name (the path as GRUB would send it, normalised). Throws NetError or FsError. */
export function grubNetUrl(d: GrubNetDevice, path: string): string {
  // Normalised on its own first, as the interpreter does: '..' cannot leave the server.
  return pathToUrl(normalizePath(`/${d.scheme}/${d.host}${normalizePath(`/${path}`)}`));
}

/** The interpreter's device hook: network device names become directories of `loc` (a GrubNetFiles). */
export function grubNetDeviceHook(loc: FsLoc, httpsOnly: boolean): DeviceHook {
  return (dev, env) => {
    const d = parseGrubNetDevice(dev, env.get('net_default_server') || env.get('pxe_default_server'), httpsOnly);
    if (d === undefined) return undefined;
    if (typeof d === 'string') return { ok: false, reason: `device (${dev.slice(0, 80)}): ${d}` };
    return { ok: true, loc, base: `/${d.scheme}/${d.host}` };
  };
}

/** True for the NetError of a file larger than the limit it was fetched with (sink.ts, netfs.ts). */
function overLimit(e: unknown): boolean {
  return e instanceof NetError && /more than the limit of \d+ bytes|bytes > limit \d+/.test(e.reason);
}

/**
 * The files the interpreter reads while it evaluates: configs are fetched whole (at most
 * `maxBytes`); `stat` asks the server for the file and stops at `maxBytes`, so a kernel's
 * existence costs one aborted transfer, not the kernel. No directory can be listed.
 */
export class GrubNetFiles implements FileSystem {
  readonly type = 'net';
  readonly caseInsensitive = false;
  private readonly stats = new Map<string, Promise<FileStat>>();

  constructor(
    private readonly net: NetFileSystem,
    private readonly maxBytes: number,
  ) {}

  private async fetch(path: string): Promise<Uint8Array> {
    const p = normalizePath(path);
    const url = pathToUrl(p);
    try {
      return (await this.net.fetchUrl(url, this.maxBytes)).bytes;
    } catch (e) {
      if (e instanceof FsError) throw e;
      const notFound = e instanceof NetError && e.notFound;
      throw new FsError(notFound ? 'ENOENT' : overLimit(e) ? 'EFBIG' : 'EIO', url, errorMessage(e));
    }
  }

  stat(path: string): Promise<FileStat> {
    const p = normalizePath(path);
    let hit = this.stats.get(p);
    if (!hit) {
      hit = this.fetch(p).then(
        (b) => ({ kind: 'file' as const, size: b.length }),
        (e: unknown) => {
          // Too large to fetch here is there (a kernel): its size is only known when it boots.
          if (e instanceof FsError && e.code === 'EFBIG') return { kind: 'file' as const, size: this.maxBytes + 1 };
          throw e;
        },
      );
      if (this.stats.size < 10_000) this.stats.set(p, hit);
    }
    return hit;
  }

  lstat(path: string): Promise<FileStat> {
    return this.stat(path);
  }

  readdir(path: string): Promise<DirEntry[]> {
    return Promise.reject(new FsError('EINVAL', normalizePath(path), 'tftp and http have no directory listing'));
  }

  async open(path: string): Promise<FileHandle> {
    const bytes = await this.fetch(path);
    return {
      size: bytes.length,
      read: async (position, length) => bytes.subarray(position, Math.min(bytes.length, position + length)),
      close: async () => {},
    };
  }

  async close(): Promise<void> {}
}

/** Where GRUB's image would look: its root device, `$prefix` and `$cmdpath`, and from what. */
export interface GrubNetPlace {
  /** `$root` as GRUB sets it: 'tftp,192.0.2.1' (no parentheses). */
  readonly root: string;
  readonly prefix: string;
  readonly cmdpath: string;
  /** The server the boot file came from, as GRUB's net_default_server holds it (no brackets). */
  readonly server: string;
  readonly device: GrubNetDevice;
  /** The prefix's path on `device`, or the device the image's prefix names. */
  readonly prefixDevice: GrubNetDevice;
  readonly prefixPath: string;
  /** What decided the prefix, for the log. */
  readonly why: string;
}

/**
 * GRUB's kernel (grub_set_prefix_and_root): the firmware's boot device and the boot file's
 * directory are `$cmdpath`; an image prefix `(dev)/path` or `/path` is taken as it is (a
 * missing device from the boot device); an empty or absent one is the boot file's directory.
 * Throws NetError when the prefix names a device no file can come from.
 */
export function grubNetPlace(bootUrl: string, image: GrubImageFacts | undefined): GrubNetPlace {
  const u = new URL(bootUrl);
  const httpsOnly = u.protocol === 'https:';
  const server = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  const fwdev = `${u.protocol === 'tftp:' ? 'tftp' : 'http'},${u.host}`;
  const fwpath = decodeURIComponentSafe(u.pathname).replace(/\/[^/]*$/, '');
  const device = parseGrubNetDevice(fwdev, server, httpsOnly);
  if (typeof device !== 'object') throw new NetError(bootUrl, `no GRUB device for this boot file: ${device}`, true);
  let dev = fwdev;
  let path = fwpath;
  let why = `the boot file's directory (${fwpath || '/'})`;
  const p = image?.prefix;
  if (p !== undefined && p !== '') {
    const m = /^\(([^)]*)\)(.*)$/s.exec(p);
    if (m) {
      if (m[1] !== '' && !m[1]!.startsWith(',')) dev = m[1]!;
      path = m[2]!;
    } else path = p;
    why = `the image's prefix ${JSON.stringify(p)}`;
  }
  const prefixDevice = parseGrubNetDevice(dev, server, httpsOnly);
  if (typeof prefixDevice !== 'object')
    throw new NetError(bootUrl, `the GRUB image's prefix ${JSON.stringify(p)} names no network device`, true);
  return {
    root: dev,
    prefix: `(${dev})${path}`,
    cmdpath: `(${fwdev})${fwpath}`,
    server,
    device,
    prefixDevice,
    prefixPath: path,
    why,
  };
}

/** The variables GRUB's EFI network stack and kernel set before grub.cfg runs. */
export function grubNetVariables(lease: Lease, place: GrubNetPlace, bootUrl: string): [string, string][] {
  const i = `net_${GRUB_NET_IFACE}_`;
  const v: [string, string][] = [
    ['root', place.root],
    ['prefix', place.prefix],
    ['cmdpath', place.cmdpath],
    ['net_default_interface', GRUB_NET_IFACE],
    ['net_default_ip', lease.address],
    ['net_default_mac', lease.mac.toLowerCase()],
    ['net_default_server', place.server],
    ['pxe_default_server', place.server],
    ['feature_net_search_cfg', 'y'],
    [`${i}ip`, lease.address],
    [`${i}mac`, lease.mac.toLowerCase()],
    [`${i}next_server`, place.server],
    [`${i}boot_file`, new URL(bootUrl).pathname.replace(/^\//, '')],
  ];
  if (lease.hostname) v.push([`${i}hostname`, lease.hostname]);
  if (lease.domain) v.push([`${i}domain`, lease.domain]);
  if (lease.dns[0]) v.push(['net_default_dns', lease.dns[0]]);
  return v;
}

export interface GrubNetResult {
  readonly entries: SourceEntry[];
  readonly diagnostics: Diagnostic[];
  readonly defaultId?: string;
  readonly timeout?: TimeoutSetting;
  /** The config found (absent: none was). */
  readonly configUrl?: string;
}

/** A network path in a message or a diagnostic's file, as the URL it stands for. */
function urlOfPath(p: string): string {
  try {
    return pathToUrl(p);
  } catch {
    return p;
  }
}

function relocateText(s: string): string {
  return s.replace(
    /(^|[\s'"(])(\/(?:tftp|http|https)\/[^\s'"),]+)/g,
    (_m, pre: string, p: string) => pre + urlOfPath(p),
  );
}

/** Look up the config under the place's prefix and evaluate it; never throws. */
export async function grubNetEntries(
  lease: Lease,
  net: NetFileSystem,
  bootUrl: string,
  image: GrubImageFacts | undefined,
): Promise<GrubNetResult> {
  const fsId = net.fsId;
  const at = (file?: string, line?: number) => ({ fsId, device: lease.iface, file, line });
  const diagnostics: Diagnostic[] = [];
  let place: GrubNetPlace;
  try {
    place = grubNetPlace(bootUrl, image);
  } catch (e) {
    return { entries: [], diagnostics: [diag('error', SOURCE, errorMessage(e), at(bootUrl))] };
  }
  diagnostics.push(diag('info', SOURCE, `GRUB image: $prefix ${place.prefix} from ${place.why}`, at(bootUrl)));
  if (image?.embeddedConfig)
    diagnostics.push(
      diag(
        'info',
        SOURCE,
        'the GRUB image embeds a config; tendril does not run it (only its prefix is used)',
        at(bootUrl),
      ),
    );
  const files = new GrubNetFiles(net, DEFAULT_LIMITS.maxFileBytes);
  const report: FsReport = { fsId, device: lease.iface, partition: 0, offset: 0, size: 0 };
  const mounted: MountedFs = { report, fs: files };
  const loc: FsLoc = { fs: files, report, refId: fsId };
  const base = `/${place.prefixDevice.scheme}/${place.prefixDevice.host}`;
  const tried: string[] = [];
  let found: string | undefined;
  for (const name of grubNetCandidates(lease)) {
    let p: string;
    try {
      p = normalizePath(`${base}/${place.prefixPath}/${name}`);
    } catch (e) {
      diagnostics.push(diag('error', SOURCE, `$prefix ${place.prefix}: ${errorMessage(e)}`, at(bootUrl)));
      return { entries: [], diagnostics };
    }
    const url = urlOfPath(p);
    tried.push(url);
    try {
      await files.stat(p);
      found = p;
      break;
    } catch (e) {
      if (e instanceof FsError && e.code === 'ENOENT') continue;
      diagnostics.push(diag('error', SOURCE, `GRUB config lookup stopped at ${url}: ${errorMessage(e)}`, at(url)));
      return { entries: [], diagnostics };
    }
  }
  if (!found) {
    diagnostics.push(
      diag('error', SOURCE, `no GRUB network config found (tried ${tried.join(', ')})`, at(tried[tried.length - 1])),
    );
    return { entries: [], diagnostics };
  }
  const configUrl = urlOfPath(found);
  diagnostics.push(diag('info', SOURCE, `config ${configUrl} (tried ${tried.length})`, at(configUrl)));
  const ctx: SourceContext = {
    filesystems: [],
    get: (id) => (id === fsId ? mounted : undefined),
    arch: 'x64',
  };
  const devices = grubNetDeviceHook(loc, place.device.scheme === 'https');
  const vars = grubNetVariables(lease, place, bootUrl);
  let r: Awaited<ReturnType<typeof evaluateGrubConfig>>;
  try {
    r = await evaluateGrubConfig(
      ctx,
      { limits: DEFAULT_LIMITS, devices },
      mounted,
      found,
      new Set(),
      new Map(),
      Infinity,
      vars,
    );
  } catch (e) {
    diagnostics.push(diag('error', SOURCE, `${configUrl}: evaluation stopped: ${errorMessage(e)}`, at(configUrl)));
    return { entries: [], diagnostics, configUrl };
  }
  const relocate = (d: Diagnostic): Diagnostic =>
    diag(d.severity, d.source, relocateText(d.message), {
      fsId,
      device: lease.iface,
      ...(d.file !== undefined ? { file: urlOfPath(d.file) } : {}),
      ...(d.line !== undefined ? { line: d.line } : {}),
    });
  diagnostics.push(...r.diagnostics.map(relocate));
  const host = urlHost(configUrl);
  const entries = (r.result?.entries ?? []).map((e): SourceEntry => ({
    ...e,
    title: netTitle('GRUB', e.title, host),
    origin: { ...e.origin, device: lease.iface, file: urlOfPath(e.origin.file) },
    ...(e.status.ok ? {} : { status: { ...e.status, reason: relocateText(e.status.reason) } }),
    diagnostics: e.diagnostics.map(relocate),
  }));
  const res = r.result;
  return {
    entries,
    diagnostics,
    configUrl,
    ...(res?.defaultId !== undefined ? { defaultId: res.defaultId } : {}),
    ...(res?.timeout ? { timeout: res.timeout } : {}),
  };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
