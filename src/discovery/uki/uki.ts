// What a UKI means once its PE headers are parsed: profiles (docs/bls.md §10.4), the menu title,
// version and sort key of each (docs/bls.md §10.3), and add-on checks (§10.5). Text sections are read
// through a FileHandle with a size limit; binary payloads stay byte ranges.

import type { FileHandle } from '../fs/types';
import { type OsRelease, MAX_OSREL_BYTES, osrelGet, parseOsRelease } from './osrel';
import { type PeImage, type PeSection, PeError, readHandleExact } from './pe';

/** Largest text section (.osrel, .profile, .cmdline, .uname) we read. */
export const MAX_TEXT_SECTION = MAX_OSREL_BYTES;

/** Sections of one profile: base sections overridden by the profile's own (first match wins in each). */
export interface UkiProfile {
  /** 0-based profile number. */
  readonly index: number;
  readonly sections: ReadonlyMap<string, PeSection>;
  /** The `.profile` section that starts this profile (absent for profile 0 of a single-profile UKI). */
  readonly profileSection?: PeSection;
}

/** First section of each name within table[start, end). */
function firstByName(sections: readonly PeSection[], start: number, end: number): Map<string, PeSection> {
  const m = new Map<string, PeSection>();
  for (let i = start; i < end; i++) {
    const s = sections[i]!;
    if (!m.has(s.name)) m.set(s.name, s);
  }
  return m;
}

/**
 * Split a PE's section table into profiles. Sections before the first `.profile` are the
 * base; each `.profile` starts a profile that runs to the next `.profile`. Profile 0 exists
 * even without any `.profile` (it is then the base alone).
 */
export function ukiProfiles(pe: PeImage): UkiProfile[] {
  const all = pe.sections;
  const starts: number[] = [];
  all.forEach((s, i) => {
    if (s.name === '.profile') starts.push(i);
  });
  const baseEnd = starts.length ? starts[0]! : all.length;
  const base = firstByName(all, 0, baseEnd);
  if (starts.length === 0) return [{ index: 0, sections: base }];
  return starts.map((start, n) => {
    const end = n + 1 < starts.length ? starts[n + 1]! : all.length;
    const merged = new Map(base);
    for (const [k, v] of firstByName(all, start, end)) merged.set(k, v);
    return { index: n, sections: merged, profileSection: all[start]! };
  });
}

/** Read a small section's bytes. Throws PeError when it exceeds `limit`. */
export async function readSectionBytes(
  h: FileHandle,
  file: string,
  s: PeSection,
  limit = MAX_TEXT_SECTION,
): Promise<Uint8Array> {
  if (s.length > limit) {
    throw new PeError(file, `section[${s.index}](${s.name})`, s.pointerToRawData, `${s.length} bytes > limit ${limit}`);
  }
  if (s.length === 0) return new Uint8Array(0);
  return readHandleExact(h, s.offset, s.length, file);
}

export interface SectionText {
  readonly text: string;
  /** The bytes were not valid UTF-8 (replacement characters were substituted). */
  readonly invalidUtf8: boolean;
}

/** Decode a text section: cut at the first NUL (docs/bls.md §10.1), UTF-8. */
export function decodeSectionText(bytes: Uint8Array): SectionText {
  const nul = bytes.indexOf(0);
  const b = nul >= 0 ? bytes.subarray(0, nul) : bytes;
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(b), invalidUtf8: false };
  } catch {
    return { text: new TextDecoder('utf-8').decode(b), invalidUtf8: true };
  }
}

/**
 * systemd-stub's mangle_stub_cmdline(): control characters become spaces, then whitespace is
 * trimmed (the stub chomps only the end; leading blanks are meaningless to the kernel too).
 */
export function cleanCmdline(text: string): string {
  return text.replace(/[\x00-\x1f]/g, ' ').trim();
}

/** `.uname` is `uname -r`: one line; trailing whitespace/newline dropped. */
export function cleanUname(text: string): string {
  return text.replace(/\s+$/, '');
}

export interface NameVersion {
  readonly name?: string;
  readonly version?: string;
  readonly sortKey?: string;
}

