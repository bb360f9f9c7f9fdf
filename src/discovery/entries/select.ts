// The final pass over every source's entries: order the menu, make ids unique, set display
// titles and decide timeout, editor and the default entry (docs/bls.md §6, §8, §11.3-§11.5,
// adapted to LinuxBoot, where there are no EFI variables).
//
// Menu order: BLS and UKI entries are sorted by the BLS rules (sort.ts); entries from
// grub, syslinux and sprout follow in the order their sources produced them (their own
// config order, which their authors chose); the automatic ESP entries (sources/esp.ts) come
// last, as sd-boot's auto entries do, in discovery order.
//
// Default precedence: --default on the command line > tendril's one-shot (`boot --next`) > the
// default saved with the menu's `d` key (both in tendril's state file, src/state/, as sd-boot's
// LoaderEntryOneShot and LoaderEntryDefault) > loader.conf `default` (glob or @saved, the last
// booted entry) > a source's own default (grub saved_entry, sprout) in filesystem order > the
// first entry that may be auto-selected > entry 0, with a 0 timeout raised to 10 s.
//
// Timeout precedence: --timeout > loader.conf `timeout` > another source's timeout >
// 5 seconds with the menu shown. sd-boot treats an unset timeout as 0 (hidden); tendril
// shows the menu for 5 s when no config says anything, because a LinuxBoot machine often
// has several disks whose configs nobody wrote for this boot manager.

import { diag, type Diagnostic } from '../diagnostics';
import {
  isBootable,
  type FsId,
  type MenuEntry,
  type MenuSettings,
  type SourceEntry,
  type TimeoutSetting,
} from '../model';
import type { LoaderConfSettings, MenuConfigSettings, ProposedSettings } from '../sources/context';
import { fnmatch } from './glob';
import { compareEntries, type FsRole } from './sort';
import { disambiguateTitles } from './titles';

export interface FinalizeOptions {
  /** `--timeout` seconds; negative = wait forever (menu-force). */
  readonly cliTimeout?: number;
  /** `--default`: an entry id or a loader.conf-style glob. */
  readonly cliDefault?: string;
  /** The last booted entry id, for loader.conf `default @saved` (tendril's state file). */
  readonly savedId?: string;
  /** The one-shot entry id (`tendril boot --next`), from tendril's state file. */
  readonly oneShotId?: string;
  /** The default chosen with the menu's `d` key, from tendril's state file. */
  readonly savedDefaultId?: string;
  /** Where those came from, for the reason shown ('vda:1 /loader/tendril-state'). */
  readonly stateFrom?: string;
  readonly roleOf?: (fsId: FsId) => FsRole | undefined;
}

export interface FinalizeResult {
  /** In menu order, with their final ids, display titles, positions and the default marked. */
  readonly entries: MenuEntry[];
  readonly settings: MenuSettings;
  readonly diagnostics: Diagnostic[];
}

export const DEFAULT_TIMEOUT: TimeoutSetting = { kind: 'seconds', seconds: 5 };
/** sd-boot: no default found and timeout 0 → show the menu for 10 s. */
export const NO_DEFAULT_TIMEOUT = 10;

const SRC = 'menu';

function groupOf(e: SourceEntry): number {
  switch (e.origin.source) {
    case 'bls':
    case 'uki':
      return 0;
    case 'esp':
      return 2;
    default:
      return 1;
  }
}

/** May this entry become the default without anyone naming it (sd-boot LOADER_TYPE_MAY_AUTO_SELECT)? */
function autoSelectable(e: SourceEntry): boolean {
  return e.origin.source !== 'esp' && isBootable(e) && !e.hidden;
}

/** 'vda:1 /grub/grub.cfg' → 'grub.cfg'. */
function fileNameOf(from: string): string {
  const last = from.split(/[\s/]/).filter(Boolean).pop();
  return last ?? from;
}

function cliTimeoutSetting(s: number): TimeoutSetting {
  return s < 0 ? { kind: 'menu-force' } : { kind: 'seconds', seconds: Math.floor(s) };
}

