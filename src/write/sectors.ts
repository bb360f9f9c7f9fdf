// Which 512-byte sectors a change touches (docs/writes.md §2): only sectors whose bytes differ
// are written, adjacent ones in one write, so a torn write can only hit a sector that changes.

import type { WriteRange } from './types';

export const SECTOR = 512;

export interface SectorWrite extends WriteRange {
  /** The new bytes of [offset, offset + length). */
  readonly data: Uint8Array;
}

/**
 * The writes that turn `before` into `after`, both the bytes at device offset `base`
 * (sector-aligned, and so a whole number of sectors long).
 */
export function changedSectors(base: number, before: Uint8Array, after: Uint8Array): SectorWrite[] {
  if (base % SECTOR !== 0 || before.length % SECTOR !== 0 || before.length !== after.length)
    throw new RangeError(`change at ${base}+${before.length} is not whole ${SECTOR}-byte sectors`);
  const out: SectorWrite[] = [];
  let start = -1;
  const flush = (end: number): void => {
    if (start < 0) return;
    out.push({ offset: base + start, length: end - start, data: after.slice(start, end) });
    start = -1;
  };
  for (let s = 0; s < before.length; s += SECTOR) {
    let same = true;
    for (let i = s; i < s + SECTOR; i++)
      if (before[i] !== after[i]) {
        same = false;
        break;
      }
    if (same) flush(s);
    else if (start < 0) start = s;
  }
  flush(before.length);
  return out;
}
