// VFAT long names (docs/writes.md §3): which names are valid, and the slots that hold one.
// A name is UTF-16 in 13-unit slices; the last slice ends with 0x0000 and is padded with
// 0xFFFF unless the name fills it exactly; slots are stored last slice first, the first
// stored slot's sequence number or'ed with 0x40, each slot carrying the 8.3 entry's checksum.

import { LFN_OFFSETS } from '../discovery/fs/fat-dir';

/** Windows' and Linux vfat's limit on a long name, in UTF-16 units. */
export const MAX_LFN_UNITS = 255;
const UNITS_PER_SLOT = 13;

/** Why `name` cannot be a VFAT long name, or undefined when it can. */
export function invalidLongName(name: string): string | undefined {
  if (name.length === 0) return 'the name is empty';
  if (name === '.' || name === '..') return `'${name}' is reserved`;
  if (name.length > MAX_LFN_UNITS) return `${name.length} UTF-16 units (the limit is ${MAX_LFN_UNITS})`;
  const bad = /[\u0000-\u001f"*/:<>?\\|\u007f]/.exec(name);
  if (bad) return `character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} is not allowed in a long name`;
  if (/[ .]$/.test(name)) return 'a long name may not end in a space or a dot (Windows and Linux strip them)';
  if (/[\ud800-\udfff]/.test(name.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) return 'a lone UTF-16 surrogate';
  return undefined;
}

/** Slots a long name of `name.length` units needs. */
export function slotsFor(name: string): number {
  return Math.ceil(name.length / UNITS_PER_SLOT);
}

/** The 32-byte slots of `name` in on-disk order, each carrying `checksum`. */
export function encodeLongName(name: string, checksum: number): Uint8Array {
  const n = slotsFor(name);
  const units: number[] = [];
  for (let i = 0; i < name.length; i++) units.push(name.charCodeAt(i));
  if (units.length < n * UNITS_PER_SLOT) units.push(0);
  while (units.length < n * UNITS_PER_SLOT) units.push(0xffff);
  const out = new Uint8Array(n * 32);
  const view = new DataView(out.buffer);
  for (let seq = 1; seq <= n; seq++) {
    const at = (n - seq) * 32;
    out[at] = seq | (seq === n ? 0x40 : 0);
    out[at + 11] = 0x0f; // attributes: long-name slot
    out[at + 13] = checksum;
    LFN_OFFSETS.forEach((o, i) => view.setUint16(at + o, units[(seq - 1) * UNITS_PER_SLOT + i]!, true));
  }
  return out;
}
