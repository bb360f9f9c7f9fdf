// The boot stage of network boot: from the leases to a menu. Each lease's boot file becomes
// entries (entries.ts) on that interface's NetFileSystem; the entries of all leases go through
// the same finalizeEntries as disk entries (ids, titles, the default a config names), and plans
// read their kernels through the same FsLookup, so kexec, the dry run and the menu treat a
// network entry like a disk one. Nothing is downloaded here but configs and the boot file;
// kernels and initrds are fetched when a plan reads them.

import type { Diagnostic } from '../discovery/diagnostics';
import type { FsId, MenuEntry, MenuSettings, SourceEntry } from '../discovery/model';
import type { ProposedSettings } from '../discovery/sources/context';
import { finalizeEntries } from '../discovery/entries/select';
import type { FileSystem } from '../discovery/fs/types';
import { netbootEntries, type NetbootOptions, type NetbootResult } from './entries';
import type { Fetch, Lease } from './types';

export interface NetMenu {
  readonly entries: MenuEntry[];
  readonly settings: MenuSettings;
  readonly diagnostics: Diagnostic[];
  /** The interface filesystems the entries' files live on. */
  fs(fsId: FsId): FileSystem | undefined;
  /** Per lease: what its boot file was (for `--json` and the log). */
  readonly sources: readonly { readonly lease: Lease; readonly bootFile?: NetbootResult['bootFile'] }[];
}

/** Every lease's entries, finalized together. Never throws: failures are diagnostics naming the URL. */
export async function netMenu(leases: readonly Lease[], fetch: Fetch, opts: NetbootOptions = {}): Promise<NetMenu> {
  const results = await Promise.all(leases.map((l) => netbootEntries(l, fetch, opts)));
  const entries: SourceEntry[] = results.flatMap((r) => r.entries);
  const proposals: ProposedSettings[] = results.flatMap((r) => (r.settings ? [r.settings] : []));
  const fin = finalizeEntries(entries, proposals);
  const byId = new Map<FsId, FileSystem>(results.map((r) => [r.fs.fsId, r.fs]));
  return {
    entries: fin.entries,
    settings: fin.settings,
    diagnostics: [...results.flatMap((r) => r.diagnostics), ...fin.diagnostics],
    fs: (id) => byId.get(id),
    sources: leases.map((lease, i) => ({
      lease,
      ...(results[i]!.bootFile ? { bootFile: results[i]!.bootFile } : {}),
    })),
  };
}
