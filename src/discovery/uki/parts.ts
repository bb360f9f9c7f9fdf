// The kexec split of a UKI (docs/bls.md §10.6, docs/kexec.md §2): which byte ranges of which
// files make the kernel and the initrd, and what the command line is. Nothing is copied
// here; src/kexec streams the ranges into its memfds/tmpfs files.
//
// API
//   ukiBootParts(fs, imagePath, profile, addons, opts?) → Promise<UkiBootParts>
//     fs          the FileSystem holding the UKI
//     imagePath   path of the UKI inside `fs`
//     profile     profile number (0 for single-profile images)
//     addons      add-ons in application order (global, then per-UKI; as UkiTarget.addons):
//                 a path string (same FileSystem as the UKI) or an AddonFile {fs, path}
//     opts.machine  native PE Machine (default x86_64, 0x8664)
//   Result (UkiBootParts):
//     kernel        FileRange of `.linux` (an x86 bzImage or arm64 (zboot) Image)
//     initrdParts   FileRange[] in load order, zero-length parts dropped:
//                     add-on .ucode in REVERSE add-on order, the UKI's .ucode, the UKI's
//                     .initrd, then add-on .initrd in add-on order (systemd-stub run())
//                   The caller pads every part but the last to 4 bytes (docs/bls.md §7.2).
//     embeddedCmdline  the profile's `.cmdline` (cleaned), '' if none
//     addonCmdline     add-on `.cmdline`s joined by spaces, in add-on order
//     cmdline          embeddedCmdline + addonCmdline (what the stub passes with no options)
//     uname, machine, profile, profileCount
//     appliedAddons    add-ons actually used; skippedAddons: {path, reason} for the others
//   composeUkiCmdline(parts, override?) applies the systemd-stub override rule: options
//   supplied by the loader replace `.cmdline`; add-on cmdlines are appended in both cases.
//
//   ukiSectionRange(fs, path, name, profile?) → FileRange | undefined: one section of one
//   profile (base sections included), e.g. '.linux' for a quick bzImage header check.
//
// Errors: PeError (malformed PE, missing .linux, profile out of range), FsError (I/O).

import type { FileSystem } from '../fs/types';
import type { FsId } from '../model';
import { type PeImage, type PeSection, PE_MACHINE, PeError, parsePeHandle } from './pe';
import {
  type AddonInfo,
  addonRejection,
  cleanCmdline,
  cleanUname,
  decodeSectionText,
  readAddon,
  readSectionBytes,
  ukiProfiles,
} from './uki';

export interface AddonFile {
  readonly fs: FileSystem;
  readonly path: string;
  readonly fsId?: FsId;
}

export interface FileRange {
  readonly fs: FileSystem;
  readonly path: string;
  readonly fsId?: FsId;
  /** Which section the bytes are ('.linux', '.ucode', '.initrd'). */
  readonly section: string;
  readonly offset: number;
  readonly length: number;
}

export interface UkiBootParts {
  readonly kernel: FileRange;
  readonly initrdParts: readonly FileRange[];
  readonly embeddedCmdline: string;
  readonly addonCmdline: string;
  readonly cmdline: string;
  readonly uname?: string;
  readonly machine: number;
  readonly profile: number;
  readonly profileCount: number;
  readonly appliedAddons: readonly string[];
  readonly skippedAddons: readonly { readonly path: string; readonly reason: string }[];
}

export interface UkiPartsOptions {
  /** Native PE Machine; add-ons of another machine are skipped. Default x86_64. */
  readonly machine?: number;
  /** FsId of `fs`, copied into the ranges. */
  readonly fsId?: FsId;
}

async function withPe<T>(
  fs: FileSystem,
  path: string,
  fn: (pe: PeImage, h: Awaited<ReturnType<FileSystem['open']>>) => Promise<T>,
): Promise<T> {
  const h = await fs.open(path);
  try {
    return await fn(await parsePeHandle(h, path), h);
  } finally {
    await h.close();
  }
}

function range(file: AddonFile, s: PeSection): FileRange {
  return {
    fs: file.fs,
    path: file.path,
    ...(file.fsId !== undefined ? { fsId: file.fsId } : {}),
    section: s.name,
    offset: s.offset,
    length: s.length,
  };
}

function profileSections(pe: PeImage, profile: number): ReadonlyMap<string, PeSection> & { count: number } {
  const profiles = ukiProfiles(pe);
  const p = profiles[profile];
  if (!Number.isSafeInteger(profile) || profile < 0 || !p) {
    throw new PeError(pe.file, '.profile', 0, `profile ${profile} does not exist (image has ${profiles.length})`);
  }
  return Object.assign(new Map(p.sections), { count: profiles.length });
}

