// ISO 9660 primary volume descriptor at 32 KiB, plus the Joliet supplementary descriptor.
// As libblkid: UUID from the modification date (else the creation date) as
// 'YYYY-MM-DD-HH-MM-SS-CC'; the Joliet label wins unless it merely repeats the PVD's.

import type { FsProbe } from '../model';
import type { ProbeContext } from './context';
import { startsWith, utf16Label, utf8Label } from './text';

const PVD = 0x8000;
const SECTOR = 0x800;
const MAX_DESCRIPTORS = 16;

export function hasIso9660(head: Uint8Array): boolean {
  return head.length >= PVD + SECTOR && head[PVD] === 1 && startsWith(head, PVD + 1, 'CD001');
}

/** blkid's date UUID, or undefined for an unset date (all '0' digits and zero offset). */
function dateUuid(d: Uint8Array): string | undefined {
  let zeros = 0;
  for (let i = 0; i < 16; i++) if (d[i] === 0x30) zeros++;
  if (zeros === 16 && d[16] === 0) return undefined;
  const c = (a: number, b: number): string => String.fromCharCode(...d.subarray(a, b));
  return [c(0, 4), c(4, 6), c(6, 8), c(8, 10), c(10, 12), c(12, 14), c(14, 16)].join('-');
}

/** libblkid's ascii_eq_utf16be over 32 bytes: the Joliet label spells the PVD label's start. */
function jolietRepeatsPvd(ascii: Uint8Array, utf16: Uint8Array): boolean {
  for (let a = 0, u = 0; u < 32; a++, u += 2) {
    if (utf16[u] !== 0 || ascii[a] !== utf16[u + 1]) return false;
  }
  return true;
}

export function probeIso9660(ctx: ProbeContext): FsProbe | null {
  const h = ctx.head;
  if (!hasIso9660(h)) return null;
  const pvd = h.subarray(PVD, PVD + SECTOR);
  const pvdLabel = pvd.subarray(40, 72);
  const uuid = dateUuid(pvd.subarray(830, 847)) ?? dateUuid(pvd.subarray(813, 830));
  let label: string | undefined;
  let joliet = false;
  let useJoliet = false;
  for (let i = 0; i < MAX_DESCRIPTORS; i++) {
    const vd = ctx.read(PVD + SECTOR * (i + 1), SECTOR);
    if (vd.length < SECTOR || vd[0] === 0xff) break;
    if (vd[0] !== 2) continue;
    const esc = vd.subarray(88, 91);
    if (!(esc[0] === 0x25 && esc[1] === 0x2f && (esc[2] === 0x40 || esc[2] === 0x43 || esc[2] === 0x45))) continue;
    joliet = true;
    if (jolietRepeatsPvd(pvdLabel, vd.subarray(40, 72))) break;
    label = utf16Label(vd, 40, 32, true);
    useJoliet = true;
    break;
  }
  if (!useJoliet) label = utf8Label(pvdLabel, 0, 32);
  return {
    type: 'iso9660',
    ...(uuid !== undefined ? { uuid } : {}),
    ...(label !== undefined ? { label } : {}),
    ...(joliet ? { version: 'Joliet Extension' } : {}),
    readable: true,
  };
}
