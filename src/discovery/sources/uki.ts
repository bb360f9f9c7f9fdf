// Type #2 entries: Unified Kernel Images in /EFI/Linux/*.efi (docs/bls.md §1, §10). One entry per
// profile; add-ons from /loader/addons and <uki>.efi.extra.d are resolved now so the menu can
// show them and the boot path gets them in order. Problems become diagnostics naming the file.

import { type Diagnostic, diag, errorMessage } from '../diagnostics';
import { type DirEntry, type FileSystem, FsError } from '../fs/types';
import { parseEntryName } from '../entries/bootcount';
import { originOf, type FileRef, type SourceEntry, type UkiTarget } from '../model';
import { ARCH_MACHINE } from '../pe/efiapp';
import { PeError, machineName, parsePeHandle } from '../uki/pe';
import { type AddonInfo, addonNames, addonRejection, describeUki, readAddon } from '../uki/uki';
import type { EntrySourceFn, MountedFs, SourceContext, SourceResult } from './context';

/** Most UKIs we look at in one /EFI/Linux (the rest are reported, not read). */
export const MAX_UKIS_PER_DIR = 256;
/** Most add-ons per directory. */
export const MAX_ADDONS_PER_DIR = 64;
/** Larger files are not UKIs we could kexec (kernel_read_file caps at INT_MAX). */
export const MAX_UKI_SIZE = 0x7fffffff;

const UKI_DIR = '/EFI/Linux';
const GLOBAL_ADDON_DIR = '/loader/addons';

/** Is this directory entry a UKI candidate (docs/bls.md §1.2 Type #2 rules)? */
export function isUkiName(d: DirEntry): boolean {
  const lower = d.name.toLowerCase();
  return (
    d.kind === 'file' &&
    !d.name.startsWith('.') &&
    !lower.startsWith('auto-') &&
    lower.endsWith('.efi') &&
    !lower.endsWith('.addon.efi')
  );
}

