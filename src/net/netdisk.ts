// A network disk (docs/net-bootfiles.md §9): a disk image or ISO a boot file names is downloaded
// into a sealed memfd (decompressed into another when it is .gz/.xz/.zst), then scanned by
// discovery's own partition and filesystem readers as a disk of its own, `netdisk:<host>/<name>`.
// Its entries keep FileRefs on the image's filesystems, which plans read as they read a local
// disk's; its `efi` entries have the memfd as the VM's disk (/proc/self/fd/N, read-only).

import * as fs from 'node:fs';
import { diag, type Diagnostic } from '../discovery/diagnostics';
import { discover, type DiscoverySession } from '../discovery/discover';
import type { FileSystem } from '../discovery/fs/types';
import type { DeviceInfo, DeviceReport, FsId, SourceEntry } from '../discovery/model';
import { InProcessScanner } from '../discovery/worker/pool';
import { addSeals, F_SEAL, MFD_ALLOW_SEALING, MFD_CLOEXEC, memfdCreate } from '../native/sys';
import { compressionOf } from './classify';
import { decompressToMemfd, declaredSize, sizeProblem, XZ_TAIL_BYTES } from './decompress';
import type { MemfdDownload } from './fetch';
import type { NetFileSystem } from './netfs';
import { netTitle } from './netentry';
import { type FetchOptions, NetError } from './types';
import { urlBasename, urlHost } from './url';

export interface NetDiskOptions {
  /** Largest image, as downloaded and decompressed (net.max-image). */
  readonly maxBytes: number;
  /** Bytes a download may still take (MemAvailable less the reserve); undefined: unknown. */
  readonly usableMemory?: () => number | undefined;
  /** Streams the image into a sealed memfd (fetch.ts downloadToMemfd); absent: through the NetFileSystem. */
  readonly download?: (url: string, opts: FetchOptions) => Promise<MemfdDownload>;
  readonly requireVerified?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: FetchOptions['onProgress'];
  /** Deadline of the scan (default 30 s). */
  readonly deadlineMs?: number;
}

/** A scanned network disk: its entries, and the readers and device report plans need. */
export interface NetDisk {
  /** `netdisk:<host>/<name>`: the device name, and the prefix of its filesystems' ids. */
  readonly name: string;
  readonly url: string;
  /** sha256 of the bytes as served (before decompression): what pins and sums vouch for. */
  readonly sha256: string;
  readonly size: number;
  readonly entries: SourceEntry[];
  readonly diagnostics: Diagnostic[];
  readonly defaultId?: string;
  /** The disk as discovery reports it (its path is the memfd's /proc/self/fd/N): the VM's disk. */
  readonly device: DeviceReport;
  fs(id: FsId): FileSystem | undefined;
  close(): Promise<void>;
}

/** The device name of the image at `url`. */
export function netDiskName(url: string): string {
  return `netdisk:${urlHost(url)}/${urlBasename(url)}`;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const b = Buffer.alloc(Math.max(0, length));
  const n = fs.readSync(fd, b, 0, b.length, position);
  return b.subarray(0, n);
}

/** Bytes already in memory (a boot file classified by its content) into a sealed, read-only memfd. */
function sealedCopy(bytes: Uint8Array, url: string): number {
  const fd = memfdCreate(`tendril-netdisk-${urlBasename(url)}`.slice(0, 240), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  try {
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off, off);
    addSeals(fd, F_SEAL.WRITE | F_SEAL.GROW | F_SEAL.SHRINK | F_SEAL.SEAL);
    return fs.openSync(`/proc/self/fd/${fd}`, fs.constants.O_RDONLY);
  } finally {
    fs.closeSync(fd);
  }
}

/** The image as served, in a sealed memfd, verified as a kernel would be (pins, signed sums). */
async function fetchRaw(
  url: string,
  net: NetFileSystem,
  o: NetDiskOptions,
  bytes?: Uint8Array,
): Promise<{ fd: number; size: number; sha256: string }> {
  const v = net.verifier(url);
  if (o.requireVerified && !v)
    throw new NetError(
      url,
      'not verified: no sha256 pin vouches for the image and no signed SHA256SUMS lists it (net.require-verified)',
      true,
    );
  if (bytes === undefined && o.download) {
    const d = await o.download(url, {
      maxBytes: o.maxBytes,
      ...(v ? { sha256: v.sha256 } : {}),
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    return { fd: d.fd, size: d.size, sha256: d.sha256 };
  }
  const f = await net.fetchUrl(url, o.maxBytes);
  const b = bytes ?? f.bytes;
  // A boot file classified by its bytes was fetched under the boot-file limit, not this one.
  const problem = sizeProblem(b.length, o.maxBytes, undefined);
  if (problem) throw new NetError(url, problem, true);
  return { fd: sealedCopy(b, url), size: b.length, sha256: f.sha256 };
}

/** The image uncompressed in a sealed memfd: the raw one when it is not compressed. */
async function uncompressed(url: string, raw: { fd: number; size: number }, o: NetDiskOptions) {
  const head = readAt(raw.fd, 0, 64);
  const c = compressionOf(head);
  if (c === 'none') return { fd: raw.fd, size: raw.size, how: 'uncompressed' };
  const tail = readAt(raw.fd, Math.max(0, raw.size - XZ_TAIL_BYTES), Math.min(raw.size, XZ_TAIL_BYTES));
  const declared = declaredSize(c, head, tail, raw.size);
  const usable = o.usableMemory?.();
  if (declared !== undefined) {
    const problem = sizeProblem(declared, o.maxBytes, usable);
    if (problem) throw new NetError(url, `the ${c} image declares ${declared} bytes, refused: ${problem}`, true);
  }
  const byMemory = usable !== undefined && usable < o.maxBytes;
  const limit = byMemory ? Math.max(0, usable) : o.maxBytes;
  const why = byMemory ? 'the free memory beyond the reserve' : 'net.max-image';
  const out = await decompressToMemfd(url, raw.fd, c, limit, why);
  fs.closeSync(raw.fd);
  return { ...out, how: `${c}, ${declared !== undefined ? `declares ${declared} bytes` : 'size not declared'}` };
}

/**
 * Downloads, verifies, decompresses and scans the image at `url` (`bytes`: the boot file already
 * fetched, when it was classified by content). Rejects with NetError naming the URL when the image
 * cannot be had or holds nothing tendril can read.
 */
export async function loadNetDisk(
  url: string,
  net: NetFileSystem,
  o: NetDiskOptions,
  bytes?: Uint8Array,
): Promise<NetDisk> {
  const raw = await fetchRaw(url, net, o, bytes);
  let img: { fd: number; size: number; how: string };
  try {
    img = await uncompressed(url, raw, o);
  } catch (e) {
    fs.closeSync(raw.fd);
    throw e;
  }
  const name = netDiskName(url);
  const info: DeviceInfo = {
    path: `/proc/self/fd/${img.fd}`,
    name,
    bus: 'image',
    size: img.size,
    removable: false,
    readOnly: true,
  };
  const scanned = await scanNetDevice(info, {
    url,
    // A network ESP: its `uki-url :name` entries resolve against the image URL (docs/net-bootfiles.md §8).
    originUrl: url,
    what: `network disk ${url}`,
    label: urlBasename(url),
    summary: `${raw.size} bytes served, sha256 ${raw.sha256}; ${img.how}; ${img.size} bytes`,
    ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}),
    onClose: () => fs.closeSync(img.fd),
  });
  return { ...scanned, url, sha256: raw.sha256, size: img.size };
}

