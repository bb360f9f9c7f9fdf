// syslinuxSource: finds one SYSLINUX/EXTLINUX/ISOLINUX config per filesystem (probe order of
// docs/grub-syslinux.md §B1) and turns its labels into source entries. Entry ids are
// `syslinux:<fsId>:<config path>:<label>`; the origin is the LABEL line.

import { settleConfig, unsettled, type Budget } from '../../budget';
import { diag, errorMessage, type Diagnostic } from '../../diagnostics';
import { CONFIG_BUDGET_MS } from '../../limits';
import { FsError, joinPath, readTextLimited, statOrNull, type FileSystem } from '../../fs/types';
import {
  originOf,
  statusOf,
  type SourceEntry,
  type BootTarget,
  type EntryStatus,
  type FileRef,
  type TimeoutSetting,
} from '../../model';
import type { EntrySourceFn, MountedFs, ProposedSettings, SourceContext, SourceResult } from '../context';
import { EvaluationTable } from '../evaluations';
import { parseSyslinux, type Label, type ParsedConfig, type ReadResult } from './parser';

const SOURCE = 'syslinux';
const MAX_CONFIG_BYTES = 1 << 20;

/** docs/grub-syslinux.md §B1: u-root's directory × file order, then U-Boot's /boot/extlinux/extlinux.conf. */
export const PROBE_PATHS: readonly string[] = (() => {
  const dirs = ['/boot/isolinux', '/isolinux', '/boot/syslinux', '/extlinux', '/syslinux', ''];
  const names = ['isolinux.cfg', 'extlinux.conf', 'syslinux.cfg'];
  const out: string[] = [];
  for (const d of dirs) for (const n of names) out.push(`${d}/${n}`);
  out.push('/boot/extlinux/extlinux.conf');
  return out;
})();

/** Extensions syslinux treats as non-Linux images (docs/grub-syslinux.md §B2 KERNEL). */
export const NON_LINUX_EXT: Record<string, string> = {
  '.c32': 'COM32 module',
  '.0': 'PXE bootstrap program',
  '.bin': 'boot sector',
  '.bs': 'boot sector',
  '.bss': 'boot sector',
  '.com': 'COMBOOT program',
  '.cbt': 'COMBOOT program',
  '.img': 'floppy image',
};
export const EXPLICIT_TYPES: Record<string, string> = {
  boot: 'boot sector',
  bss: 'boot sector',
  pxe: 'PXE bootstrap program',
  fdimage: 'floppy image',
  comboot: 'COMBOOT program',
  com32: 'COM32 module',
  config: 'CONFIG switch to another configuration file',
};

/** Each filesystem's scan, remembered under live discovery (it reads nothing else) unless it failed. */
const scans = new EvaluationTable<{ readonly r: SourceResult | undefined } | { readonly failed: string }>();

export const syslinuxSource: EntrySourceFn = async (ctx: SourceContext): Promise<SourceResult> => {
  const entries: SourceEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  let settings: ProposedSettings | undefined;
  for (const [k, mfs] of ctx.filesystems.entries()) {
    const fsId = mfs.report.fsId;
    ctx.progress?.({ fsId });
    if (scans.stillRunning(ctx, fsId)) {
      diagnostics.push(
        diag('error', SOURCE, 'not looked at again: the scan of an earlier pass still waits for a read', { fsId }),
      );
      continue;
    }
    // A fair share of the source's time budget per filesystem (budget.ts); a hard stop for reads.
    const source = ctx.budget;
    if (source?.expired) {
      diagnostics.push(
        diag('error', SOURCE, `not looked at: the time budget of the ${source.what} (${source.ms} ms) is spent`, {
          fsId,
        }),
      );
      continue;
    }
    const budget = source?.child(
      Math.min(CONFIG_BUDGET_MS, source.left() / (ctx.filesystems.length - k)),
      `syslinux config on ${fsId}`,
    );
    const work = scans.run(
      budget ? { ...ctx, budget } : ctx,
      fsId,
      async (ectx) => {
        try {
          return { r: await scanFilesystem(mfs, ectx.budget) };
        } catch (e) {
          return { failed: errorMessage(e) };
        }
      },
      (previous) => !('failed' in previous),
    );
    const settled = await settleConfig(work, budget);
    if (!settled.done) {
      diagnostics.push(diag('error', SOURCE, unsettled('looking for a syslinux config here', budget), { fsId }));
      continue;
    }
    const scan = settled.value;
    if ('failed' in scan) {
      diagnostics.push(diag('error', SOURCE, `scan failed: ${scan.failed}`, { fsId }));
      continue;
    }
    const r = scan.r;
    if (!r) continue;
    const part = [...r.diagnostics];
    entries.push(...r.entries);
    const first = r.settings && !settings;
    if (r.settings) {
      if (!settings) settings = r.settings;
      else part.push(diag('info', SOURCE, `settings of ${r.settings.from} not used; ${settings.from} came first`));
    }
    diagnostics.push(...part);
    // This filesystem is done: if the source's run is cut off later, its entries stay.
    ctx.partial?.({ entries: r.entries, diagnostics: part, ...(first && r.settings ? { settings: r.settings } : {}) });
  }
  return settings ? { entries, diagnostics, settings } : { entries, diagnostics };
};

