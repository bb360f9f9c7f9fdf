// The `tendril list --json` document (schema version 2, documented in README.md).
// Kept separate from the in-memory model so the model can grow without breaking users.
//
// Schema 2 differs from 1 only in how an entry says whether it boots: `target` is present
// only on a bootable entry (schema 1 gave broken entries a stand-in `efi` target naming
// their config file); a broken entry has `reason` and, when its config names a complete
// target, `declared`.

import type { Diagnostic } from './diagnostics';
import {
  isBootable,
  type BootTarget,
  type DeviceReport,
  type DiscoveryResult,
  type MenuEntry,
  type MenuSettings,
} from './model';

export const LIST_SCHEMA_VERSION = 2;

/** A menu entry as listed: the status spelled out, the source's own id left out. */
export type ListEntryJson = Omit<MenuEntry, 'status' | 'sourceId'> & {
  readonly bootable: boolean;
  /** What it boots; bootable entries only. */
  readonly target?: BootTarget;
  /** Why it cannot boot; broken entries only. */
  readonly reason?: string;
  /** What its config names, when complete; broken entries only, never booted. */
  readonly declared?: BootTarget;
};

export interface ListJson {
  readonly schema: typeof LIST_SCHEMA_VERSION;
  readonly settings: MenuSettings;
  readonly entries: ListEntryJson[];
  readonly devices: DeviceReport[];
  readonly diagnostics: Diagnostic[];
}

function entryJson(e: MenuEntry): ListEntryJson {
  const { status, sourceId: _sourceId, ...rest } = e;
  return {
    ...rest,
    bootable: isBootable(e),
    ...(status.ok
      ? { target: status.target }
      : { reason: status.reason, ...(status.declared ? { declared: status.declared } : {}) }),
  };
}

export function listJson(r: DiscoveryResult): ListJson {
  return {
    schema: LIST_SCHEMA_VERSION,
    settings: r.settings,
    entries: r.entries.map(entryJson),
    devices: r.devices,
    diagnostics: r.diagnostics,
  };
}
