// What a `chainload` target really is, decided by content (docs/sprout.md §17.5), not by name:
// an x86 bzImage ('HdrS' at 0x202), an arm64 Image ('ARM\x64' at 0x38) or EFI zboot
// ('MZ' + 'zimg' at 4) → kexec as Linux; a PE with a `.linux` section → UKI; any other PE →
// an EFI program for the VM path, if it is an EFI application for this platform (machine and
// subsystem 10, pe/efiapp.ts); anything else is a reason. Only the headers are read (bounded).

import { errorMessage } from '../../diagnostics';
import type { FileSystem } from '../../fs/types';
import { inspectEfiProgram } from '../../pe/efiapp';
import type { EfiArch } from '../context';

export type ImageKind = 'linux' | 'uki' | 'efi';
export type Classified =
  | { readonly ok: true; readonly kind: ImageKind; readonly detail: string }
  | { readonly ok: false; readonly reason: string };

const HEAD = 4096;
const MAX_SECTIONS = 96;

function ascii(b: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...b.subarray(at, at + n));
}

export async function classifyImage(fs: FileSystem, path: string, arch: EfiArch): Promise<Classified> {
  let h;
  try {
    h = await fs.open(path);
  } catch (e) {
    return { ok: false, reason: `cannot open ${path}: ${errorMessage(e)}` };
  }
  try {
    const head = await h.read(0, Math.min(HEAD, h.size));
    if (head.length >= 0x206 && ascii(head, 0x202, 4) === 'HdrS') {
      return { ok: true, kind: 'linux', detail: ascii(head, 0, 2) === 'MZ' ? 'x86 bzImage (EFI stub)' : 'x86 bzImage' };
    }
    if (head.length >= 0x3c && ascii(head, 0x38, 4) === 'ARM\x64')
      return { ok: true, kind: 'linux', detail: 'arm64 Image' };
    if (head.length < 0x40 || ascii(head, 0, 2) !== 'MZ') {
      return { ok: false, reason: `${path} is neither a Linux kernel nor a PE/EFI image` };
    }
    if (ascii(head, 4, 4) === 'zimg')
      return { ok: true, kind: 'linux', detail: 'EFI zboot kernel (decompress before kexec)' };
    const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
    const pe = dv.getUint32(0x3c, true);
    if (pe > h.size - 24) return { ok: false, reason: `${path}: PE header offset ${pe} beyond the file` };
    const coff = await h.read(pe, 24);
    if (coff.length < 24 || ascii(coff, 0, 4) !== 'PE\0\0')
      return { ok: false, reason: `${path}: MZ without a PE signature` };
    const cv = new DataView(coff.buffer, coff.byteOffset, coff.byteLength);
    const nsec = Math.min(cv.getUint16(6, true), MAX_SECTIONS);
    const optSize = cv.getUint16(20, true);
    const table = await h.read(pe + 24 + optSize, nsec * 40);
    for (let i = 0; i + 40 <= table.length; i += 40) {
      const name = ascii(table, i, 8).replace(/\0+$/, '');
      if (name === '.linux') return { ok: true, kind: 'uki', detail: 'PE with a .linux section (UKI)' };
    }
    const app = await inspectEfiProgram(fs, path, arch);
    if (!app.ok) return { ok: false, reason: app.reason };
    return { ok: true, kind: 'efi', detail: 'EFI program (VM path)' };
  } catch (e) {
    return { ok: false, reason: `cannot read ${path}: ${errorMessage(e)}` };
  } finally {
    await h.close().catch(() => undefined);
  }
}
