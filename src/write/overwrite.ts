// Overwrite a small file's bytes in place, same size (docs/writes.md §2): grubenv (1024 bytes)
// and tendril's state file (512 bytes). Only the 512-byte sectors whose bytes differ are written.

import { FileSource, SliceSource, readExact } from '../discovery/io/source';
import { mapForOverwrite } from './file-map';
import { guarded, guardedRead } from './guard';
import { mountOver } from './mountinfo';
import { SECTOR, changedSectors } from './sectors';
import { type FsLocation, Refusal, type WriteOptions, type WriteResult } from './types';

/**
 * Replace the bytes of `path` (exactly `expectSize` bytes, one contiguous range) with `bytes`.
 * Never throws; `{ ok: false, mounted }` when the filesystem is mounted (then use overwriteViaMount).
 */
export async function overwriteInPlace(
  loc: FsLocation,
  path: string,
  expectSize: number,
  bytes: Uint8Array,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  return guarded(loc, opts, async (dev) => {
    if (bytes.length !== expectSize)
      throw new Refusal(`${bytes.length} new bytes for a ${expectSize}-byte file; the size may not change`);
    const f = await mapForOverwrite(dev.src, loc.fsType, path, expectSize);
    const base = Math.floor(f.offset / SECTOR) * SECTOR;
    const end = Math.ceil((f.offset + f.size) / SECTOR) * SECTOR;
    const before = readExact(dev.src, base, end - base);
    const after = Buffer.from(before);
    after.set(bytes, f.offset - base);
    dev.apply(changedSectors(base, before, after));
    const again = await mapForOverwrite(dev.src, loc.fsType, path, expectSize);
    if (!readExact(dev.src, again.offset, again.size).equals(bytes))
      throw new Refusal(`after the write ${path} does not read back as the new bytes`);
  });
}

/** The current bytes of `path` after the same checks overwriteInPlace makes; nothing is written. */
export async function readForOverwrite(
  loc: FsLocation,
  path: string,
  expectSize: number,
): Promise<{ ok: true; bytes: Uint8Array } | { ok: false; reason: string }> {
  return guardedRead(async () => {
    const m = mountOver(loc.device, loc.offset, loc.size);
    if (m) throw new Refusal(`${loc.device}: ${m.what}; read through the mount instead`);
    const dev = FileSource.open(loc.device);
    try {
      const src = new SliceSource(dev, loc.offset, loc.size, loc.device);
      const f = await mapForOverwrite(src, loc.fsType, path, expectSize);
      return { ok: true as const, bytes: new Uint8Array(readExact(src, f.offset, f.size)) };
    } finally {
      dev.close();
    }
  });
}