/** What scanNetDevice needs besides the device. */
export interface NetDeviceScan {
  /** Where the disk came from: the file of its diagnostics, the host in its titles. */
  readonly url: string;
  /** What its `uki-url :name` entries resolve against (docs/net-bootfiles.md §8); absent: nothing. */
  readonly originUrl?: string;
  /** `network disk URL`: how messages name it. */
  readonly what: string;
  /** Shown in titles: `<title> from <label>`. */
  readonly label: string;
  /** Said in the summary line after the name (sizes, hashes). */
  readonly summary: string;
  readonly deadlineMs?: number;
  /** Releases what backs the device (the memfd), after the readers are closed. */
  readonly onClose?: () => void;
}

/** A device on the network scanned: everything a NetDisk holds but what the download knew. */
export type ScannedNetDevice = Omit<NetDisk, 'url' | 'sha256' | 'size'>;

/**
 * Scans one device that came from the network (an image in a memfd, an NVMe/TCP namespace) with
 * discovery's readers, in process, and names its entries `<device name>:<id>`. Rejects with a
 * NetError naming the URL when nothing on it can be read; runs onClose then too.
 */
export async function scanNetDevice(info: DeviceInfo, o: NetDeviceScan): Promise<ScannedNetDevice> {
  const { url, what } = o;
  const name = info.name;
  let session: DiscoverySession;
  const started = performance.now();
  try {
    session = await discover({
      devices: [info],
      sysBlock: false,
      ...(o.originUrl !== undefined ? { originUrl: o.originUrl } : {}),
      scanner: new InProcessScanner(),
      deadlineMs: o.deadlineMs ?? 30_000,
    });
  } catch (e) {
    o.onClose?.();
    throw e;
  }
  const close = async () => {
    await session.close();
    o.onClose?.();
  };
  const device = session.result.devices[0]!;
  const at = { device: name, file: url };
  const found = [...device.diagnostics, ...session.result.diagnostics].map((d) => ({
    ...d,
    device: name,
    message: `${what}: ${d.message}`,
  }));
  if (session.mounts.length === 0) {
    await close();
    const why = found.filter((d) => d.severity !== 'info').map((d) => d.message.slice(`${what}: `.length));
    throw new NetError(
      url,
      `no partition table or filesystem tendril can read in ${info.size} bytes${why.length ? `: ${why.join('; ')}` : ''}`,
      true,
    );
  }
  const host = urlHost(url);
  const ids = new Map<string, string>();
  const entries: SourceEntry[] = session.result.entries.map((e) => {
    const id = `${name}:${e.id}`;
    ids.set(e.id, id);
    return {
      sourceId: id,
      title: netTitle('Net', `${e.title} from ${o.label}`, host),
      ...(e.version !== undefined ? { version: e.version } : {}),
      ...(e.sortKey !== undefined ? { sortKey: e.sortKey } : {}),
      ...(e.machineId !== undefined ? { machineId: e.machineId } : {}),
      ...(e.architecture !== undefined ? { architecture: e.architecture } : {}),
      ...(e.hidden !== undefined ? { hidden: e.hidden } : {}),
      ...(e.group !== undefined ? { group: e.group } : {}),
      origin: { ...e.origin, device: name },
      status: e.status,
      diagnostics: e.diagnostics,
    };
  });
  const scanMs = Math.round(performance.now() - started);
  const summary = `${what} (${o.summary}): ${entries.length} entries on ${session.mounts.length} filesystems, scanned in ${scanMs} ms`;
  const diagnostics = [diag(entries.length ? 'info' : 'error', 'netdisk', summary, at), ...found];
  const def = session.result.settings.defaultId;
  const defaultId = def !== undefined ? ids.get(def) : undefined;
  return {
    name,
    entries,
    diagnostics,
    ...(defaultId !== undefined ? { defaultId } : {}),
    device,
    fs: (id) => session.fs(id),
    close,
  };
}
