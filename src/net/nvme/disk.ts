// NVMe/TCP namespaces as disks of the menu (docs/net-nvme.md §3): each target is connected
// (connect.ts), each namespace scanned by discovery's readers like a network disk image
// (netdisk.ts scanNetDevice), and its Linux entries get the dracut words that let the OS they
// boot reach the same namespace. A target that fails is one diagnostic; the rest go on.

import { diag, type Diagnostic } from '../../discovery/diagnostics';
import type { BootTarget, DeviceInfo, SourceEntry } from '../../discovery/model';
import { scanNetDevice, type ScannedNetDevice } from '../netdisk';
import { NetError } from '../types';
import { connectNvmeTcp, type NvmeConnection } from './connect';
import { handOnWords, parseNvmeTarget, type ConnectTuning, type NvmeHost } from './target';

export interface NvmeMenuOptions {
  readonly host?: NvmeHost;
  readonly tuning?: ConnectTuning;
  /** net.nvme-writable (connect.ts ConnectOptions.writable). */
  readonly writable?: boolean;
  /** Per target: connect and namespaces (ms). */
  readonly connectMs: number;
  /** Per namespace: the scan (ms). */
  readonly scanMs?: number;
  /** net.origin: what `uki-url :name` entries on the namespaces resolve against. */
  readonly originUrl?: string;
  readonly log?: (line: string) => void;
}

/** A URL that names an NVMe/TCP target rather than a file (`nvme+tcp://`, or `tcp://` as tendril.nvme= takes it). */
export function isNvmeUrl(url: string): boolean {
  return /^(nvme\+)?tcp:\/\//i.test(url);
}

/** The device name of a namespace: the prefix of its filesystems' and entries' ids. */
export function nvmeDiskName(c: Pick<NvmeConnection, 'target'>, nsid: number): string {
  return `nvme-tcp:${c.target.host}/${c.target.nqn}/n${nsid}`;
}

/** The entry with `words` after its command line, unless it already says where its NVMe disk is. */
function withWords(e: SourceEntry, words: readonly string[]): SourceEntry {
  if (!e.status.ok) return e;
  const t: BootTarget = e.status.target;
  if (t.kind !== 'linux' || /(^|\s)rd\.nvmf\./.test(t.cmdline)) return e;
  return { ...e, status: { ok: true, target: { ...t, cmdline: [t.cmdline, ...words].filter(Boolean).join(' ') } } };
}

interface Scanned {
  readonly disk: ScannedNetDevice;
  readonly words: readonly string[];
}

async function scanTarget(url: string, o: NvmeMenuOptions, ds: Diagnostic[]): Promise<Scanned[]> {
  const t = parseNvmeTarget(url);
  const c = await connectNvmeTcp(t, { ...o, deadlineMs: o.connectMs, ...(o.host ? { host: o.host } : {}) });
  const words = handOnWords(t, c.address, o.host);
  const out: Scanned[] = [];
  for (const ns of c.namespaces) {
    const name = nvmeDiskName(c, ns.nsid);
    const info: DeviceInfo = {
      path: ns.path,
      name,
      bus: 'nvme',
      size: ns.size,
      removable: false,
      readOnly: o.writable !== true,
    };
    try {
      const disk = await scanNetDevice(info, {
        url: t.url,
        what: `NVMe/TCP ${t.url} namespace ${ns.nsid} (${ns.path})`,
        label: `${t.nqn} n${ns.nsid}`,
        summary: `${ns.size} bytes, ${o.writable ? 'left writable (net.nvme-writable)' : 'read-only'}; connected in ${c.connectMs} ms`,
        ...(o.originUrl !== undefined ? { originUrl: o.originUrl } : {}),
        ...(o.scanMs !== undefined ? { deadlineMs: o.scanMs } : {}),
      });
      out.push({ disk, words });
    } catch (e) {
      ds.push(diag('error', 'nvme-tcp', e instanceof Error ? e.message : String(e), { device: name, file: t.url }));
    }
  }
  return out;
}

/** The entries, readers and devices of NVMe/TCP namespaces, not yet finalized. */
export interface NvmeDisks {
  readonly entries: SourceEntry[];
  readonly diagnostics: Diagnostic[];
  /** The first namespace's loader default, when it names one. */
  readonly defaultId?: string;
  readonly disks: ScannedNetDevice[];
}

/**
 * Every namespace of `urls` (net.nvme, tendril.nvme=, an iPXE `sanboot nvme+tcp://`), scanned.
 * Never throws: each failing target is a diagnostic naming it and the reason.
 */
export async function nvmeDisks(urls: readonly string[], o: NvmeMenuOptions): Promise<NvmeDisks> {
  const diagnostics: Diagnostic[] = [];
  const scanned: Scanned[] = [];
  // One at a time: each connect creates a controller, and its namespaces' names follow that order.
  for (const url of urls) {
    try {
      scanned.push(...(await scanTarget(url, o, diagnostics)));
    } catch (e) {
      const msg = e instanceof NetError ? e.message : `${url}: ${e instanceof Error ? e.message : String(e)}`;
      diagnostics.push(diag('error', 'nvme-tcp', msg, { file: url }));
    }
  }
  const defaultId = scanned.find((d) => d.disk.defaultId !== undefined)?.disk.defaultId;
  return {
    entries: scanned.flatMap((d) => d.disk.entries.map((e) => withWords(e, d.words))),
    diagnostics: [...scanned.flatMap((d) => d.disk.diagnostics), ...diagnostics],
    ...(defaultId !== undefined ? { defaultId } : {}),
    disks: scanned.map((d) => d.disk),
  };
}
