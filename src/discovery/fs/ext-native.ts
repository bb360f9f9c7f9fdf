// The ext2/3/4 reader: directories, inodes, symlinks and data straight from the on-disk
// layout (ext-layout.ts, ext-dir.ts), with no libext2fs. Names and kinds come from the
// directory records (d_type), so a listing reads directory blocks and no inodes; a lookup
// reads the blocks up to the name and then that one inode. Every corruption found is an
// FsError of the one path that needs it: the names beside it still list and open.

import type { ByteSource } from '../io/source';
import { ExtDir, type ExtDirent } from './ext-dir';
import { type ExtInode, ExtLayout, type ExtSuper, INODE_FLAG_EXTENTS, INODE_FLAG_INLINE_DATA } from './ext-layout';
import type { DirEntry, FileHandle, FileKind } from './types';
import { FsError } from './types';
import { TreeFileSystem, type TreeNode, type TreeOps, ioGuard, readRuns, runsHandle } from './walk';

export const ROOT_INO = 2;
const MAX_SYMLINK = 4096;
/** Directories kept indexed, bounded by the names they hold. */
const DIR_CACHE_NAMES = 400_000;

export interface ExtNode extends TreeNode {
  readonly ino: number;
  readonly inode: ExtInode;
}

export function kindOfMode(mode: number): FileKind {
  const t = mode & 0o170000;
  return t === 0o040000 ? 'dir' : t === 0o100000 ? 'file' : t === 0o120000 ? 'symlink' : 'other';
}

/** The directory record's file type (EXT4_FT_*: 1 regular, 2 directory, 7 symlink); null when unknown. */
function kindOfFileType(t: number): FileKind | null {
  if (t === 1) return 'file';
  if (t === 2) return 'dir';
  if (t === 7) return 'symlink';
  if (t >= 3 && t <= 6) return 'other';
  return null;
}

function nodeOf(i: ExtInode): ExtNode {
  return { ino: i.ino, inode: i, kind: kindOfMode(i.mode), size: i.size, mtimeMs: i.mtimeMs };
}

const utf8 = new TextDecoder('utf-8');

export class ExtNativeOps implements TreeOps<ExtNode> {
  readonly layout: ExtLayout;
  private readonly dirs = new Map<number, ExtDir>();

  constructor(src: ByteSource, sb: ExtSuper) {
    this.layout = new ExtLayout(src, sb);
  }

  root(): ExtNode {
    const n = nodeOf(this.inode(ROOT_INO, '/'));
    if (n.kind !== 'dir') throw new FsError('EIO', '/', `root inode ${ROOT_INO} is not a directory`);
    return n;
  }

  key(dir: ExtNode): number {
    return dir.ino;
  }

  /** The lazily read directory of `dir`, kept while the cache holds fewer than DIR_CACHE_NAMES names. */
  dir(dir: ExtNode, path: string): ExtDir {
    const hit = this.dirs.get(dir.ino);
    if (hit) {
      this.dirs.delete(dir.ino);
      this.dirs.set(dir.ino, hit);
      return hit;
    }
    if (dir.kind !== 'dir') throw new FsError('ENOTDIR', path);
    const d = ioGuard(path, () => new ExtDir(this.layout, dir.inode, path));
    let held = 0;
    for (const x of this.dirs.values()) held += x.names.length;
    for (const [ino, x] of this.dirs) {
      if (held <= DIR_CACHE_NAMES && this.dirs.size < 256) break;
      this.dirs.delete(ino);
      held -= x.names.length;
    }
    this.dirs.set(dir.ino, d);
    return d;
  }

  entries(dir: ExtNode, path: string, limit: number): DirEntry[] {
    const recs = ioGuard(path, () => this.dir(dir, path).take(limit));
    return recs.map((r) => ({ name: r.name, kind: this.kindOf(r, path) }));
  }

  /** d_type when the volume records it; else the inode's mode ('other' if that inode is unreadable). */
  private kindOf(r: ExtDirent, path: string): FileKind {
    const k = this.layout.sb.hasFiletype ? kindOfFileType(r.fileType) : null;
    if (k) return k;
    try {
      return kindOfMode(this.inode(r.ino, `${path}/${r.name}`).mode);
    } catch (e) {
      if (e instanceof FsError) return 'other';
      throw e;
    }
  }

  lookup(dir: ExtNode, name: string, path: string): readonly [string, ExtNode] | null {
    const r = ioGuard(path, () => this.dir(dir, path).find(name));
    if (!r) return null;
    if (r.bad !== undefined) throw new FsError('EIO', path, r.bad);
    const inode = this.inode(r.ino, path);
    // A record naming a freed inode (the kernel's "deleted inode referenced").
    if (inode.linksCount === 0 && inode.mode === 0)
      throw new FsError('EIO', path, `'${name}' names inode ${r.ino}, which is not in use`);
    return [name, nodeOf(inode)];
  }

  /** Whole contents of a small inode (a symlink), inline data included. */
  private contents(inode: ExtInode, limit: number, path: string): Uint8Array {
    if (inode.size > limit) throw new FsError('EFBIG', path, `${inode.size} bytes > limit ${limit}`);
    if (inode.flags & INODE_FLAG_INLINE_DATA) {
      if (inode.size > 60) throw new FsError('EIO', path, 'inline data beyond i_block is not supported');
      return inode.iBlock.subarray(0, inode.size);
    }
    const runs = this.layout.mapFile(inode, path);
    return readRuns(this.layout.src, runs, 0, inode.size, path);
  }

  readlink(node: ExtNode, path: string): string {
    return ioGuard(path, () => {
      const inode = node.inode;
      if (kindOfMode(inode.mode) !== 'symlink') throw new FsError('EINVAL', path, 'not a symlink');
      if (inode.size >= MAX_SYMLINK)
        throw new FsError('ENAMETOOLONG', path, `symlink of ${inode.size} bytes (PATH_MAX is ${MAX_SYMLINK})`);
      // Fast symlinks keep the target in i_block itself.
      const fast = inode.size < 60 && !(inode.flags & (INODE_FLAG_EXTENTS | INODE_FLAG_INLINE_DATA));
      const bytes = fast ? inode.iBlock.subarray(0, inode.size) : this.contents(inode, MAX_SYMLINK, path);
      return utf8.decode(bytes);
    });
  }

  openFile(node: ExtNode, path: string): FileHandle {
    return ioGuard(path, () => openMapped(this, node.inode, path));
  }

  node(ino: number, path: string): ExtNode {
    return nodeOf(this.inode(ino, path));
  }

  inode(ino: number, path: string): ExtInode {
    return ioGuard(path, () => this.layout.readInode(ino, path));
  }
}

/** A FileHandle over the block mapping of `inode`: one readAt per extent. */
export function openMapped(ops: ExtNativeOps, inode: ExtInode, path: string): FileHandle {
  const size = inode.size;
  const runs = inode.flags & INODE_FLAG_INLINE_DATA ? null : ops.layout.mapFile(inode, path);
  if (!runs && size > 60) throw new FsError('EIO', path, 'inline data beyond i_block is not supported');
  return runsHandle(ops.layout.src, runs, size, path, (position, n) =>
    Uint8Array.from(inode.iBlock.subarray(position, position + n)),
  );
}

/** The native reader as a FileSystem, with its ops exposed for tests and benchmarks. */
export function nativeExtFileSystem(
  type: string,
  src: ByteSource,
  sb: ExtSuper,
): { fsys: TreeFileSystem<ExtNode>; ops: ExtNativeOps } {
  const ops = new ExtNativeOps(src, sb);
  return { fsys: new TreeFileSystem(type, false, ops), ops };
}
