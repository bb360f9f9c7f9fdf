// The `tendril list --json` document (schema version 1, documented in README.md).
// Kept separate from the in-memory model so the model can grow without breaking users.

import type { Diagnostic } from './diagnostics';
import type { BootEntry, DeviceReport, DiscoveryResult, MenuSettings } from './model';

export const LIST_SCHEMA_VERSION = 1;

export interface ListJson {
  readonly schema: 1;
  readonly settings: MenuSettings;
  readonly entries: Array<BootEntry & { readonly index: number; readonly default: boolean }>;
  readonly devices: DeviceReport[];
  readonly diagnostics: Diagnostic[];
}

export function listJson(r: DiscoveryResult): ListJson {
  return {
    schema: LIST_SCHEMA_VERSION,
    settings: r.settings,
    entries: r.entries.map((e, index) => ({ ...e, index, default: e.id === r.settings.defaultId })),
    devices: r.devices,
    diagnostics: r.diagnostics,
  };
}