async function findConfig(fs: FileSystem): Promise<string | undefined> {
  for (const p of PROBE_PATHS) {
    const st = await statOrNull(fs, p);
    if (st?.kind === 'file') return p;
  }
  return undefined;
}

/** Parse and evaluate the config of one filesystem; undefined when it has none. */
export async function scanFilesystem(mfs: MountedFs, budget?: Budget): Promise<SourceResult | undefined> {
  const path = await findConfig(mfs.fs);
  if (!path) return undefined;
  const reader = async (p: string): Promise<ReadResult> => {
    try {
      return { text: await readTextLimited(mfs.fs, p, MAX_CONFIG_BYTES) };
    } catch (e) {
      return { error: errorMessage(e), missing: e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR') };
    }
  };
  const cfg = await parseSyslinux(path, reader, SOURCE);
  return evaluate(cfg, mfs, path, budget);
}

/** Remove every `initrd=` word; return the last one's comma list (syslinux: the last wins). */
export function takeInitrdArg(cmdline: string): { cmdline: string; files?: string[] } {
  let files: string[] | undefined;
  const words = cmdline.split(/\s+/).filter(Boolean);
  const kept: string[] = [];
  for (const w of words) {
    if (w.startsWith('initrd=')) files = w.slice(7).split(',').filter(Boolean);
    else kept.push(w);
  }
  return files ? { cmdline: kept.join(' '), files } : { cmdline: kept.join(' ') };
}

function extOf(p: string): string {
  const base = p.slice(p.lastIndexOf('/') + 1).toLowerCase();
  const i = base.lastIndexOf('.');
  return i < 0 ? '' : base.slice(i);
}

function baseName(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1).toLowerCase();
}

interface Built {
  status: EntryStatus;
  diagnostics: Diagnostic[];
}

