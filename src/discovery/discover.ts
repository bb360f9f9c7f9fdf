// Discovery entry point: devices → partitions → filesystems → entries → sorted menu.
// (Implementation lands with the discovery integration; the signature is the contract.)

import type { EfiArch } from './sources/context';
import type { FileSystem } from './fs/types';
import type { BootEntry, DeviceReport, DiscoveryResult, FsId } from './model';

export interface DiscoverOptions {
  /** Image files or block devices to scan (`--disk`). */
  readonly disks?: readonly string[];
  /** Host directories served as filesystems (`--root`), for chroots and unpacked trees. */
  readonly roots?: readonly string[];
  /** Enumerate /sys/class/block as well (default: true when no disks/roots are given). */
  readonly sysBlock?: boolean;
  /** Per-device deadline in ms (default 10000). */
  readonly deadlineMs?: number;
  readonly arch?: EfiArch;
  /** Called as each device finishes, for live menus. */
  readonly onDevice?: (report: DeviceReport) => void;
  /** Called with the full sorted list whenever it changes. */
  readonly onEntries?: (entries: readonly BootEntry[]) => void;
}

export interface DiscoverySession {
  readonly result: DiscoveryResult;
  /** A reader for a discovered filesystem (for loading kernels). */
  fs(fsId: FsId): FileSystem | undefined;
  close(): Promise<void>;
}

export async function discover(_opts: DiscoverOptions = {}): Promise<DiscoverySession> {
  throw new Error('discover: not yet implemented');
}