export function finalizeEntries(
  input: readonly SourceEntry[],
  proposals: readonly ProposedSettings[],
  opts: FinalizeOptions = {},
): FinalizeResult {
  const diagnostics: Diagnostic[] = [];
  const loaderConfs = proposals.filter((p): p is LoaderConfSettings => p.kind === 'loader.conf');
  const others = proposals.filter((p): p is MenuConfigSettings => p.kind === 'menu-config');

  // auto-entries no: hide our auto-detected entries, as sd-boot does.
  const noAuto = loaderConfs.find((p) => p.autoEntries !== undefined);
  let list = [...input];
  if (noAuto?.autoEntries === false) {
    const before = list.length;
    list = list.filter((e) => e.origin.source !== 'esp');
    if (list.length !== before)
      diagnostics.push(
        diag('info', SRC, `auto-entries no (${noAuto.from}): ${before - list.length} auto entries hidden`),
      );
  }

  list = dropBlscfgTwins(list, diagnostics);

  // Order: group, then BLS order inside group 0; Array.prototype.sort is stable, so the
  // other groups keep their input order.
  const ctx = opts.roleOf ? { roleOf: opts.roleOf } : undefined;
  const order = list.map((e, i) => ({ e, i }));
  order.sort((x, y) => {
    const g = groupOf(x.e) - groupOf(y.e);
    if (g !== 0) return g;
    return groupOf(x.e) === 0 ? compareEntries(x.e, y.e, ctx) : x.i - y.i;
  });
  const sorted = order.map((o) => o.e);

  // Unique ids: the first in menu order keeps its source's id (so it is the one `default` picks).
  const used = new Set<string>();
  const ids = sorted.map((e) => {
    if (!used.has(e.sourceId)) {
      used.add(e.sourceId);
      return e.sourceId;
    }
    let id = `${e.sourceId}@${e.origin.fsId}`;
    for (let n = 2; used.has(id); n++) id = `${e.sourceId}@${e.origin.fsId}#${n}`;
    used.add(id);
    diagnostics.push(
      diag('info', SRC, `id ${e.sourceId} appears twice; this one is ${id}`, {
        fsId: e.origin.fsId,
        file: e.origin.file,
      }),
    );
    return id;
  });

  const titles = disambiguateTitles(sorted.map((e, i) => ({ ...e, id: ids[i]! })));

  // Timeout.
  let timeout: TimeoutSetting;
  let timeoutSource: string;
  const lcTimeout = loaderConfs.find((p) => p.timeout !== undefined);
  const otherTimeout = others.find((p) => p.timeout !== undefined);
  if (opts.cliTimeout !== undefined && Number.isFinite(opts.cliTimeout)) {
    timeout = cliTimeoutSetting(opts.cliTimeout);
    timeoutSource = 'cli';
  } else if (lcTimeout?.timeout) {
    timeout = lcTimeout.timeout;
    timeoutSource = 'loader.conf';
  } else if (otherTimeout?.timeout) {
    timeout = otherTimeout.timeout;
    timeoutSource = fileNameOf(otherTimeout.from);
  } else {
    timeout = DEFAULT_TIMEOUT;
    timeoutSource = 'default';
  }

  const editor =
    loaderConfs.find((p) => p.editor !== undefined)?.editor ??
    others.find((p) => p.editor !== undefined)?.editor ??
    true;

  // Default.
  const pick = pickDefault(sorted, ids, loaderConfs, others, opts, diagnostics);
  let defaultId: string | undefined;
  let defaultReason: string;
  if (sorted.length === 0) {
    defaultReason = 'no entries';
  } else if (pick) {
    defaultId = ids[pick.index];
    defaultReason = pick.reason;
  } else {
    defaultId = ids[0];
    defaultReason = 'no entry may be selected automatically: first entry';
    if ((timeout.kind === 'seconds' && timeout.seconds === 0) || timeout.kind === 'menu-hidden') {
      timeout = { kind: 'seconds', seconds: NO_DEFAULT_TIMEOUT };
      timeoutSource = `${timeoutSource}, raised to ${NO_DEFAULT_TIMEOUT} s (no default)`;
    }
  }
  if (defaultId !== undefined) diagnostics.push(diag('info', SRC, `default entry ${defaultId}: ${defaultReason}`));

  const entries: MenuEntry[] = sorted.map((e, i) => ({
    id: ids[i]!,
    ...e,
    displayTitle: titles[i]!,
    index: i,
    default: ids[i] === defaultId,
  }));

  return {
    entries,
    settings: { timeout, timeoutSource, editor, ...(defaultId !== undefined ? { defaultId } : {}), defaultReason },
    diagnostics,
  };
}

