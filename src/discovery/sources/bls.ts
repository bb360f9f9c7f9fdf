// Boot Loader Specification Type #1 entries (docs/bls.md §1-§5) and loader.conf (§11).
// Where: `/loader/entries/*.conf` on ESP, XBOOTLDR and MBR 0xEA partitions; on Linux
// filesystems also `/boot/loader/entries` (a root filesystem without a separate /boot,
// Fedora/RHEL's grub blscfg layout). loader.conf is read from the ESP only.

import { diag, errorMessage, type Diagnostic } from '../diagnostics';
import { FsError, readFileLimited, type DirEntry } from '../fs/types';
import { capPerFile } from '../capped';
import { BLS_LIMITS, parseBlsEntry } from '../config/blsfile';
import { loadGrubVars, type ExpansionBudget, type VarFs, type VarLookup } from '../config/kernelopts';
import { entryBytes } from '../entry-budget';
import {
  MAX_DIAGNOSTICS_PER_FILE,
  MAX_ENTRIES_PER_DISK,
  MAX_ENTRY_BYTES_PER_DISK,
  MAX_EXPANSION_BYTES_PER_DISK,
} from '../limits';
import { LOADERCONF_MAX_BYTES, parseLoaderConf } from '../config/loaderconf';
import { buildBlsEntry } from '../entries/blsentry';
import { ROOTFS_ENTRIES_DIR } from '../entries/paths';
import type { FsType, SourceEntry } from '../model';
import type { EntrySourceFn, LoaderConfSettings, MountedFs, SourceContext } from './context';

const SRC = 'bls';
/** More snippets than this in one directory is not a real installation. */
export const MAX_ENTRIES_PER_DIR = 1024;
/** Names read from one directory: the cap stops the reading, it does not follow it. */
const MAX_NAMES_PER_DIR = 4 * MAX_ENTRIES_PER_DIR;
const SREL_MAX_BYTES = 4096;

// Keyed by string: a filesystem without a probe is matched by its reader's type name.
const LINUX_FS: ReadonlySet<string> = new Set<FsType>(['ext2', 'ext3', 'ext4', 'xfs', 'btrfs', 'f2fs']);

/** Which entry directories to scan on this filesystem. */
export function entryDirs(m: MountedFs): string[] {
  const r = m.report;
  if (r.role === 'esp' || r.role === 'xbootldr' || r.role === 'mbr-boot') return ['/loader/entries'];
  const type = r.probe?.type ?? m.fs.type;
  if (LINUX_FS.has(type) || (r.probe === undefined && m.fs.type === 'hostdir'))
    return ['/loader/entries', ROOTFS_ENTRIES_DIR];
  return [];
}

/** sd-boot's valid_type1_filename(); also says why a name is skipped when it is worth saying. */
function skipReason(d: DirEntry): string | null | undefined {
  const lower = d.name.toLowerCase();
  if (!lower.endsWith('.conf') || d.name.startsWith('.')) return null; // not ours, silently
  if (lower.startsWith('auto-')) return "names starting with 'auto-' are reserved for automatic entries";
  if (d.kind === 'symlink') return 'symlinks are not followed in entry directories (BLS: regular files only)';
  if (d.kind !== 'file') return 'not a regular file';
  return undefined;
}