/** Turn the parsed config into entries and settings. */
export async function evaluate(
  cfg: ParsedConfig,
  mfs: MountedFs,
  cfgPath: string,
  budget?: Budget,
): Promise<SourceResult> {
  const fsId = mfs.report.fsId;
  const diagnostics: Diagnostic[] = cfg.diagnostics.map((d) => ({ ...d, fsId }));
  const entries: SourceEntry[] = [];
  const ids = new Map<string, number>();
  const byLabel = new Map<string, SourceEntry>();
  const labels = [...cfg.labels];

  // DEFAULT that is not a label: a menu module (old style UI) or a kernel command line.
  let defaultLabel: string | undefined;
  if (cfg.default) {
    const [word, ...rest] = cfg.default.value.split(/\s+/);
    const hit = word ? findLabel(labels, word) : undefined;
    if (hit) {
      defaultLabel = hit.name;
      if (rest.length)
        diagnostics.push(
          diag('info', SOURCE, 'arguments after the DEFAULT label are ignored', { fsId, ...cfg.default }),
        );
    } else if (word && extOf(word) === '.c32') {
      // `DEFAULT vesamenu.c32` is the pre-UI way of starting the menu.
    } else if (word) {
      const synth: Label = {
        name: word,
        file: cfg.default.file,
        line: cfg.default.line,
        menuDefault: false,
        hidden: false,
      };
      synth.kernel = { keyword: 'kernel', path: word, extra: '', file: cfg.default.file, line: cfg.default.line };
      synth.append = rest.join(' ');
      labels.unshift(synth);
      defaultLabel = word;
      diagnostics.push(
        diag('info', SOURCE, `DEFAULT ${word} is not a label: used as a kernel command line`, { fsId, ...cfg.default }),
      );
    }
  }

  for (const l of labels) {
    if (l.navigation) continue;
    if (budget?.expired) {
      // Checking each label's files costs reads; the time budget (budget.ts) bounds them all.
      const b = budget.spent();
      diagnostics.push(
        diag(
          'error',
          SOURCE,
          `stopped at LABEL ${l.name} after ${b.ms} ms, the time budget of the ${b.what}; labels before it are kept`,
          { fsId, file: l.file, line: l.line },
        ),
      );
      break;
    }
    let built: Built;
    try {
      built = await buildTarget(cfg, l, mfs);
    } catch (e) {
      // An I/O error while checking files disables this label, not the whole config.
      const reason = `label ${l.name}: ${errorMessage(e)}`;
      built = {
        status: { ok: false, reason },
        diagnostics: [diag('error', SOURCE, reason, { fsId, file: l.file, line: l.line })],
      };
    }
    const baseId = `syslinux:${fsId}:${cfgPath}:${l.name}`;
    const n = (ids.get(baseId) ?? 0) + 1;
    ids.set(baseId, n);
    if (n > 1)
      built.diagnostics.push(
        diag('warning', SOURCE, `duplicate LABEL ${l.name}; listed as #${n}`, { fsId, file: l.file, line: l.line }),
      );
    const title = l.menuLabel?.trim() || l.name;
    const e: SourceEntry = {
      sourceId: n > 1 ? `${baseId}#${n}` : baseId,
      title,
      origin: originOf('syslinux', mfs.report, l.file, l.line),
      status: built.status,
      ...(l.hidden ? { hidden: true } : {}),
      ...(l.group ? { group: l.group } : {}),
      diagnostics: built.diagnostics,
    };
    entries.push(e);
    if (!byLabel.has(l.name)) byLabel.set(l.name, e);
  }

  // Default: ONTIMEOUT (what boots when the countdown ends) > MENU DEFAULT > DEFAULT.
  let defaultId: string | undefined;
  const ontimeout = cfg.ontimeout ? findLabel(labels, cfg.ontimeout.value.split(/\s+/)[0] ?? '') : undefined;
  const menuDefault = labels.find((l) => l.menuDefault);
  if (cfg.ontimeout && !ontimeout) {
    diagnostics.push(
      diag('warning', SOURCE, `ONTIMEOUT ${cfg.ontimeout.value} names no label`, { fsId, ...cfg.ontimeout }),
    );
  }
  const chosen = ontimeout ?? menuDefault ?? (defaultLabel !== undefined ? findLabel(labels, defaultLabel) : undefined);
  if (chosen) defaultId = byLabel.get(chosen.name)?.sourceId;
  if (cfg.default && defaultLabel === undefined && !/\.c32$/i.test(cfg.default.value.split(/\s+/)[0] ?? '')) {
    diagnostics.push(diag('warning', SOURCE, `DEFAULT ${cfg.default.value} names no label`, { fsId, ...cfg.default }));
  }

  let timeout: TimeoutSetting | undefined;
  if (cfg.timeout) {
    timeout =
      cfg.timeout.tenths === 0
        ? { kind: 'menu-force' }
        : { kind: 'seconds', seconds: Math.ceil(cfg.timeout.tenths / 10) };
  }
  const settings: ProposedSettings = {
    kind: 'menu-config',
    ...(timeout ? { timeout } : {}),
    ...(defaultId ? { defaultId } : {}),
    from: `${fsId} ${cfg.mainFile}`,
  };
  return { entries, diagnostics, settings };
}

function findLabel(labels: readonly Label[], name: string): Label | undefined {
  return labels.find((l) => l.name === name) ?? labels.find((l) => l.name.toLowerCase() === name.toLowerCase());
}

/** A file a directive names: its place (if the name makes one), and whether a regular file is there. */
interface Named {
  readonly ref?: FileRef;
  readonly ok: boolean;
}
type Where = { file: string; line: number };
type RefFn = (p: string, w: Where, what: string) => Promise<Named>;

