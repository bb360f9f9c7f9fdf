// What a boot file is, from its bytes and its name (docs/net-bootfiles.md §2): an iPXE script, a
// UKI, a bzImage, another EFI program (the VM path), a PXELINUX program (look up pxelinux.cfg),
// a disk image or ISO (scanned as a network disk), or something tendril cannot boot, with the reason.

import { type PeImage, PeError, findSection, parsePe } from '../discovery/uki/pe';
import { efiApplicationProblem } from '../discovery/pe/efiapp';
import { probeBzImage, versionOffset } from '../kexec/bzimage';
import { urlBasename } from './url';

export type BootFileKind =
  | { readonly kind: 'ipxe-script' }
  | { readonly kind: 'bzimage'; readonly version?: string }
  | { readonly kind: 'uki' }
  /** `flavour` says what the program looked like, for the title and the log only. */
  | { readonly kind: 'efi'; readonly flavour: 'grub' | 'ipxe' | 'other' }
  | { readonly kind: 'pxelinux'; readonly name: string }
  /** A disk image or ISO, maybe compressed (docs/net-bootfiles.md §9): scanned as a network disk. */
  | { readonly kind: 'disk-image'; readonly compression: Compression; readonly by: 'name' | 'content' }
  | { readonly kind: 'unknown'; readonly reason: string };

export type Compression = 'none' | 'gzip' | 'xz' | 'zstd';

/** `.raw`, `.img`, `.iso`, each optionally `.xz`, `.zst` or `.gz` (docs/net-bootfiles.md §9.1). */
const IMAGE_NAME = /\.(raw|img|iso)(\.(xz|zst|gz))?$/;

/** The disk-image kind a URL's name says, before anything is fetched (compression by extension). */
export function diskImageByName(url: string): BootFileKind | undefined {
  const m = IMAGE_NAME.exec(urlBasename(url).toLowerCase());
  if (!m) return undefined;
  const compression = m[3] === 'gz' ? 'gzip' : m[3] === 'xz' ? 'xz' : m[3] === 'zst' ? 'zstd' : 'none';
  return { kind: 'disk-image', compression, by: 'name' };
}

/** The compression the magic at the start says: gzip 1f 8b, xz FD '7zXZ' 00, zstd 28 B5 2F FD. */
export function compressionOf(bytes: Uint8Array): Compression {
  const at = (i: number, ...v: number[]) => v.every((x, k) => bytes[i + k] === x);
  if (at(0, 0x1f, 0x8b)) return 'gzip';
  if (at(0, 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'xz';
  if (at(0, 0x28, 0xb5, 0x2f, 0xfd)) return 'zstd';
  return 'none';
}

/**
 * True when the bytes start like a disk: 'EFI PART' at 512 (GPT), 'CD001' at 0x8001 (ISO 9660),
 * or 55 AA at 510 (an MBR; a bzImage has it too, so the bzImage check runs first).
 */
export function looksLikeDisk(bytes: Uint8Array): boolean {
  const text = (at: number, s: string) =>
    bytes.length >= at + s.length &&
    Buffer.from(bytes.buffer, bytes.byteOffset + at, s.length).toString('latin1') === s;
  return text(512, 'EFI PART') || text(0x8001, 'CD001') || (bytes[510] === 0x55 && bytes[511] === 0xaa);
}

/** The first bytes classification looks at for text markers (the PE and bzImage checks read the headers). */
const MARKER_WINDOW = 1 << 20;
const PXELINUX_NAMES = new Set(['pxelinux.0', 'lpxelinux.0', 'gpxelinux.0']);

function contains(bytes: Uint8Array, text: string, limit = MARKER_WINDOW): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, limit)).includes(text, 0, 'latin1');
}

/** True when the file starts with `#!ipxe` (or the older `#!gpxe`) and a blank, as iPXE's script probe checks. */
export function isIpxeScript(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 6)).toString('latin1');
  if (head !== '#!ipxe' && head !== '#!gpxe') return false;
  const next = bytes[6];
  return next === 0x0a || next === 0x0d || next === 0x20 || next === 0x09 || next === 0x0b || next === 0x0c;
}

function tryPe(bytes: Uint8Array, name: string): PeImage | string {
  try {
    return parsePe(bytes, name);
  } catch (e) {
    if (e instanceof PeError) return e.message;
    throw e;
  }
}

/** Classify a boot file fetched from `url`. Never throws. */
export function classifyBootFile(url: string, bytes: Uint8Array): BootFileKind {
  const name = urlBasename(url).toLowerCase();
  if (isIpxeScript(bytes)) return { kind: 'ipxe-script' };
  const isMz = bytes.length >= 2 && bytes[0] === 0x4d && bytes[1] === 0x5a;
  const pe = isMz ? tryPe(bytes, url) : undefined;
  if (typeof pe === 'object' && findSection(pe, '.linux')) {
    const problem = efiApplicationProblem(pe, 'x64');
    return problem ? { kind: 'unknown', reason: `a UKI that ${problem}` } : { kind: 'uki' };
  }
  const bz = probeBzImage(bytes.subarray(0, 0x264), bytes.length);
  if (bz.ok) {
    const at = versionOffset(bytes);
    const v =
      at !== undefined && at < bytes.length ? probeBzImage(bytes, bytes.length, bytes.subarray(at, at + 256)) : bz;
    return v.ok && v.version ? { kind: 'bzimage', version: v.version } : { kind: 'bzimage' };
  }
  if (typeof pe === 'object') {
    const problem = efiApplicationProblem(pe, 'x64');
    if (problem) return { kind: 'unknown', reason: `an EFI program that ${problem}` };
    const flavour =
      contains(bytes, 'GNU GRUB') || findSection(pe, 'mods') ? 'grub' : contains(bytes, 'iPXE') ? 'ipxe' : 'other';
    return { kind: 'efi', flavour };
  }
  if (PXELINUX_NAMES.has(name)) return { kind: 'pxelinux', name };
  // After the bzImage and PE checks: a bzImage carries 55 AA at 510 as an MBR does.
  if (!isMz && diskImageByName(url)) return { kind: 'disk-image', compression: compressionOf(bytes), by: 'name' };
  if (!isMz && contains(bytes, 'PXELINUX ', 64 << 10)) return { kind: 'pxelinux', name };
  if (!isMz && looksLikeDisk(bytes)) return { kind: 'disk-image', compression: 'none', by: 'content' };
  if (isMz) return { kind: 'unknown', reason: `an MZ file that is not a usable PE image: ${pe}` };
  if (name.endsWith('.kpxe') || name.endsWith('.pxe') || contains(bytes, 'iPXE', 64 << 10)) {
    return {
      kind: 'unknown',
      reason: 'a BIOS PXE program (iPXE NBP): tendril reads iPXE scripts itself; have DHCP name the script instead',
    };
  }
  if (bz.format === 'elf' || bz.format === 'gzip' || bz.format === 'zboot' || bz.format === 'arm64-Image') {
    return { kind: 'unknown', reason: bz.reason };
  }
  return {
    kind: 'unknown',
    reason: `${bytes.length} bytes that are neither an iPXE script (#!ipxe), a bzImage, a UKI, an EFI program nor PXELINUX`,
  };
}