async function readOptional(
  m: MountedFs,
  path: string,
  max: number,
  diagnostics: Diagnostic[],
): Promise<Uint8Array | undefined> {
  try {
    return await readFileLimited(m.fs, path, max);
  } catch (e) {
    if (e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return undefined;
    diagnostics.push(diag('warning', SRC, `cannot read: ${errorMessage(e)}`, { fsId: m.report.fsId, file: path }));
    return undefined;
  }
}

/** `entries.srel`: absent or 'type1' means BLS semantics; anything else means "not ours". */
async function srelAllows(m: MountedFs, dir: string, diagnostics: Diagnostic[]): Promise<boolean> {
  const path = `${dir}.srel`;
  const b = await readOptional(m, path, SREL_MAX_BYTES, diagnostics);
  if (!b) return true;
  const text = new TextDecoder('utf-8').decode(b);
  if (text.trim() === 'type1') return true;
  diagnostics.push(
    diag(
      'warning',
      SRC,
      `${path} says ${JSON.stringify(text.trim().slice(0, 40))}, not "type1": the directory uses other semantics; skipped`,
      {
        fsId: m.report.fsId,
        file: path,
        line: 1,
      },
    ),
  );
  return false;
}

/** Grub variable sources for a snippet on `m`: that filesystem, then ESPs (same disk first). */
function varFilesystems(ctx: SourceContext, m: MountedFs): VarFs[] {
  const esps = ctx.filesystems.filter((f) => f.report.role === 'esp' && f !== m);
  esps.sort((a, b) => Number(a.report.device !== m.report.device) - Number(b.report.device !== m.report.device));
  return [m, ...esps].map((f) => ({ fs: f.fs, fsId: f.report.fsId, esp: f.report.role === 'esp' }));
}

/** What one run of the BLS source may still spend, per disk. */
interface DiskBudgets {
  /** Entries and bytes each disk may still add (limits.ts, less what discovery holds). */
  readonly entries: Map<string, { entries: number; bytes: number }>;
  /** What the snippets of each disk may still expand to. */
  readonly expansion: Map<string, ExpansionBudget>;
}

async function scanDir(
  ctx: SourceContext,
  m: MountedFs,
  dir: string,
  vars: () => Promise<{ lookup: VarLookup; diagnostics: Diagnostic[] }>,
  budgets: DiskBudgets,
): Promise<{ entries: SourceEntry[]; diagnostics: Diagnostic[] }> {
  const diagnostics: Diagnostic[] = [];
  const entries: SourceEntry[] = [];
  const fsId = m.report.fsId;
  const device = m.report.device;
  let list: DirEntry[];
  try {
    list = await m.fs.readdir(dir, { limit: MAX_NAMES_PER_DIR });
  } catch (e) {
    if (!(e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR'))) {
      diagnostics.push(diag('warning', SRC, `cannot list: ${errorMessage(e)}`, { fsId, file: dir }));
    }
    return { entries, diagnostics };
  }
  if (!(await srelAllows(m, dir, diagnostics))) return { entries, diagnostics };
  if (list.length >= MAX_NAMES_PER_DIR)
    diagnostics.push(
      diag('warning', SRC, `more than ${MAX_NAMES_PER_DIR} names; the rest are not read`, { fsId, file: dir }),
    );

  list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let taken = 0;
  // One line per skipped name, up to the per-file cap for the directory; then a count.
  let skipped = 0;
  let expansion = budgets.expansion.get(device);
  if (!expansion) budgets.expansion.set(device, (expansion = { left: MAX_EXPANSION_BYTES_PER_DISK }));
  for (const d of list) {
    const file = `${dir}/${d.name}`;
    const why = skipReason(d);
    if (why === null) continue;
    if (why !== undefined) {
      if (++skipped <= MAX_DIAGNOSTICS_PER_FILE) diagnostics.push(diag('info', SRC, `skipped: ${why}`, { fsId, file }));
      continue;
    }
    if (++taken > MAX_ENTRIES_PER_DIR) {
      diagnostics.push(
        diag('warning', SRC, `more than ${MAX_ENTRIES_PER_DIR} entries; the rest are ignored`, { fsId, file: dir }),
      );
      break;
    }
    const left = budgets.entries.get(device) ?? { entries: MAX_ENTRIES_PER_DISK, bytes: MAX_ENTRY_BYTES_PER_DISK };
    if (left.entries <= 0 || left.bytes <= 0) {
      diagnostics.push(
        diag(
          'warning',
          SRC,
          `this disk already has as many entries as discovery keeps (limits per disk and per run); ${d.name} and the rest of the directory are not read`,
          { fsId, device, file: dir },
        ),
      );
      break;
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFileLimited(m.fs, file, BLS_LIMITS.maxBytes);
    } catch (e) {
      const big = e instanceof FsError && e.code === 'EFBIG';
      diagnostics.push(
        diag(
          big ? 'error' : 'warning',
          SRC,
          `${big ? 'entry file too big' : 'cannot read entry'}: ${errorMessage(e)}; skipped`,
          { fsId, file, line: 1 },
        ),
      );
      continue;
    }
    const where = { file, fsId, device };
    const parsed = parseBlsEntry(bytes, where, ctx.arch);
    if (parsed.status !== 'ok') {
      diagnostics.push(...capPerFile(parsed.diagnostics));
      continue;
    }
    const built = await buildBlsEntry(parsed.fields, parsed.diagnostics, {
      mount: m,
      dir,
      fileName: d.name,
      arch: ctx.arch,
      ...(ctx.originUrl !== undefined ? { originUrl: ctx.originUrl } : {}),
      vars,
      expansion,
    });
    if ('hidden' in built) diagnostics.push(...built.hidden);
    else {
      entries.push(built.entry);
      budgets.entries.set(device, { entries: left.entries - 1, bytes: left.bytes - entryBytes(built.entry) });
    }
  }
  if (skipped > MAX_DIAGNOSTICS_PER_FILE) {
    diagnostics.push(
      diag('info', SRC, `${skipped - MAX_DIAGNOSTICS_PER_FILE} more names skipped (not listed one by one)`, {
        fsId,
        file: dir,
      }),
    );
  }
  return { entries, diagnostics };
}

/** loader.conf from the first ESP that has one; later ones are reported and ignored. */
async function readLoaderConf(ctx: SourceContext, diagnostics: Diagnostic[]): Promise<LoaderConfSettings | undefined> {
  let chosen: LoaderConfSettings | undefined;
  for (const m of ctx.filesystems) {
    if (m.report.role !== 'esp') continue;
    const path = '/loader/loader.conf';
    const b = await readOptional(m, path, LOADERCONF_MAX_BYTES + 1, diagnostics);
    if (!b) continue;
    const from = `${m.report.fsId} ${path}`;
    if (chosen) {
      diagnostics.push(
        diag('info', 'loader.conf', `ignored: ${chosen.from} is used (the first ESP with a loader.conf)`, {
          fsId: m.report.fsId,
          file: path,
        }),
      );
      continue;
    }
    const { conf, diagnostics: d } = parseLoaderConf(b, { file: path, fsId: m.report.fsId, device: m.report.device });
    diagnostics.push(...d);
    chosen = {
      kind: 'loader.conf',
      from,
      ...(conf.default !== undefined ? { defaultGlob: conf.default } : {}),
      ...(conf.timeout !== undefined ? { timeout: conf.timeout } : {}),
      ...(conf.editor !== undefined ? { editor: conf.editor } : {}),
      ...(conf.autoEntries !== undefined ? { autoEntries: conf.autoEntries } : {}),
    };
  }
  return chosen;
}

export const blsSource: EntrySourceFn = async function bls(ctx) {
  const diagnostics: Diagnostic[] = [];
  const settings = await readLoaderConf(ctx, diagnostics);
  ctx.partial?.({ entries: [], diagnostics: [...diagnostics], ...(settings ? { settings } : {}) });
  const budgets: DiskBudgets = { entries: new Map(), expansion: new Map() };
  for (const m of ctx.filesystems) {
    const device = m.report.device;
    if (!budgets.entries.has(device))
      budgets.entries.set(device, {
        entries: ctx.entryBudget?.left(device) ?? MAX_ENTRIES_PER_DISK,
        bytes: ctx.entryBudget?.bytesLeft(device) ?? MAX_ENTRY_BYTES_PER_DISK,
      });
  }
  const entries: SourceEntry[] = [];
  // One filesystem after another, so a disk's budget is spent in the same order every time.
  for (const m of ctx.filesystems) {
    let cached: Promise<{ lookup: VarLookup; diagnostics: Diagnostic[] }> | undefined;
    // Loaded once per filesystem and only if a snippet there uses a grub variable.
    const vars = () => (cached ??= loadGrubVars(varFilesystems(ctx, m)));
    for (const dir of entryDirs(m)) {
      const r = await scanDir(ctx, m, dir, vars, budgets);
      entries.push(...r.entries);
      diagnostics.push(...r.diagnostics);
      // A directory is done: if the disk's deadline passes later, these entries stay.
      if (r.entries.length > 0 || r.diagnostics.length > 0) ctx.partial?.(r);
    }
  }
  return { entries, diagnostics, ...(settings ? { settings } : {}) };
};