/**
 * grub's blscfg turns the same /loader/entries snippets the BLS source reads into grub
 * entries with the same BLS id, filesystem and file. Keep the BLS one (the native reading)
 * and drop its grub twin, so the menu does not list every Fedora kernel twice. A grub
 * default naming that id still finds the BLS entry.
 */
function dropBlscfgTwins(list: SourceEntry[], diagnostics: Diagnostic[]): SourceEntry[] {
  const key = (e: SourceEntry) => `${e.idWithoutProfile ?? e.sourceId}\0${e.origin.fsId}\0${e.origin.file}`;
  const bls = new Set(list.filter((e) => e.origin.source === 'bls').map(key));
  if (bls.size === 0) return list;
  return list.filter((e) => {
    if (e.origin.source !== 'grub' || !bls.has(key(e))) return true;
    diagnostics.push(
      diag('info', SRC, `grub blscfg entry ${e.sourceId} is the BLS entry of the same file; listed once`, {
        fsId: e.origin.fsId,
        file: e.origin.file,
      }),
    );
    return false;
  });
}

function pickDefault(
  sorted: readonly SourceEntry[],
  ids: readonly string[],
  loaderConfs: readonly LoaderConfSettings[],
  others: readonly MenuConfigSettings[],
  opts: FinalizeOptions,
  diagnostics: Diagnostic[],
): { index: number; reason: string } | undefined {
  // Globs match the id each source gave or the final one (lower-cased, suffix included), in
  // menu order, skipping entries that cannot boot (sd-boot never lists those, so never picks them).
  const globIndex = (glob: string): number =>
    sorted.findIndex(
      (e, i) => isBootable(e) && (fnmatch(glob, e.sourceId.toLowerCase()) || fnmatch(glob, ids[i]!.toLowerCase())),
    );

  if (opts.cliDefault !== undefined) {
    const exact = ids.indexOf(opts.cliDefault);
    const i = exact >= 0 ? exact : globIndex(opts.cliDefault.toLowerCase());
    if (i >= 0) return { index: i, reason: `--default ${opts.cliDefault}` };
    diagnostics.push(diag('warning', SRC, `--default ${opts.cliDefault} matches no entry`));
  }

  const saved = (id: string | undefined, what: string): { index: number; reason: string } | undefined => {
    if (id === undefined) return undefined;
    const i = ids.indexOf(id);
    if (i >= 0 && isBootable(sorted[i]!)) return { index: i, reason: `${what} ${id} (${opts.stateFrom ?? 'state'})` };
    diagnostics.push(
      diag('warning', SRC, `${what} ${id} (${opts.stateFrom ?? 'state'}) is ${i >= 0 ? 'not bootable' : 'gone'}`),
    );
    return undefined;
  };
  const chosen = saved(opts.oneShotId, 'one-shot') ?? saved(opts.savedDefaultId, 'saved default');
  if (chosen) return chosen;

  const lc = loaderConfs.find((p) => p.defaultGlob !== undefined);
  if (lc?.defaultGlob !== undefined) {
    const glob = lc.defaultGlob.toLowerCase();
    if (glob === '@saved') {
      const i = opts.savedId !== undefined ? ids.indexOf(opts.savedId) : -1;
      if (i >= 0) return { index: i, reason: `loader.conf default @saved (${lc.from}): ${opts.savedId}` };
      diagnostics.push(
        diag(
          'info',
          SRC,
          opts.savedId === undefined
            ? `default @saved (${lc.from}): no entry booted yet`
            : `default @saved: saved entry ${opts.savedId} is gone`,
        ),
      );
    } else {
      const i = globIndex(glob);
      if (i >= 0) return { index: i, reason: `loader.conf default ${lc.defaultGlob} (${lc.from})` };
      diagnostics.push(
        diag('warning', SRC, `loader.conf default ${lc.defaultGlob} (${lc.from}) matches no bootable entry`),
      );
    }
  }

  for (const p of others) {
    if (p.defaultId === undefined) continue;
    const i = sorted.findIndex((e, k) => e.sourceId === p.defaultId || ids[k] === p.defaultId);
    if (i >= 0 && isBootable(sorted[i]!)) return { index: i, reason: `default of ${p.from}` };
    diagnostics.push(
      diag('warning', SRC, `default ${p.defaultId} of ${p.from} is ${i >= 0 ? 'not bootable' : 'not in the menu'}`),
    );
  }

  const i = sorted.findIndex(autoSelectable);
  if (i >= 0) return { index: i, reason: 'first entry in menu order' };
  return undefined;
}
