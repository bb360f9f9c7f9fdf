// The network's part of the menu (its entries, settings and readers), as boot.ts builds it from
// leases and nvme/disk.ts from NVMe/TCP namespaces.

import type { Diagnostic } from '../discovery/diagnostics';
import type { FileSystem } from '../discovery/fs/types';
import type { DeviceReport, FsId, MenuEntry, MenuSettings } from '../discovery/model';
import type { NetbootResult } from './entries';
import type { Lease } from './types';

export interface NetMenu {
  readonly entries: MenuEntry[];
  readonly settings: MenuSettings;
  readonly diagnostics: Diagnostic[];
  /** The interface filesystems the entries' files live on, and those of network disks. */
  fs(fsId: FsId): FileSystem | undefined;
  /** Network disks as discovery reports them (docs/net-bootfiles.md §9): the VM path's disks. */
  readonly devices?: readonly DeviceReport[];
  /** Per lease: what its boot file was (for `--json` and the log). */
  readonly sources: readonly {
    readonly lease: Lease;
    readonly bootFile?: NetbootResult['bootFile'];
    readonly sums?: NetbootResult['sums'];
  }[];
}
