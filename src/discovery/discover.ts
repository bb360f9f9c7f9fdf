// Discovery entry point: devices → partitions → filesystems → entries → sorted menu.
// Devices are scanned concurrently under a deadline (worker threads in the bundle); entry
// sources then run over every readable filesystem, each isolated so one broken source or
// config only costs its own entries. For live menus the cross-disk sources run again as
// each device arrives, reusing every evaluation the new filesystems cannot change
// (sources/evaluations.ts), so a discovery evaluates each config about once, not once per device.

import * as path from 'node:path';
import { diag, errorMessage, type Diagnostic } from './diagnostics';
import { devicesSettled, enumerateBlockDevices, imageDevice } from './devices';
import { HostDirFileSystem } from './fs/hostdir';
import type { FileSystem } from './fs/types';
import type {
  DeviceInfo,
  DeviceReport,
  DiscoveryResult,
  FsId,
  FsReport,
  MenuEntry,
  SavedState,
  SourceEntry,
} from './model';
import type { EfiArch, EntrySourceFn, EvaluationSession, MountedFs, ProposedSettings } from './sources/context';
import { globalSources, localSources } from './sources';
import { Evaluations } from './sources/evaluations';
import { runSourcesOver, type LocalResult } from './local';
import { dedupeTargets } from './dedupe';
import { EntryBudget } from './entry-budget';
import { DEFAULT_DEADLINE_MS } from './limits';
import { finalizeEntries, type FinalizeOptions } from './entries/select';
import { readSavedState } from '../state/statefile';
import { defaultScanner, type DeviceScanner } from './worker/pool';

export interface DiscoverOptions {
  /** Image files or block devices to scan (`--disk`). */
  readonly disks?: readonly string[];
  /**
   * Devices the caller describes itself, scanned like `disks` (a network disk: a memfd under
   * the name of its URL, docs/net-bootfiles.md §9).
   */
  readonly devices?: readonly DeviceInfo[];
  /** Host directories served as filesystems (`--root DIR[,esp|,xbootldr][,vfat]`). */
  readonly roots?: readonly string[];
  /** Enumerate /sys/class/block as well (default: true when no disks/roots are given). */
  readonly sysBlock?: boolean;
  /**
   * Per-device deadline in ms (default 30000; entries of fast disks show up meanwhile); also
   * the wall-clock budget of each cross-disk source (grub, syslinux, sprout) per run.
   */
  readonly deadlineMs?: number;
  readonly arch?: EfiArch;
  /** The URL this boot came from, for `uki-url :name` entries (net.origin; docs/net-bootfiles.md §8). */
  readonly originUrl?: string;
  /** `--timeout` from the command line: overrides every config. */
  readonly cliTimeout?: number;
  /** `--default ID|GLOB` from the command line: overrides every config. */
  readonly cliDefault?: string;
  /** Entry sources to run (default: all). */
  readonly sources?: readonly EntrySourceFn[];
  /** Scanner to use (default: worker threads in the bundle, in-process otherwise). */
  readonly scanner?: DeviceScanner;
  /** Called once the device list is known (before any scan finishes). */
  readonly onStart?: (devices: readonly DeviceInfo[]) => void;
  /** Called as each device finishes, for live menus. */
  readonly onDevice?: (report: DeviceReport) => void;
  /** Called with the sorted list whenever it changes (after each device, then final). */
  readonly onEntries?: (entries: readonly MenuEntry[]) => void;
  /**
   * What the cross-disk sources re-evaluate when a device arrives: only what its
   * filesystems can change ('affected', the default), or everything ('all': the old
   * behaviour, kept as the baseline of bench/discovery).
   */
  readonly reevaluate?: 'all' | 'affected';
  /** Entries (and their bytes) kept per disk and per run (default: limits.ts; tests use small ones). */
  readonly entryLimits?: {
    readonly perDisk: number;
    readonly perRun: number;
    readonly bytesPerDisk?: number;
    readonly bytesPerRun?: number;
  };
}

/** What the cross-disk sources did in one discovery (for tests and bench/discovery). */
export interface DiscoveryStats {
  /** Runs of the cross-disk sources: each of them once per live update and once at the end. */
  readonly sourceRuns: number;
  /** Evaluations made in those runs (a filesystem probed, a config evaluated); the rest were reused. */
  readonly evaluations: number;
}

export interface DiscoverySession {
  readonly result: DiscoveryResult;
  /** A reader for a discovered filesystem (for loading kernels). */
  fs(fsId: FsId): FileSystem | undefined;
  /** The mounted filesystems, in discovery order. */
  readonly mounts: readonly MountedFs[];
  close(): Promise<void>;
  /** A device never answered; leave with exitNow() (src/native/exit.ts), not process.exit. */
  hasStuckDevice(): boolean;
  readonly stats: DiscoveryStats;
}

export function hostArch(): EfiArch {
  switch (process.arch) {
    case 'x64':
      return 'x64';
    case 'ia32':
      return 'ia32';
    case 'arm64':
      return 'aa64';
    case 'arm':
      return 'arm';
    case 'riscv64':
      return 'riscv64';
    case 'loong64':
      return 'loongarch64';
    default:
      return 'x64';
  }
}

