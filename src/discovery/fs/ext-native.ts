// The ext reader that needs no libext2fs: directories, inodes, symlinks and data straight
// from the on-disk layout. Used when libext2fs cannot mount a volume within its fixed 16 MiB
// WASM heap (about 400 GiB and larger), or after the WASM module has died.

import { u16le, u32le, u8 } from '../../util/bytes';
import type { ByteSource } from '../io/source';
import { type ExtInode, ExtLayout, type ExtSuper, INODE_FLAG_EXTENTS, INODE_FLAG_INLINE_DATA } from './ext-layout';
import type { FileHandle, FileKind } from './types';
import { FsError } from './types';
import { TreeFileSystem, type TreeNode, type TreeOps, ioGuard, readRuns, runsHandle } from './walk';

const ROOT_INO = 2;
const MAX_DIR_BYTES = 32 * 1024 * 1024;
const MAX_DIR_ENTRIES = 100_000;
const MAX_SYMLINK = 4096;
const DIR_CACHE = 64;

export interface ExtNode extends TreeNode {
  readonly ino: number;
}

export function kindOfMode(mode: number): FileKind {
  const t = mode & 0o170000;
  return t === 0o040000 ? 'dir' : t === 0o100000 ? 'file' : t === 0o120000 ? 'symlink' : 'other';
}

function nodeOf(i: ExtInode): ExtNode {
  return { ino: i.ino, kind: kindOfMode(i.mode), size: i.size, mtimeMs: i.mtimeMs };
}

const utf8 = new TextDecoder('utf-8');

/** Linear scan of directory blocks (htree index blocks look like empty entries, by design). */
export function parseDirBlock(b: Uint8Array, hasFiletype: boolean, out: Array<[string, number]>): void {
  let off = 0;
  while (off + 8 <= b.length) {
    const ino = u32le(b, off);
    const recLen = u16le(b, off + 4);
    const nameLen = hasFiletype ? u8(b, off + 6) : u16le(b, off + 6);
    if (recLen < 8 || recLen % 4 !== 0 || off + recLen > b.length || 8 + nameLen > recLen) return;
    if (ino !== 0 && nameLen > 0) {
      const name = utf8.decode(b.subarray(off + 8, off + 8 + nameLen));
      if (name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0')) out.push([name, ino]);
    }
    off += recLen;
  }
}

export class ExtNativeOps implements TreeOps<ExtNode> {
  readonly layout: ExtLayout;
  private readonly dirCache = new Map<number, ReadonlyArray<readonly [string, ExtNode]>>();

  constructor(src: ByteSource, sb: ExtSuper) {
    this.layout = new ExtLayout(src, sb);
  }

  root(): ExtNode {
    const n = nodeOf(ioGuard('/', () => this.layout.readInode(ROOT_INO, '/')));
    if (n.kind !== 'dir') throw new FsError('EIO', '/', 'root inode is not a directory');
    return n;
  }

  /** Whole contents of a small inode (directory or symlink), inline data included. */
  private contents(inode: ExtInode, limit: number, path: string): Uint8Array {
    if (inode.size > limit) throw new FsError('EFBIG', path, `${inode.size} bytes > limit ${limit}`);
    if (inode.flags & INODE_FLAG_INLINE_DATA) {
      if (inode.size > 60) throw new FsError('EIO', path, 'inline data beyond i_block is not supported');
      return inode.iBlock.subarray(0, inode.size);
    }
    const runs = this.layout.mapFile(inode, path);
    return readRuns(this.layout.src, runs, 0, inode.size, path);
  }

  /** Names and inode numbers of a directory, straight from its blocks (deduplicated). */
  entries(dirIno: number, path: string): Array<[string, number]> {
    return ioGuard(path, () => {
      const inode = this.layout.readInode(dirIno, path);
      if (kindOfMode(inode.mode) !== 'dir') throw new FsError('ENOTDIR', path);
      const data = this.contents(inode, MAX_DIR_BYTES, path);
      const raw: Array<[string, number]> = [];
      const { hasFiletype, blockSize } = this.layout.sb;
      if (inode.flags & INODE_FLAG_INLINE_DATA) parseDirBlock(data.subarray(4), hasFiletype, raw);
      else
        for (let o = 0; o < data.length; o += blockSize)
          parseDirBlock(data.subarray(o, o + blockSize), hasFiletype, raw);
      if (raw.length > MAX_DIR_ENTRIES) throw new FsError('EFBIG', path, `more than ${MAX_DIR_ENTRIES} entries`);
      const seen = new Set<string>();
      return raw.filter(([name]) => !seen.has(name) && seen.add(name));
    });
  }

  list(dir: ExtNode, path: string): ReadonlyArray<readonly [string, ExtNode]> {
    const hit = this.dirCache.get(dir.ino);
    if (hit) return hit;
    const list = this.entries(dir.ino, path).map(
      ([name, ino]) => [name, nodeOf(ioGuard(path, () => this.layout.readInode(ino, `${path}/${name}`)))] as const,
    );
    if (this.dirCache.size >= DIR_CACHE) this.dirCache.delete(this.dirCache.keys().next().value as number);
    this.dirCache.set(dir.ino, list);
    return list;
  }

  readlink(node: ExtNode, path: string): string {
    return ioGuard(path, () => {
      const inode = this.layout.readInode(node.ino, path);
      if (kindOfMode(inode.mode) !== 'symlink') throw new FsError('EINVAL', path, 'not a symlink');
      if (inode.size > MAX_SYMLINK) throw new FsError('ENAMETOOLONG', path, `symlink of ${inode.size} bytes`);
      // Fast symlinks keep the target in i_block itself.
      const fast = inode.size < 60 && !(inode.flags & (INODE_FLAG_EXTENTS | INODE_FLAG_INLINE_DATA));
      const bytes = fast ? inode.iBlock.subarray(0, inode.size) : this.contents(inode, MAX_SYMLINK, path);
      return utf8.decode(bytes);
    });
  }

  openFile(node: ExtNode, path: string): FileHandle {
    return ioGuard(path, () => openMapped(this, node.ino, path));
  }

  inode(ino: number, path: string): ExtInode {
    return ioGuard(path, () => this.layout.readInode(ino, path));
  }
}

/** A FileHandle over the block mapping of inode `ino` (the fast path). */
export function openMapped(ops: ExtNativeOps, ino: number, path: string): FileHandle {
  const inode = ops.layout.readInode(ino, path);
  const size = inode.size;
  const runs = inode.flags & INODE_FLAG_INLINE_DATA ? null : ops.layout.mapFile(inode, path);
  if (!runs && size > 60) throw new FsError('EIO', path, 'inline data beyond i_block is not supported');
  return runsHandle(ops.layout.src, runs, size, path, (position, n) =>
    Uint8Array.from(inode.iBlock.subarray(position, position + n)),
  );
}

export function nativeExtFileSystem(type: string, src: ByteSource, sb: ExtSuper): TreeFileSystem<ExtNode> {
  return new TreeFileSystem(type, false, new ExtNativeOps(src, sb));
}