async function buildTarget(cfg: ParsedConfig, l: Label, mfs: MountedFs): Promise<Built> {
  const fsId = mfs.report.fsId;
  const ds: Diagnostic[] = [];
  let reason: string | undefined;
  const at = (w: Where) => ({ fsId, file: w.file, line: w.line });
  /** A problem that keeps the label from booting; the first one is its reason. */
  const problem = (msg: string, w: Where): void => {
    reason ??= msg;
    ds.push(diag('error', SOURCE, msg, at(w)));
  };
  /** A label that names nothing tendril can boot or show as a target. */
  const fail = (msg: string, w: Where): Built => {
    problem(msg, w);
    return { status: statusOf(undefined, reason), diagnostics: ds };
  };
  if (l.localboot)
    return fail('LOCALBOOT: boots the local disk; tendril continues the boot order instead', l.localboot);
  const k = l.kernel;
  if (!k) return fail(`label ${l.name} has no KERNEL or LINUX line`, l);
  let append = l.append ?? cfg.globalAppend ?? '';
  if (k.extra) append = `${k.extra} ${append}`.trim();
  if (l.ipappend) ds.push(diag('info', SOURCE, 'IPAPPEND ignored (no PXE network state)', at(l.ipappend)));

  const ref: RefFn = async (p, w, what) => {
    let path: string;
    try {
      path = joinPath(cfg.cwd, p);
    } catch (e) {
      problem(`${what} ${JSON.stringify(p)}: ${errorMessage(e)}`, w);
      return { ok: false };
    }
    const st = await statOrNull(mfs.fs, path);
    if (st?.kind !== 'file') {
      problem(`${what} ${path} ${st ? 'is not a regular file' : 'not found'}`, w);
      return { ref: { fsId, path }, ok: false };
    }
    return { ref: { fsId, path }, ok: true };
  };

  const explicit = EXPLICIT_TYPES[k.keyword];
  const ext = extOf(k.path);
  const isMboot = baseName(k.path) === 'mboot.c32' && (k.keyword === 'kernel' || k.keyword === 'com32');
  if (isMboot) return multiboot(l, append, fsId, ds, ref, problem, () => reason);
  const nonLinux = explicit ?? (k.keyword === 'kernel' ? NON_LINUX_EXT[ext] : undefined);
  if (nonLinux) return fail(`${k.keyword.toUpperCase()} ${k.path}: ${nonLinux}, not bootable by kexec`, k);

  const kernel = await ref(k.path, k, 'kernel');
  const taken = takeInitrdArg(append);
  let initrdNames: { files: string[]; where: Where } | undefined;
  if (l.initrd) initrdNames = { files: l.initrd.files, where: l.initrd };
  else if (taken.files) initrdNames = { files: taken.files, where: l };
  // Every file named has a place: the target can be shown even if some file is missing.
  let located = kernel.ref !== undefined;
  const initrds: FileRef[] = [];
  for (const f of initrdNames?.files ?? []) {
    const r = await ref(f, initrdNames!.where, 'initrd');
    if (r.ref) initrds.push(r.ref);
    else located = false;
  }
  let devicetree: FileRef | undefined;
  if (l.fdt) {
    const r = await ref(l.fdt.path, l.fdt, 'devicetree');
    devicetree = r.ref;
    if (!r.ref) located = false;
  } else if (l.fdtdir) {
    ds.push(
      diag('info', SOURCE, 'FDTDIR: the board DTB name is chosen by firmware; no devicetree passed', at(l.fdtdir)),
    );
  }
  const overlays: FileRef[] = [];
  for (const o of l.overlays?.paths ?? []) {
    const r = await ref(o, l.overlays!, 'devicetree overlay');
    if (r.ref) overlays.push(r.ref);
    else located = false;
  }
  const target: BootTarget | undefined =
    kernel.ref && located
      ? {
          kind: 'linux',
          kernel: kernel.ref,
          initrds,
          cmdline: taken.cmdline,
          ...(devicetree ? { devicetree } : {}),
          ...(overlays.length ? { devicetreeOverlays: overlays } : {}),
        }
      : undefined;
  return { status: statusOf(target, reason), diagnostics: ds };
}

/** `KERNEL mboot.c32` + `APPEND xen args --- kernel args --- initrd`: Xen via multiboot. */
async function multiboot(
  l: Label,
  append: string,
  fsId: string,
  ds: Diagnostic[],
  ref: RefFn,
  problem: (msg: string, w: Where) => void,
  reason: () => string | undefined,
): Promise<Built> {
  const parts = append
    .split(/\s+---(?:\s+|$)/)
    .map((s) => s.trim())
    .filter(Boolean);
  const where = l.kernel!;
  if (parts.length === 0) {
    problem('mboot.c32 without a multiboot kernel in APPEND', where);
    return { status: statusOf(undefined, reason()), diagnostics: ds };
  }
  const mods: { file: FileRef; cmdline: string }[] = [];
  let kernel: FileRef | undefined;
  let located = true;
  let kcmd = '';
  for (const [i, part] of parts.entries()) {
    const [file, ...args] = part.split(/\s+/);
    const r = await ref(file!, where, i === 0 ? 'multiboot kernel' : 'multiboot module');
    if (!r.ref) located = false;
    else if (i === 0) {
      kernel = r.ref;
      kcmd = args.join(' ');
    } else mods.push({ file: r.ref, cmdline: args.join(' ') });
  }
  const msg = 'multiboot (mboot.c32) entry: not bootable by kexec yet';
  ds.push(diag('warning', SOURCE, msg, { fsId, file: where.file, line: where.line }));
  const target: BootTarget | undefined =
    kernel && located ? { kind: 'multiboot', kernel, cmdline: kcmd, modules: mods } : undefined;
  return { status: statusOf(target, reason() ?? msg), diagnostics: ds };
}