/** `DIR[,esp|,xbootldr][,vfat]` → a pseudo-device holding one host-directory filesystem. */
function rootDevice(spec: string, index: number): { report: DeviceReport; mount: MountedFs } {
  const [dir = '.', ...flags] = spec.split(',');
  const role = flags.includes('esp') ? 'esp' : flags.includes('xbootldr') ? 'xbootldr' : undefined;
  const fat = flags.includes('vfat') || role !== undefined;
  const name = `root${index}`;
  const fsReport: FsReport = {
    fsId: `${name}:0`,
    device: path.resolve(dir),
    partition: 0,
    offset: 0,
    size: 0,
    probe: { type: fat ? 'vfat' : 'ext4', readable: true, label: path.basename(path.resolve(dir)) },
    ...(role ? { role } : {}),
  };
  const device: DeviceInfo = {
    path: path.resolve(dir),
    name,
    bus: 'other',
    size: 0,
    removable: false,
    readOnly: true,
  };
  return {
    report: { device, filesystems: [fsReport], diagnostics: [], elapsedMs: 0 },
    mount: { report: fsReport, fs: new HostDirFileSystem(path.resolve(dir), fat) },
  };
}

/**
 * Local results of every device so far + the global sources over everything, merged. Entries
 * are admitted to the per-disk and per-run budgets in discovery order, local ones first; the
 * global sources see the same budget to skip configs of a disk that is already full.
 */
async function collect(
  global: readonly EntrySourceFn[],
  localOnRoots: readonly EntrySourceFn[],
  mounts: readonly MountedFs[],
  rootMounts: readonly MountedFs[],
  locals: readonly (LocalResult | undefined)[],
  arch: EfiArch,
  session: EvaluationSession,
  sourceBudgetMs: number,
  entryLimits: DiscoverOptions['entryLimits'],
  originUrl?: string,
): Promise<{ entries: SourceEntry[]; proposals: ProposedSettings[]; diagnostics: Diagnostic[] }> {
  const origin = originUrl !== undefined ? { originUrl } : {};
  const budget = entryLimits
    ? new EntryBudget(entryLimits.perDisk, entryLimits.perRun, entryLimits.bytesPerDisk, entryLimits.bytesPerRun)
    : new EntryBudget();
  const local = [
    ...locals.filter((l): l is LocalResult => l !== undefined),
    // --root trees have no scan worker: their local sources run here.
    await runSourcesOver(localOnRoots, rootMounts, arch, { all: mounts, entryBudget: budget, ...origin }),
  ];
  const admitted = budget.admit(local.flatMap((p) => p.entries));
  const cross = await runSourcesOver(global, mounts, arch, {
    ...origin,
    all: mounts,
    session,
    budgetMs: sourceBudgetMs,
    entryBudget: budget,
  });
  const entries = [...admitted, ...budget.admit(cross.entries)];
  const parts = [...local, cross];
  const proposals = parts.flatMap((p) => p.proposals);
  const diagnostics = [...parts.flatMap((p) => p.diagnostics), ...budget.diagnostics()];
  const merged = dedupeTargets(entries, proposals, diagnostics);
  // Ids are made unique by finalizeEntries, after sorting (the copy with more tries keeps it).
  return { entries: merged.entries, proposals: merged.proposals, diagnostics };
}

/**
 * TENDRIL_DEBUG_SCAN_DELAY="name=ms,..." holds back the scan of the named devices: a slow
 * disk on demand, to watch (and test) entries appearing in the menu as devices answer.
 */
function debugDelays(): Map<string, number> {
  const m = new Map<string, number>();
  for (const part of (process.env.TENDRIL_DEBUG_SCAN_DELAY ?? '').split(',')) {
    const [name, ms] = part.split('=');
    if (name && ms && Number(ms) > 0) m.set(name, Math.min(Number(ms), 600_000));
  }
  return m;
}