/** sd-boot bootspec_pick_name_version_sort_key(); empty values count as unset (as in parse_env_file). */
export function pickNameVersionSortKey(os: OsRelease): NameVersion {
  const g = (k: string): string | undefined => osrelGet(os, k);
  const name = g('PRETTY_NAME') ?? g('IMAGE_ID') ?? g('NAME') ?? g('ID');
  const version = g('IMAGE_VERSION') ?? g('VERSION') ?? g('VERSION_ID') ?? g('BUILD_ID');
  const sortKey = g('IMAGE_ID') ?? g('ID');
  return {
    ...(name !== undefined ? { name } : {}),
    ...(version !== undefined ? { version } : {}),
    ...(sortKey !== undefined ? { sortKey } : {}),
  };
}

export interface ProfileMeta {
  /** `ID=` of the `.profile` section. */
  readonly id?: string;
  /** `TITLE=` of the `.profile` section. */
  readonly title?: string;
}

/**
 * Menu title of profile `index` (docs/bls.md §10.4): `Name (TITLE)`; for profile > 0 without a title
 * `Name (ID)` or `Name (Profile #N+1)`; profile 0 without a title is just `Name`.
 */
export function profileTitle(name: string, index: number, meta: ProfileMeta): string {
  if (meta.title) return `${name} (${meta.title})`;
  if (index === 0) return name;
  if (meta.id) return `${name} (${meta.id})`;
  return `${name} (Profile #${index + 1})`;
}

/** Entry id of profile `index`: `file.efi`, `file.efi@ID` or `file.efi@N` (docs/bls.md §10.4). */
export function profileEntryId(idWithoutProfile: string, index: number, meta: ProfileMeta): string {
  if (index === 0) return idWithoutProfile;
  return `${idWithoutProfile}@${meta.id ?? String(index)}`;
}

/** One menu entry's worth of facts about a UKI profile. */
export interface UkiProfileInfo {
  readonly index: number;
  readonly id: string;
  readonly idWithoutProfile: string;
  readonly title: string;
  readonly version: string;
  readonly sortKey?: string;
  readonly profileId?: string;
  readonly profileTitle?: string;
  /** Embedded `.cmdline` (cleaned), absent when the profile has none. */
  readonly cmdline?: string;
  readonly uname?: string;
}

export interface UkiDescription {
  readonly pe: PeImage;
  readonly profiles: readonly UkiProfileInfo[];
  /** Profiles not offered and why (no .linux, no .osrel, no name or version, unreadable text). */
  readonly skipped: readonly { readonly index: number; readonly reason: string }[];
  /** Non-fatal oddities (invalid UTF-8 in a text section, ...). */
  readonly warnings: readonly string[];
}

/**
 * Describe every profile of a parsed UKI. `idWithoutProfile` is the entry id of the file
 * (lower-cased, boot counter removed). Profiles need `.linux`, `.osrel` with a name AND a
 * version (the rule; current sd-boot only requires a name).
 */
export async function describeUki(h: FileHandle, pe: PeImage, idWithoutProfile: string): Promise<UkiDescription> {
  const texts = new Map<number, SectionText>();
  const warnings: string[] = [];
  const text = async (s: PeSection): Promise<SectionText> => {
    let t = texts.get(s.index);
    if (!t) {
      t = decodeSectionText(await readSectionBytes(h, pe.file, s));
      if (t.invalidUtf8) warnings.push(`section ${s.name} (#${s.index}) is not valid UTF-8`);
      texts.set(s.index, t);
    }
    return t;
  };

  const profiles: UkiProfileInfo[] = [];
  const skipped: { index: number; reason: string }[] = [];
  for (const p of ukiProfiles(pe)) {
    const sec = p.sections;
    if (!sec.has('.linux')) {
      skipped.push({ index: p.index, reason: 'no .linux section' });
      continue;
    }
    const osrelSec = sec.get('.osrel');
    if (!osrelSec) {
      skipped.push({ index: p.index, reason: 'no .osrel section' });
      continue;
    }
    let meta: ProfileMeta = {};
    let nv: NameVersion;
    let cmdline: string | undefined;
    let uname: string | undefined;
    try {
      nv = pickNameVersionSortKey(parseOsRelease((await text(osrelSec)).text));
      if (p.profileSection) {
        const pr = parseOsRelease((await text(p.profileSection)).text);
        const id = osrelGet(pr, 'ID');
        const title = osrelGet(pr, 'TITLE');
        meta = { ...(id !== undefined ? { id } : {}), ...(title !== undefined ? { title } : {}) };
      }
      const c = sec.get('.cmdline');
      if (c) cmdline = cleanCmdline((await text(c)).text);
      const u = sec.get('.uname');
      if (u) uname = cleanUname((await text(u)).text);
    } catch (e) {
      if (!(e instanceof PeError)) throw e;
      skipped.push({ index: p.index, reason: e.message });
      continue;
    }
    if (nv.name === undefined || nv.version === undefined) {
      const missing = [
        nv.name === undefined ? 'name (PRETTY_NAME/IMAGE_ID/NAME/ID)' : '',
        nv.version === undefined ? 'version (IMAGE_VERSION/VERSION/VERSION_ID/BUILD_ID)' : '',
      ]
        .filter(Boolean)
        .join(' and ');
      skipped.push({ index: p.index, reason: `.osrel has no ${missing}` });
      continue;
    }
    profiles.push({
      index: p.index,
      id: profileEntryId(idWithoutProfile, p.index, meta),
      idWithoutProfile,
      title: profileTitle(nv.name, p.index, meta),
      version: nv.version,
      ...(nv.sortKey !== undefined ? { sortKey: nv.sortKey } : {}),
      ...(meta.id !== undefined ? { profileId: meta.id } : {}),
      ...(meta.title !== undefined ? { profileTitle: meta.title } : {}),
      ...(cmdline !== undefined ? { cmdline } : {}),
      ...(uname !== undefined ? { uname } : {}),
    });
  }
  return { pe, profiles, skipped, warnings };
}

