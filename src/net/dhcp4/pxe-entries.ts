// A PXE boot menu (option 43, pxe-menu.ts) in the entry model: every item but local boot
// (type 0) is entries of its own, built from the boot file discovery found for it like any lease's
// boot file, titled "PXE: <description> (from <server>)". The default is the item a PXE client
// boots without input (the first), the timeout the menu prompt's. docs/net-dhcp.md §14.

import { diag, type Diagnostic } from '../../discovery/diagnostics';
import { statusOf, type SourceEntry, type TimeoutSetting } from '../../discovery/model';
import { netOrigin } from '../netentry';
import { netFsId } from '../netfs';
import type { Lease, PxeMenuItem } from '../types';

/** What entries.ts builds for one lease (a structural part of its NetbootResult). */
export interface ItemBuild {
  readonly entries: SourceEntry[];
  readonly diagnostics: Diagnostic[];
  readonly defaultId?: string;
  readonly timeout?: TimeoutSetting;
}

export interface PxeMenuBuild<R extends ItemBuild> {
  readonly entries: SourceEntry[];
  readonly diagnostics: Diagnostic[];
  readonly defaultId?: string;
  readonly timeout?: TimeoutSetting;
  /** The build whose filesystem, boot file and sums stand for the lease: the chosen item's, else the first. */
  readonly primary?: R;
}

/** The lease of one item: its boot file in place of the menu. */
export function itemLease(lease: Lease, item: PxeMenuItem): Lease {
  const { pxeMenu: _menu, bootUrl: _url, pxeConfigFile: _cfg, pxePathPrefix: _prefix, ...rest } = lease;
  return {
    ...rest,
    ...(item.bootUrl !== undefined ? { bootUrl: item.bootUrl } : {}),
    ...(item.pxeConfigFile !== undefined ? { pxeConfigFile: item.pxeConfigFile } : {}),
    ...(item.pxePathPrefix !== undefined ? { pxePathPrefix: item.pxePathPrefix } : {}),
  };
}

/** The entries of every resolved item (built one after the other: they share the interface). */
export async function pxeMenuEntries<R extends ItemBuild>(
  lease: Lease,
  build: (l: Lease) => Promise<R>,
): Promise<PxeMenuBuild<R>> {
  const menu = lease.pxeMenu;
  if (!menu) return { entries: [], diagnostics: [] };
  const fsId = netFsId(lease.iface);
  const at = { fsId, device: lease.iface };
  const entries: SourceEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  let defaultId: string | undefined;
  let first: R | undefined;
  let chosen: R | undefined;
  let chosenTimeout: TimeoutSetting | undefined;
  for (const [index, item] of menu.items.entries()) {
    const label = item.description || `type ${item.type}`;
    const from = item.bootServer ?? menu.server;
    const prefix = `pxe:${item.type}:`;
    if (item.type === 0) {
      diagnostics.push(diag('info', 'net', `PXE menu from ${menu.server}: "${label}" is local boot; no entry`, at));
      continue;
    }
    if (item.bootUrl === undefined && item.pxeConfigFile === undefined && item.pxePathPrefix === undefined) {
      const reason = `PXE boot server discovery for "${label}" [type ${item.type}]: ${item.error ?? "no boot file (the interface's error says why)"}`;
      diagnostics.push(diag('error', 'net', reason, at));
      entries.push({
        sourceId: `${prefix}${fsId}`,
        title: `PXE: ${label} (from ${from})`,
        origin: netOrigin('net', lease.iface, `pxe://${menu.server}/${item.type}`),
        status: statusOf(undefined, reason),
        diagnostics: [],
      });
      continue;
    }
    const r = await build(itemLease(lease, item));
    const one = r.entries.length === 1;
    for (const e of r.entries)
      entries.push({
        ...e,
        sourceId: prefix + e.sourceId,
        title: one ? `PXE: ${label} (from ${from})` : `PXE: ${label}: ${e.title}`,
      });
    diagnostics.push(...r.diagnostics);
    first ??= r;
    if (index === menu.chosen) {
      chosen = r;
      const inner = r.defaultId ?? r.entries[0]?.sourceId;
      if (inner !== undefined) defaultId = prefix + inner;
      chosenTimeout = r.timeout;
    }
  }
  if (menu.chosen === undefined)
    diagnostics.push(
      diag('info', 'net', `PXE menu from ${menu.server}: its first item is local boot; no network default`, at),
    );
  const p = menu.prompt?.timeout;
  const timeout: TimeoutSetting | undefined =
    p === undefined || p === 0 ? chosenTimeout : p === 255 ? { kind: 'menu-force' } : { kind: 'seconds', seconds: p };
  return {
    entries,
    diagnostics,
    ...(defaultId !== undefined ? { defaultId } : {}),
    ...(timeout ? { timeout } : {}),
    ...(chosen || first ? { primary: (chosen ?? first)! } : {}),
  };
}
