// Automatic entries for the EFI programs an ESP holds, as systemd-boot adds "Windows Boot
// Manager" and "EFI Default Loader" (docs/esp.md §1, §4, §5): they boot in tendril's VM, so an OS that
// only UEFI can start (Windows, a shim + GRUB install, anything on the removable-media path)
// is in the menu. For each ESP (GPT type C12A7328-…, MBR type 0xEF):
//
//   \EFI\Microsoft\Boot\bootmgfw.efi          → "Windows Boot Manager"         id auto-windows
//   \EFI\<vendor>\shim<arch>.efi, else grub…  → "UEFI: Debian on sda"          id auto-uefi-<vendor>
//   \EFI\BOOT\BOOT<ARCH>.EFI                  → "UEFI: EFI Default Loader on sda" id auto-efi-default
//
// Names are looked up case-insensitively (FAT, as the firmware does) and kept as spelled on the
// disk. A title says what the program is: its version resource's ProductName (else
// FileDescription) when it has one, else the vendor directory's distribution name. The
// removable-media program is usually a copy of a vendor's shim or GRUB: when its bytes are
// those of the program a vendor entry boots, it is not listed again (that vendor's entry boots
// the same program from the vendor's directory, and shim started from \EFI\BOOT would run
// fbx64.efi, which writes boot variables); when they are another program of a vendor's, the
// entry is titled after that vendor. These entries come after every other source's in the menu
// (entries/select.ts), are never the default unless named, and `auto-entries no` hides them.

import { createHash } from 'node:crypto';
import { diag, errorMessage, type Diagnostic } from '../diagnostics';
import { FsError, type DirEntry, type FileSystem } from '../fs/types';
import { originOf, type SourceEntry } from '../model';
import { inspectEfiProgram } from '../pe/efiapp';
import type { VersionInfo } from '../pe/version';
import type { EfiArch, EntrySourceFn, MountedFs, SourceContext, SourceResult } from './context';

const SRC = 'esp';
/** Names read from \EFI and from each vendor directory. */
export const MAX_ESP_DIR_NAMES = 256;
/** Vendor directories looked into per ESP. */
export const MAX_ESP_VENDORS = 64;
/** The largest removable-media program compared byte for byte with a vendor's. */
export const MAX_COMPARE_BYTES = 64 * 1024 * 1024;

/** Distribution names for the \EFI\<vendor> directories distributions install to. */
const VENDORS: Record<string, string> = {
  debian: 'Debian',
  ubuntu: 'Ubuntu',
  fedora: 'Fedora',
  opensuse: 'openSUSE',
  sles: 'SUSE Linux Enterprise',
  centos: 'CentOS',
  redhat: 'Red Hat',
  rocky: 'Rocky Linux',
  almalinux: 'AlmaLinux',
  arch: 'Arch Linux',
  kali: 'Kali Linux',
};

/** 'debian' → 'Debian'; an unknown directory keeps its name. */
export function vendorTitle(dir: string): string {
  return VENDORS[dir.toLowerCase()] ?? dir;
}

/** What the version resource says the program is. */
function described(v: VersionInfo | undefined): string | undefined {
  return v?.productName ?? v?.fileDescription;
}

