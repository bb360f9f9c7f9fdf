// One entry point from a probed filesystem type to a reader. Readers never write: they only
// get a ByteSource, which has no write method.

import type { ByteSource } from '../io/source';
import type { FsType } from '../model';
import { openExt } from './ext';
import { openFat } from './fat';
import { openIso9660 } from './iso9660';
import { type FileSystem, FsError } from './types';

export type ReadableFsType = Extract<FsType, 'ext2' | 'ext3' | 'ext4' | 'vfat' | 'iso9660'>;

export function isReadableFsType(t: FsType): t is ReadableFsType {
  return t === 'ext2' || t === 'ext3' || t === 'ext4' || t === 'vfat' || t === 'iso9660';
}

/** Open `src` as `type`. Throws FsError (EINVAL for a type we cannot read or a bad superblock). */
export async function openFileSystem(src: ByteSource, type: FsType): Promise<FileSystem> {
  switch (type) {
    case 'ext2':
    case 'ext3':
    case 'ext4':
      return openExt(src, type);
    case 'vfat':
      return openFat(src);
    case 'iso9660':
      return openIso9660(src);
    default:
      throw new FsError('EINVAL', src.name, `no userspace reader for ${type}`);
  }
}
