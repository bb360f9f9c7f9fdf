// Where a small file's bytes lie (docs/writes.md §2): one contiguous range of the volume, or a
// Refusal saying why not. grub writes grubenv the same way (its save_env refuses a file whose
// blocks are not plain sectors), and so does the state file.

import { openExtNative } from '../discovery/fs/ext';
import { INODE_FLAG_INLINE_DATA } from '../discovery/fs/ext-layout';
import { openFatTree } from '../discovery/fs/fat';
import { FsError } from '../discovery/fs/types';
import type { Run } from '../discovery/fs/walk';
import type { ByteSource } from '../discovery/io/source';
import { writableExtSuper } from './ext-state';
import { Refusal } from './types';

const FLAG_IMMUTABLE = 0x10;
const FLAG_APPEND = 0x20;
const FLAG_ENCRYPT = 0x800;
const FLAG_VERITY = 0x100000;
/** The writers are for small state files; a larger one is refused before it is mapped. */
export const MAX_OVERWRITE = 64 * 1024;

export interface FileRange {
  /** Byte offset of the file's first byte in the filesystem. */
  readonly offset: number;
  readonly size: number;
}

function oneRun(runs: readonly Run[], size: number, path: string): FileRange {
  if (runs.some((r) => r.diskOffset < 0)) throw new Refusal(`${path} has holes or unwritten extents`);
  if (runs.length !== 1 || runs[0]!.length < size)
    throw new Refusal(`${path} is not one contiguous range on the disk (${runs.length} pieces)`);
  return { offset: runs[0]!.diskOffset, size };
}

function checkSize(size: number, expect: number, path: string): void {
  if (size !== expect) throw new Refusal(`${path} is ${size} bytes, not the ${expect} expected`);
}

/** Map `path` of the filesystem in `src` to its one range of bytes, refusing what cannot be overwritten in place. */
export async function mapForOverwrite(
  src: ByteSource,
  fsType: string,
  path: string,
  expect: number,
): Promise<FileRange> {
  if (!Number.isSafeInteger(expect) || expect <= 0 || expect > MAX_OVERWRITE)
    throw new Refusal(`expected size ${expect} is not 1..${MAX_OVERWRITE} bytes`);
  if (fsType === 'vfat') {
    const { tree, ops } = openFatTree(src);
    const r = await tree.resolve(path, true);
    if (r.node.kind !== 'file')
      throw new FsError(r.node.kind === 'dir' ? 'EISDIR' : 'EINVAL', path, 'not a regular file');
    checkSize(r.node.size, expect, r.path);
    return oneRun(ops.fileRuns(r.node, r.path), expect, r.path);
  }
  writableExtSuper(src);
  const { tree, ops } = openExtNative(src, fsType);
  const r = await tree.resolve(path, true);
  if (r.node.kind !== 'file')
    throw new FsError(r.node.kind === 'dir' ? 'EISDIR' : 'EINVAL', path, 'not a regular file');
  const flags = r.node.inode.flags;
  if (flags & INODE_FLAG_INLINE_DATA) throw new Refusal(`${r.path} keeps its data inline in the inode (inline_data)`);
  if (flags & FLAG_ENCRYPT) throw new Refusal(`${r.path} is encrypted`);
  if (flags & FLAG_VERITY) throw new Refusal(`${r.path} is protected by fs-verity`);
  if (flags & (FLAG_IMMUTABLE | FLAG_APPEND)) throw new Refusal(`${r.path} is marked immutable or append-only`);
  checkSize(r.node.size, expect, r.path);
  return oneRun(ops.layout.mapFile(r.node.inode, r.path), expect, r.path);
}