async function list(fs: FileSystem, dir: string): Promise<DirEntry[] | null> {
  try {
    return await fs.readdir(dir, { limit: MAX_ESP_DIR_NAMES });
  } catch (e) {
    if (e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return null;
    throw e;
  }
}

/** The entry of `dir` named `name` in any case, of kind `kind`. */
async function child(fs: FileSystem, dir: string, name: string, kind: 'file' | 'dir'): Promise<string | undefined> {
  const want = name.toLowerCase();
  const found = (await list(fs, dir))?.find((d) => d.name.toLowerCase() === want && d.kind === kind);
  return found && `${dir === '/' ? '' : dir}/${found.name}`;
}

interface Candidate {
  readonly kind: 'windows' | 'vendor' | 'default';
  readonly path: string;
  /** The vendor directory as spelled on disk ('debian'). */
  readonly vendor?: string;
}

/** sha256 of a file no larger than MAX_COMPARE_BYTES, read in 1 MiB pieces. */
async function digest(fs: FileSystem, path: string): Promise<{ size: number; sha: string } | undefined> {
  const h = await fs.open(path);
  try {
    if (h.size > MAX_COMPARE_BYTES) return undefined;
    const sha = createHash('sha256');
    for (let at = 0; at < h.size;) {
      const b = await h.read(at, Math.min(1 << 20, h.size - at));
      if (b.length === 0) throw new FsError('EIO', path, `short read at ${at}`);
      sha.update(b);
      at += b.length;
    }
    return { size: h.size, sha: sha.digest('hex') };
  } finally {
    await h.close().catch(() => undefined);
  }
}

async function candidates(m: MountedFs, arch: EfiArch, out: Diagnostic[]): Promise<Candidate[]> {
  const fs = m.fs;
  const efi = await child(fs, '/', 'EFI', 'dir');
  if (!efi) return [];
  const found: Candidate[] = [];
  const ms = await child(fs, efi, 'Microsoft', 'dir');
  const msBoot = ms && (await child(fs, ms, 'Boot', 'dir'));
  const bootmgfw = msBoot && (await child(fs, msBoot, 'bootmgfw.efi', 'file'));
  if (bootmgfw) found.push({ kind: 'windows', path: bootmgfw });

  const dirs = ((await list(fs, efi)) ?? [])
    .filter((d) => d.kind === 'dir' && !['boot', 'microsoft'].includes(d.name.toLowerCase()))
    .sort((a, b) =>
      a.name.toLowerCase() < b.name.toLowerCase() ? -1 : a.name.toLowerCase() > b.name.toLowerCase() ? 1 : 0,
    );
  if (dirs.length > MAX_ESP_VENDORS) {
    out.push(
      diag('warning', SRC, `${dirs.length} directories in ${efi}; only the first ${MAX_ESP_VENDORS} are looked into`, {
        fsId: m.report.fsId,
        file: efi,
      }),
    );
  }
  for (const d of dirs.slice(0, MAX_ESP_VENDORS)) {
    const dir = `${efi}/${d.name}`;
    const program =
      (await child(fs, dir, `shim${arch}.efi`, 'file')) ?? (await child(fs, dir, `grub${arch}.efi`, 'file'));
    if (program) found.push({ kind: 'vendor', path: program, vendor: d.name });
  }

  const boot = await child(fs, efi, 'BOOT', 'dir');
  const fallback = boot && (await child(fs, boot, `BOOT${arch.toUpperCase()}.EFI`, 'file'));
  if (fallback) found.push({ kind: 'default', path: fallback });
  return found;
}

/** The vendor whose shim or GRUB has the removable-media program's bytes, and whether it is the one its entry boots. */
async function twinOf(
  m: MountedFs,
  arch: EfiArch,
  fallback: string,
  vendors: readonly Candidate[],
): Promise<{ vendor: string; same: boolean } | undefined> {
  const mine = await digest(m.fs, fallback);
  if (!mine) return undefined;
  for (const v of vendors) {
    const dir = v.path.slice(0, v.path.lastIndexOf('/'));
    for (const name of [`shim${arch}.efi`, `grub${arch}.efi`]) {
      const p = await child(m.fs, dir, name, 'file');
      if (!p) continue;
      const st = await m.fs.stat(p);
      if (st.size !== mine.size) continue;
      const theirs = await digest(m.fs, p);
      if (theirs?.sha === mine.sha) return { vendor: v.vendor!, same: p === v.path };
    }
  }
  return undefined;
}

async function scanEsp(ctx: SourceContext, m: MountedFs, entries: SourceEntry[], out: Diagnostic[]): Promise<void> {
  const found = await candidates(m, ctx.arch, out);
  const on = m.report.fsId.slice(0, m.report.fsId.lastIndexOf(':'));
  const vendors = found.filter((c) => c.kind === 'vendor');
  for (const c of found) {
    const where = { fsId: m.report.fsId, file: c.path, device: m.report.device };
    const diagnostics: Diagnostic[] = [];
    const app = await inspectEfiProgram(m.fs, c.path, ctx.arch, { version: true });
    let info: VersionInfo | undefined;
    if (app.ok && app.version?.kind === 'found') info = app.version.info;
    if (app.ok && app.version?.kind === 'invalid') {
      diagnostics.push(diag('warning', SRC, `version resource ignored: ${app.version.reason}`, where));
    }
    if (!app.ok) diagnostics.push(diag('error', SRC, `${app.reason}; entry cannot boot`, where));

    let title: string;
    let sourceId: string;
    if (c.kind === 'windows') {
      title = 'Windows Boot Manager';
      sourceId = 'auto-windows';
    } else if (c.kind === 'vendor') {
      title = `UEFI: ${described(info) ?? vendorTitle(c.vendor!)} on ${on}`;
      sourceId = `auto-uefi-${c.vendor!.toLowerCase()}`;
    } else {
      let name = described(info);
      if (app.ok && vendors.length > 0) {
        const twin = await twinOf(m, ctx.arch, c.path, vendors).catch((e: unknown) => {
          diagnostics.push(diag('warning', SRC, `not compared with the vendors' programs: ${errorMessage(e)}`, where));
          return undefined;
        });
        if (twin?.same) {
          out.push(
            diag(
              'info',
              SRC,
              `${c.path} has the bytes of ${twin.vendor}'s program, listed as its entry; not listed again`,
              where,
            ),
          );
          continue;
        }
        if (twin && name === undefined) name = `${vendorTitle(twin.vendor)} (removable media path)`;
      }
      title = `UEFI: ${name ?? 'EFI Default Loader'} on ${on}`;
      sourceId = 'auto-efi-default';
    }
    const version = info?.productVersion ?? info?.fixedProductVersion;
    const image = { fsId: m.report.fsId, path: c.path };
    entries.push({
      sourceId,
      title,
      ...(version !== undefined ? { version } : {}),
      architecture: ctx.arch,
      origin: originOf('esp', m.report, c.path),
      status: app.ok
        ? { ok: true, target: { kind: 'efi', image } }
        : {
            ok: false,
            reason: app.reason,
            declared: { kind: 'efi', image },
            ...(app.errno ? { errno: app.errno } : {}),
          },
      diagnostics,
    });
  }
}

export const espSource: EntrySourceFn = async (ctx: SourceContext): Promise<SourceResult> => {
  const entries: SourceEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const m of ctx.filesystems) {
    if (m.report.role !== 'esp') continue;
    ctx.progress?.({ fsId: m.report.fsId, file: '/EFI' });
    try {
      await scanEsp(ctx, m, entries, diagnostics);
    } catch (e) {
      diagnostics.push(diag('error', SRC, `scan failed: ${errorMessage(e)}`, { fsId: m.report.fsId, file: '/EFI' }));
    }
  }
  return { entries, diagnostics };
};