export async function discover(opts: DiscoverOptions = {}): Promise<DiscoverySession> {
  const deadlineMs = opts.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const arch = opts.arch ?? hostArch();
  // With explicit sources everything runs here; by default per-disk sources run in the
  // scan workers, next to the disk, and only the cross-disk ones run on this thread.
  const splitLocal = opts.sources === undefined;
  const global = opts.sources ?? globalSources;
  const localOnRoots = splitLocal ? localSources : [];
  const diagnostics: Diagnostic[] = [];
  const scanner = opts.scanner ?? defaultScanner();

  const infos: DeviceInfo[] = [];
  const taken = new Set<string>();
  for (const d of opts.disks ?? []) {
    try {
      infos.push(imageDevice(d, taken));
    } catch (e) {
      diagnostics.push(diag('error', 'device', `cannot use ${d}: ${errorMessage(e)}`, { device: d }));
    }
  }
  for (const d of opts.devices ?? []) {
    if (taken.has(d.name)) continue;
    infos.push(d);
    taken.add(d.name);
  }
  const useSys =
    opts.sysBlock ??
    ((opts.disks ?? []).length === 0 && (opts.roots ?? []).length === 0 && (opts.devices ?? []).length === 0);
  if (useSys) {
    const late = await devicesSettled();
    if (late) diagnostics.push(late);
    const en = enumerateBlockDevices();
    diagnostics.push(...en.diagnostics);
    for (const d of en.devices) {
      if (taken.has(d.name)) continue;
      infos.push(d);
      taken.add(d.name);
    }
  }

  // Reports and mounts keep discovery order (the order devices were listed), whatever
  // order the scans finish in.
  const reports = new Array<DeviceReport | undefined>(infos.length);
  const mountsByDevice: MountedFs[][] = infos.map(() => []);
  const locals = new Array<LocalResult | undefined>(infos.length);
  const rootMounts: MountedFs[] = [];
  const rootReports: DeviceReport[] = [];
  (opts.roots ?? []).forEach((spec, i) => {
    const r = rootDevice(spec, i);
    rootReports.push(r.report);
    rootMounts.push(r.mount);
  });

  const allMounts = (): MountedFs[] => [...rootMounts, ...mountsByDevice.flat()];
  const finalizeOpts = (mounts: readonly MountedFs[], saved?: SavedState): FinalizeOptions => {
    const roles = new Map(mounts.map((m) => [m.report.fsId, m.report.role] as const));
    return {
      ...(opts.cliTimeout !== undefined ? { cliTimeout: opts.cliTimeout } : {}),
      ...(opts.cliDefault !== undefined ? { cliDefault: opts.cliDefault } : {}),
      ...(saved?.oneShotId !== undefined ? { oneShotId: saved.oneShotId } : {}),
      ...(saved?.defaultId !== undefined ? { savedDefaultId: saved.defaultId } : {}),
      ...(saved?.lastId !== undefined ? { savedId: saved.lastId } : {}),
      ...(saved ? { stateFrom: `${saved.file.fsId} ${saved.file.path}` } : {}),
      roleOf: (id: FsId) => roles.get(id),
    };
  };

  // The sources over every filesystem known so far, one run at a time: runs share the
  // memory of evaluations, which first forgets what the filesystems new to it can change.
  const evaluations = new Evaluations();
  const known = new Set<FsId>();
  let sourceRuns = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const refresh = () => {
    const run = queue.then(async () => {
      const mounts = allMounts();
      const localsNow = [...locals];
      const added = mounts.filter((m) => !known.has(m.report.fsId));
      for (const m of added) known.add(m.report.fsId);
      if (opts.reevaluate === 'all') evaluations.clear();
      else await evaluations.forget(added);
      sourceRuns += global.length;
      return {
        mounts,
        ran: await collect(
          global,
          localOnRoots,
          mounts,
          rootMounts,
          localsNow,
          arch,
          evaluations,
          deadlineMs,
          opts.entryLimits,
          opts.originUrl,
        ),
      };
    });
    queue = run.catch(() => undefined);
    return run;
  };

  opts.onStart?.(infos);
  const delays = debugDelays();
  await Promise.all(
    infos.map(async (info, i) => {
      const delay = delays.get(info.name);
      if (delay) await new Promise((r) => setTimeout(r, delay));
      const out = await scanner.scan(info, deadlineMs, {
        arch,
        local: splitLocal,
        ...(opts.originUrl !== undefined ? { originUrl: opts.originUrl } : {}),
      });
      locals[i] = out.local;
      reports[i] = out.report;
      for (const fsr of out.report.filesystems) {
        const r = out.readers.get(fsr.fsId);
        if (r) mountsByDevice[i]!.push({ report: fsr, fs: r });
      }
      opts.onDevice?.(out.report);
      if (opts.onEntries) {
        // Live view: what the filesystems found so far yield; the final pass below (with
        // every filesystem visible) is authoritative.
        const partial = await refresh();
        opts.onEntries(
          finalizeEntries(partial.ran.entries, partial.ran.proposals, finalizeOpts(partial.mounts)).entries,
        );
      }
    }),
  );

  const { mounts, ran } = await refresh();
  const savedState = await readSavedState(mounts, ran.proposals, diagnostics);
  const fin = finalizeEntries(ran.entries, ran.proposals, finalizeOpts(mounts, savedState));
  opts.onEntries?.(fin.entries);
  const grubOneShots = ran.proposals.flatMap((p) => (p.kind === 'menu-config' && p.oneShot ? [p.oneShot] : []));

  const result: DiscoveryResult = {
    devices: [...rootReports, ...reports.filter((r): r is DeviceReport => r !== undefined)],
    entries: fin.entries,
    settings: fin.settings,
    diagnostics: [...diagnostics, ...ran.diagnostics, ...fin.diagnostics],
    ...(grubOneShots.length > 0 ? { grubOneShots } : {}),
    ...(savedState ? { savedState } : {}),
  };
  const byId = new Map(mounts.map((m) => [m.report.fsId, m.fs] as const));
  return {
    result,
    mounts,
    fs: (id) => byId.get(id),
    close: () => scanner.close(),
    hasStuckDevice: () => scanner.hasStuck(),
    stats: { sourceRuns, evaluations: evaluations.count },
  };
}
