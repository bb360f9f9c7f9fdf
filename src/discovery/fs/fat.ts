// FAT12/16/32 reader: synchronous over a ByteSource, exposed through the async FileSystem
// interface via the shared walker (case-insensitive, no symlinks). File data is read by
// coalescing contiguous clusters into large readAt calls.

import type { ByteSource } from '../io/source';
import { readExact } from '../io/source';
import { type FatGeometry, parseBpb } from './fat-bpb';
import { FatTable } from './fat-chain';
import { type FatDirEntry, parseDirEntries } from './fat-dir';
import type { DirEntry, FileHandle, FileSystem } from './types';
import { FsError } from './types';
import {
  ParsedDirs,
  type Run,
  TreeFileSystem,
  type TreeNode,
  type TreeOps,
  ioGuard,
  readRuns,
  runsHandle,
} from './walk';

/** FAT caps a directory at 65536 entries (2 MiB); we use the same limit. */
const MAX_DIR_BYTES = 65536 * 32;
const MAX_DIR_ENTRIES = 65536;

export interface FatNode extends TreeNode {
  readonly firstCluster: number;
  /** The FAT12/16 fixed root directory. */
  readonly fixedRoot?: boolean;
}

export class FatOps implements TreeOps<FatNode> {
  readonly fat: FatTable;
  private readonly dirs = new ParsedDirs<FatNode>(
    (dir, path) => this.parse(dir, path),
    (dir) => this.key(dir),
    true,
  );

  constructor(
    private readonly src: ByteSource,
    readonly geo: FatGeometry,
  ) {
    this.fat = new FatTable(src, geo);
  }

  key(dir: FatNode): string | number {
    return dir.fixedRoot ? 'root' : dir.firstCluster;
  }

  root(): FatNode {
    return this.geo.bits === 32
      ? { kind: 'dir', size: 0, firstCluster: this.geo.rootCluster }
      : { kind: 'dir', size: 0, firstCluster: 0, fixedRoot: true };
  }

  /** Where a directory's bytes lie on the volume (the writer of src/write/ maps entries with it). */
  dirRuns(dir: FatNode, path: string): Run[] {
    if (dir.fixedRoot) return [{ fileOffset: 0, diskOffset: this.geo.rootDirOffset, length: this.geo.rootDirBytes }];
    if (!this.fat.validCluster(dir.firstCluster))
      throw new FsError('EIO', path, `directory starts at invalid cluster ${dir.firstCluster}`);
    const maxClusters = Math.max(1, Math.floor(MAX_DIR_BYTES / this.geo.clusterSize));
    return this.fat.runs(dir.firstCluster, maxClusters, path, true);
  }

  private dirBytes(dir: FatNode, path: string): Uint8Array {
    if (dir.fixedRoot) return readExact(this.src, this.geo.rootDirOffset, this.geo.rootDirBytes);
    const runs = this.dirRuns(dir, path);
    const total = runs.reduce((a, r) => a + r.length, 0);
    return readRuns(this.src, runs, 0, total, path);
  }

  private parse(dir: FatNode, path: string): ReadonlyArray<readonly [string, FatNode]> {
    const entries = ioGuard(path, () => parseDirEntries(this.dirBytes(dir, path), MAX_DIR_ENTRIES));
    return entries.map((e) => [e.name, this.node(e)] as const);
  }

  entries(dir: FatNode, path: string, limit: number): DirEntry[] {
    return this.dirs.entries(dir, path, limit);
  }

  lookup(dir: FatNode, name: string, path: string): readonly [string, FatNode] | null {
    return this.dirs.lookup(dir, name, path);
  }

  private node(e: FatDirEntry): FatNode {
    const c = this.geo.bits === 32 ? e.firstCluster : e.firstCluster & 0xffff;
    // A directory entry pointing at cluster 0 means the root (that is how '..' is written).
    const n: FatNode =
      e.dir && c === 0
        ? this.root()
        : {
            kind: e.dir ? 'dir' : 'file',
            size: e.size,
            firstCluster: c,
            ...(e.mtimeMs !== undefined ? { mtimeMs: e.mtimeMs } : {}),
          };
    return n;
  }

  readlink(_node: FatNode, path: string): string {
    throw new FsError('EINVAL', path, 'FAT has no symlinks');
  }

  /** Where a file's bytes lie on the volume: the clusters its size needs, merged into runs. */
  fileRuns(node: FatNode, path: string): Run[] {
    const size = node.size;
    if (size === 0) return [];
    if (!this.fat.validCluster(node.firstCluster))
      throw new FsError('EIO', path, `file starts at invalid cluster ${node.firstCluster}`);
    const need = Math.ceil(size / this.geo.clusterSize);
    if (need > this.geo.clusterCount) throw new FsError('EIO', path, `size ${size} larger than the volume`);
    return ioGuard(path, () => this.fat.runs(node.firstCluster, need, path, false));
  }

  openFile(node: FatNode, path: string): FileHandle {
    return runsHandle(this.src, this.fileRuns(node, path), node.size, path);
  }
}

export interface FatFileSystem extends FileSystem {
  readonly geometry: FatGeometry;
}

/** The reader with its parts exposed (the in-place writer of src/write/ resolves paths with it). */
export function openFatTree(src: ByteSource): { tree: TreeFileSystem<FatNode>; ops: FatOps } {
  const boot = ioGuard(src.name, () => readExact(src, 0, Math.min(src.size, 4096)));
  const geo = parseBpb(boot, src.size, src.name);
  const ops = new FatOps(src, geo);
  return { tree: new TreeFileSystem('vfat', true, ops), ops };
}

/** Open a FAT12/16/32 volume. Throws FsError EINVAL when the boot sector is not FAT. */
export function openFat(src: ByteSource): FatFileSystem {
  const boot = ioGuard(src.name, () => readExact(src, 0, Math.min(src.size, 4096)));
  const geo = parseBpb(boot, src.size, src.name);
  const ops = new FatOps(src, geo);
  const fsys = new TreeFileSystem('vfat', true, ops) as TreeFileSystem<FatNode> & { geometry: FatGeometry };
  Object.defineProperty(fsys, 'geometry', { value: geo, enumerable: true });
  return fsys;
}
