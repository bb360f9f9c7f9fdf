// Pre-validation of an x86 bzImage exactly as the kernel's bzImage64_probe does
// (docs/kexec.md §1.1), so a refusal says *what* is wrong instead of a bare ENOEXEC.
// Also recognises arm64 Image / zboot and PE-only images so the message can name them.

import { u16le, u32le, u8 } from '../util/bytes';

/** Bytes of the header we need: the setup header up to init_size (0x260, 4 bytes). */
export const BZIMAGE_PROBE_BYTES = 0x264;
export const MIN_PROTOCOL = 0x020c;
export const DEFAULT_CMDLINE_SIZE = 255; // protocol < 2.06 default; never applies to ≥ 2.12

export type BzImageProbe =
  | {
      readonly ok: true;
      readonly format: 'bzImage';
      /** Boot protocol, e.g. 0x020f. */
      readonly protocol: number;
      /** Max command-line length excluding the NUL (setup header 0x238). */
      readonly cmdlineSize: number;
      /** The kernel version string the header points at (0x20E), when present. */
      readonly version?: string;
      /** A PE header is present (EFI stub): signature checks apply to the PE envelope. */
      readonly efiStub: boolean;
      /** init_size (0x260, protocol 2.10+): the memory the kernel needs from its load address
       *  on, which kexec_file_load allocates for it (docs/kexec.md §4.2). Absent from a short head. */
      readonly initSize?: number;
    }
  | { readonly ok: false; readonly format: string; readonly reason: string };

const hex = (n: number, w = 4): string => '0x' + n.toString(16).padStart(w, '0');

/**
 * Probe a kernel image. `head` holds at least the first BZIMAGE_PROBE_BYTES bytes (or the
 * whole file if smaller); `size` is the full file size. `versionAt` optionally reads the
 * version string (setup-relative pointer at 0x20E + 0x200).
 */
export function probeBzImage(head: Uint8Array, size: number, versionBytes?: Uint8Array): BzImageProbe {
  if (size >= 0x40 && head.length >= 0x40 && u32le(head, 0x38) === 0x644d5241) {
    return { ok: false, format: 'arm64-Image', reason: 'an arm64 Image, not an x86 bzImage' };
  }
  if (
    head.length >= 8 &&
    head[0] === 0x4d &&
    head[1] === 0x5a &&
    String.fromCharCode(...head.subarray(4, 8)) === 'zimg'
  ) {
    return { ok: false, format: 'zboot', reason: 'an EFI zboot image (compressed); it must be decompressed first' };
  }
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) {
    return { ok: false, format: 'gzip', reason: 'a gzip-compressed file (Image.gz?), not a bzImage' };
  }
  if (head.length >= 4 && u32le(head, 0) === 0x464c457f) {
    return { ok: false, format: 'elf', reason: 'an ELF file (vmlinux?), kexec_file_load needs a bzImage' };
  }
  if (size < 2 * 512 || head.length < 0x240) {
    return { ok: false, format: 'unknown', reason: `file too small for a bzImage (${size} bytes, need ≥ 1024)` };
  }
  const bootFlag = u16le(head, 0x1fe);
  const magic = String.fromCharCode(...head.subarray(0x202, 0x206));
  const pe = head[0] === 0x4d && head[1] === 0x5a;
  if (bootFlag !== 0xaa55 || magic !== 'HdrS') {
    const what = pe
      ? 'a PE/EFI program without a Linux setup header (a UKI passed whole, or not Linux)'
      : 'not a Linux bzImage';
    return {
      ok: false,
      format: pe ? 'pe' : 'unknown',
      reason: `${what}: boot_flag ${hex(bootFlag)} (want 0xaa55), header magic ${JSON.stringify(magic)} (want "HdrS")`,
    };
  }
  const protocol = u16le(head, 0x206);
  if (protocol < MIN_PROTOCOL) {
    return {
      ok: false,
      format: 'bzImage',
      reason: `boot protocol ${protocol >> 8}.${String(protocol & 0xff).padStart(2, '0')} is older than 2.12 (needed for 64-bit kexec)`,
    };
  }
  const loadflags = u8(head, 0x211);
  if ((loadflags & 1) === 0) {
    return { ok: false, format: 'bzImage', reason: 'zImage (LOADED_HIGH not set in loadflags), not a bzImage' };
  }
  const xlf = u16le(head, 0x236);
  if ((xlf & 1) === 0) return { ok: false, format: 'bzImage', reason: 'not a 64-bit kernel (XLF_KERNEL_64 not set)' };
  if ((xlf & 2) === 0) {
    return {
      ok: false,
      format: 'bzImage',
      reason: 'kernel cannot be loaded above 4 GiB (XLF_CAN_BE_LOADED_ABOVE_4G not set)',
    };
  }
  const cmdlineSize = u32le(head, 0x238);
  let version: string | undefined;
  if (versionBytes) {
    const end = versionBytes.indexOf(0);
    const s = new TextDecoder('latin1').decode(versionBytes.subarray(0, end < 0 ? versionBytes.length : end));
    if (/^[\x20-\x7e]+$/.test(s)) version = s;
  }
  const initSize = head.length >= 0x264 ? u32le(head, 0x260) : undefined;
  return {
    ok: true,
    format: 'bzImage',
    protocol,
    cmdlineSize,
    efiStub: pe,
    ...(version ? { version } : {}),
    ...(initSize !== undefined ? { initSize } : {}),
  };
}

/** File offset of the kernel version string, or undefined (0x20E holds it minus 0x200). */
export function versionOffset(head: Uint8Array): number | undefined {
  if (head.length < 0x210) return undefined;
  const p = u16le(head, 0x20e);
  return p === 0 ? undefined : p + 0x200;
}