async function readdirOrNull(fs: FileSystem, path: string): Promise<DirEntry[] | null> {
  try {
    return await fs.readdir(path);
  } catch (e) {
    if (e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return null;
    throw e;
  }
}

/** Which filesystems we scan: ESP/XBOOTLDR always; any other readable fs when it has /EFI/Linux. */
function scanned(m: MountedFs): boolean {
  const role = m.report.role;
  if (role === 'esp' || role === 'xbootldr') return true;
  const t = m.report.probe?.type;
  return t === 'vfat' || t === 'ext2' || t === 'ext3' || t === 'ext4' || m.fs.type === 'hostdir';
}

interface LoadedAddon {
  readonly ref: FileRef;
  readonly info?: AddonInfo;
  readonly error?: string;
}

/** Add-ons of one directory, sorted, each read once. */
async function loadAddonDir(m: MountedFs, dir: string, diags: Diagnostic[]): Promise<LoadedAddon[]> {
  let entries: DirEntry[] | null;
  try {
    entries = await readdirOrNull(m.fs, dir);
  } catch (e) {
    diags.push(diag('warning', 'uki', `cannot list add-ons: ${errorMessage(e)}`, { fsId: m.report.fsId, file: dir }));
    return [];
  }
  if (!entries) return [];
  let names = addonNames(entries);
  if (names.length > MAX_ADDONS_PER_DIR) {
    diags.push(
      diag('warning', 'uki', `${names.length} add-ons, only the first ${MAX_ADDONS_PER_DIR} are used`, {
        fsId: m.report.fsId,
        file: dir,
      }),
    );
    names = names.slice(0, MAX_ADDONS_PER_DIR);
  }
  const out: LoadedAddon[] = [];
  for (const name of names) {
    const path = `${dir}/${name}`;
    const ref: FileRef = { fsId: m.report.fsId, path };
    try {
      const h = await m.fs.open(path);
      try {
        out.push({ ref, info: await readAddon(h, await parsePeHandle(h, path)) });
      } finally {
        await h.close();
      }
    } catch (e) {
      if (!(e instanceof PeError || e instanceof FsError)) throw e;
      out.push({ ref, error: errorMessage(e) });
    }
  }
  return out;
}

/**
 * The filesystem whose /loader/addons applies to UKIs on `m` (docs/bls.md §10.5: global add-ons
 * live on the ESP): `m` itself if it is the ESP, else the ESP on the same disk (XBOOTLDR
 * shares the ESP's disk). With no ESP on that disk (a `--root DIR` tree, a lone /boot), `m`
 * itself, which is also where systemd-stub looks (the volume it was loaded from).
 */
function globalAddonFs(ctx: SourceContext, m: MountedFs): MountedFs {
  if (m.report.role === 'esp') return m;
  return ctx.filesystems.find((f) => f.report.role === 'esp' && f.report.device === m.report.device) ?? m;
}

type AddonCache = Map<string, Promise<LoadedAddon[]>>;

async function scanFs(
  ctx: SourceContext,
  m: MountedFs,
  entries: SourceEntry[],
  diags: Diagnostic[],
  cache: AddonCache,
): Promise<void> {
  const fsId = m.report.fsId;
  const list = await readdirOrNull(m.fs, UKI_DIR);
  if (!list) return;
  let names = list
    .filter(isUkiName)
    .map((d) => d.name)
    .sort();
  if (names.length > MAX_UKIS_PER_DIR) {
    diags.push(
      diag('warning', 'uki', `${names.length} UKIs, only the first ${MAX_UKIS_PER_DIR} are read`, {
        fsId,
        file: UKI_DIR,
      }),
    );
    names = names.slice(0, MAX_UKIS_PER_DIR);
  }
  if (names.length === 0) return;

  const machine = ARCH_MACHINE[ctx.arch];
  const esp = globalAddonFs(ctx, m);
  let globalLoad = cache.get(esp.report.fsId);
  if (!globalLoad) {
    globalLoad = loadAddonDir(esp, GLOBAL_ADDON_DIR, diags);
    cache.set(esp.report.fsId, globalLoad);
  }
  const globalAddons = await globalLoad;

  for (const name of names) {
    const path = `${UKI_DIR}/${name}`;
    const where = { fsId, file: path };
    const { id: idWithoutProfile, counter } = parseEntryName(name);
    let desc;
    try {
      const h = await m.fs.open(path);
      try {
        if (h.size > MAX_UKI_SIZE) {
          diags.push(diag('warning', 'uki', `skipped: ${h.size} bytes is larger than ${MAX_UKI_SIZE}`, where));
          continue;
        }
        const pe = await parsePeHandle(h, path);
        if (pe.machine !== machine) {
          diags.push(
            diag('warning', 'uki', `skipped: Machine ${machineName(pe.machine)} is not native ${ctx.arch}`, where),
          );
          continue;
        }
        desc = await describeUki(h, pe, idWithoutProfile);
      } finally {
        await h.close();
      }
    } catch (e) {
      if (!(e instanceof PeError || e instanceof FsError)) throw e;
      diags.push(diag('warning', 'uki', `skipped: ${errorMessage(e)}`, where));
      continue;
    }
    for (const w of desc.warnings) diags.push(diag('warning', 'uki', w, where));
    for (const s of desc.skipped) {
      const which = desc.pe.sections.some((x) => x.name === '.profile') ? `profile ${s.index} skipped` : 'skipped';
      diags.push(diag('warning', 'uki', `${which}: ${s.reason}`, where));
    }
    if (desc.profiles.length === 0) continue;

    const perUki = await loadAddonDir(m, `${path}.extra.d`, diags);
    const candidates = [...globalAddons, ...perUki];
    for (const p of desc.profiles) {
      const addons: FileRef[] = [];
      const entryDiags: Diagnostic[] = [];
      for (const a of candidates) {
        const why = a.info ? addonRejection(a.info, machine, p.uname) : (a.error ?? 'unreadable');
        if (why) entryDiags.push(diag('warning', 'uki', `add-on ${a.ref.path} not applied: ${why}`, where));
        else addons.push(a.ref);
      }
      diags.push(...entryDiags);
      const target: UkiTarget = {
        kind: 'uki',
        image: { fsId, path },
        profile: p.index,
        ...(p.cmdline !== undefined ? { embeddedCmdline: p.cmdline } : {}),
        addons,
        ...(p.uname !== undefined ? { uname: p.uname } : {}),
      };
      entries.push({
        sourceId: p.id,
        idWithoutProfile: p.idWithoutProfile,
        title: p.title,
        version: p.version,
        ...(p.sortKey !== undefined ? { sortKey: p.sortKey } : {}),
        architecture: ctx.arch,
        origin: originOf('uki', m.report, path),
        status: { ok: true, target },
        ...(counter ? { bootCounter: counter } : {}),
        diagnostics: entryDiags,
      });
    }
  }
}

export const ukiSource: EntrySourceFn = async (ctx: SourceContext): Promise<SourceResult> => {
  const entries: SourceEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  const cache: AddonCache = new Map();
  for (const m of ctx.filesystems) {
    if (!scanned(m)) continue;
    try {
      await scanFs(ctx, m, entries, diagnostics, cache);
    } catch (e) {
      diagnostics.push(diag('error', 'uki', `scan failed: ${errorMessage(e)}`, { fsId: m.report.fsId, file: UKI_DIR }));
    }
  }
  return { entries, diagnostics };
};