export async function ukiBootParts(
  fs: FileSystem,
  imagePath: string,
  profile: number,
  addons: readonly (string | AddonFile)[],
  opts: UkiPartsOptions = {},
): Promise<UkiBootParts> {
  const machine = opts.machine ?? PE_MACHINE.x64;
  const image: AddonFile = { fs, path: imagePath, ...(opts.fsId !== undefined ? { fsId: opts.fsId } : {}) };
  const base = await withPe(fs, imagePath, async (pe, h) => {
    if (pe.machine !== machine) {
      throw new PeError(
        imagePath,
        'Machine',
        0,
        `0x${pe.machine.toString(16)} is not the native 0x${machine.toString(16)}`,
      );
    }
    const sec = profileSections(pe, profile);
    const linux = sec.get('.linux');
    if (!linux || linux.length === 0)
      throw new PeError(imagePath, '.linux', 0, `profile ${profile} has no (or an empty) .linux section`);
    const c = sec.get('.cmdline');
    const u = sec.get('.uname');
    const embeddedCmdline = c ? cleanCmdline(decodeSectionText(await readSectionBytes(h, imagePath, c)).text) : '';
    const uname = u ? cleanUname(decodeSectionText(await readSectionBytes(h, imagePath, u)).text) : undefined;
    return { pe, sec, linux, embeddedCmdline, uname };
  });

  const applied: { file: AddonFile; info: AddonInfo }[] = [];
  const skippedAddons: { path: string; reason: string }[] = [];
  for (const a of addons) {
    const file: AddonFile =
      typeof a === 'string' ? { fs, path: a, ...(opts.fsId !== undefined ? { fsId: opts.fsId } : {}) } : a;
    try {
      const info = await withPe(file.fs, file.path, (pe, h) => readAddon(h, pe));
      const why = addonRejection(info, machine, base.uname);
      if (why) skippedAddons.push({ path: file.path, reason: why });
      else applied.push({ file, info });
    } catch (e) {
      skippedAddons.push({ path: file.path, reason: e instanceof Error ? e.message : String(e) });
    }
  }

  const parts: FileRange[] = [];
  for (let i = applied.length - 1; i >= 0; i--) {
    const { file, info } = applied[i]!;
    if (info.ucode) parts.push(range(file, info.ucode));
  }
  const ucode = base.sec.get('.ucode');
  if (ucode) parts.push(range(image, ucode));
  const initrd = base.sec.get('.initrd');
  if (initrd) parts.push(range(image, initrd));
  for (const { file, info } of applied) if (info.initrd) parts.push(range(file, info.initrd));

  const addonCmdline = applied
    .map((a) => a.info.cmdline ?? '')
    .filter((s) => s !== '')
    .join(' ');
  return {
    kernel: range(image, base.linux),
    initrdParts: parts.filter((p) => p.length > 0),
    embeddedCmdline: base.embeddedCmdline,
    addonCmdline,
    cmdline: joinCmdline(base.embeddedCmdline, addonCmdline),
    ...(base.uname !== undefined ? { uname: base.uname } : {}),
    machine: base.pe.machine,
    profile,
    profileCount: base.sec.count,
    appliedAddons: applied.map((a) => a.file.path),
    skippedAddons,
  };
}

function joinCmdline(a: string, b: string): string {
  return a && b ? `${a} ${b}` : a || b;
}

/**
 * systemd-stub rule (docs/bls.md §10.6 step 3): loader-supplied options (a Type #1 `options`, the
 * editor) replace the embedded `.cmdline`; add-on cmdlines are appended either way. A
 * "locked" policy (Secure Boot equivalent) keeps `.cmdline` when the UKI has one.
 */
export function composeUkiCmdline(parts: UkiBootParts, override?: string, locked = false): string {
  const o = override === undefined ? '' : cleanCmdline(override);
  const useOverride = o !== '' && !(locked && parts.embeddedCmdline !== '');
  return joinCmdline(useOverride ? o : parts.embeddedCmdline, parts.addonCmdline);
}

/** One section of one profile as a byte range, or undefined if the profile lacks it. */
export async function ukiSectionRange(
  fs: FileSystem,
  path: string,
  name: string,
  profile = 0,
  fsId?: FsId,
): Promise<FileRange | undefined> {
  return withPe(fs, path, async (pe) => {
    const s = profileSections(pe, profile).get(name);
    return s ? range({ fs, path, ...(fsId !== undefined ? { fsId } : {}) }, s) : undefined;
  });
}