// ---------------------------------------------------------------- add-ons (docs/bls.md §10.5)

export interface AddonInfo {
  readonly pe: PeImage;
  readonly cmdline?: string;
  readonly uname?: string;
  readonly ucode?: PeSection;
  readonly initrd?: PeSection;
  readonly dtb?: PeSection;
}

/** The sections that make a PE an add-on; one of them must be present (systemd-stub). */
const ADDON_PAYLOAD = ['.cmdline', '.dtb', '.dtbauto', '.initrd', '.ucode'] as const;

/** Read an add-on's facts. Add-ons have no profiles: the first section of each name counts. */
export async function readAddon(h: FileHandle, pe: PeImage): Promise<AddonInfo> {
  const sec = ukiProfiles(pe)[0]!.sections;
  const c = sec.get('.cmdline');
  const u = sec.get('.uname');
  const cmdline = c ? cleanCmdline(decodeSectionText(await readSectionBytes(h, pe.file, c)).text) : undefined;
  const uname = u ? cleanUname(decodeSectionText(await readSectionBytes(h, pe.file, u)).text) : undefined;
  const ucode = sec.get('.ucode');
  const initrd = sec.get('.initrd');
  const dtb = sec.get('.dtbauto') ?? sec.get('.dtb');
  return {
    pe,
    ...(cmdline !== undefined ? { cmdline } : {}),
    ...(uname !== undefined ? { uname } : {}),
    ...(ucode ? { ucode } : {}),
    ...(initrd ? { initrd } : {}),
    ...(dtb ? { dtb } : {}),
  };
}

/**
 * Why an add-on must not be applied to a UKI with this machine type and `.uname`, or null
 * when it applies. Rules of systemd-stub load_addons(): native Machine only, no `.linux`, at
 * least one payload section, `.uname` equal when both sides have one.
 */
export function addonRejection(addon: AddonInfo, machine: number, ukiUname: string | undefined): string | null {
  if (addon.pe.machine !== machine) {
    return `Machine 0x${addon.pe.machine.toString(16)} is not the native 0x${machine.toString(16)}`;
  }
  const names = new Set(addon.pe.sections.map((s) => s.name));
  if (names.has('.linux')) return 'it contains .linux (it is a UKI, not an add-on)';
  if (!ADDON_PAYLOAD.some((n) => names.has(n))) return 'no .cmdline/.dtb/.dtbauto/.initrd/.ucode section';
  if (ukiUname !== undefined && addon.uname !== undefined && addon.uname !== ukiUname) {
    return `.uname '${addon.uname}' does not match the UKI's '${ukiUname}'`;
  }
  return null;
}

/** Add-on file names the stub accepts in a directory, in application order (strcmp order). */
export function addonNames(names: readonly { name: string; kind: string }[]): string[] {
  return names
    .filter(
      (d) =>
        d.kind === 'file' &&
        !d.name.startsWith('.') &&
        d.name.length <= 255 &&
        /^[\x00-\x7f]*$/.test(d.name) &&
        d.name.toLowerCase().endsWith('.addon.efi'),
    )
    .map((d) => d.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
