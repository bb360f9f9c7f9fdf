// Rename one directory entry in place, for boot counting (docs/writes.md §1): on vfat the
// long-name slots of one sector, on ext one directory record and its block checksum.

import { extRename } from './ext-rename';
import { fatRename } from './fat-rename';
import { guarded } from './guard';
import type { FsLocation, WriteOptions, WriteResult } from './types';

/**
 * Rename `from` to `to` in directory `dirPath` of the filesystem at `loc`, in place. Never
 * throws: a refusal or error is `{ ok: false, reason }`, with `mounted` set to the mount
 * directory when the filesystem is mounted (then use renameViaMount).
 */
export async function renameInPlace(
  loc: FsLocation,
  dirPath: string,
  from: string,
  to: string,
  opts: WriteOptions = {},
): Promise<WriteResult> {
  return guarded(loc, opts, (dev) =>
    loc.fsType === 'vfat' ? fatRename(dev, dirPath, from, to) : extRename(dev, loc.fsType, dirPath, from, to),
  );
}
