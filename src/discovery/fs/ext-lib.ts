// The reference reader of the tests and benchmarks: ext2/3/4 through libext2fs (the `ext2fs`
// WASM package, docs/packages.md §2), independent of our own reader for everything it can do
// without leaking: lookups (its namei from the root, with O_NOFOLLOW so our walker alone
// follows links and nothing leaves the filesystem), stat, symlink targets and file data.
// Only the names of a listing come from our directory parse (the package's readdir leaks a
// file of its fixed heap per call), and each name is then confirmed by a libext2fs lstat.
// It never falls back to our reader: a cross-check needs two answers, not a mix of them.
// tendril itself never loads it (ext.ts says why; test/unit/fs/bundle.test.ts checks).

import type { ByteSource } from '../io/source';
import { readExtSuper, type ExtFileSystem } from './ext';
import { ExtNativeOps, kindOfMode } from './ext-native';
import { LIB_CHUNK, type LibHandle, libDead, libMount, libUmount, mapLibError, serial } from './ext-module';
import type { DirEntry, FileHandle } from './types';
import { FsError } from './types';
import { TreeFileSystem, type TreeNode, type TreeOps, clampRead } from './walk';

/** libext2fs allocates block and inode bitmaps in its heap: refuse what cannot fit. */
const MAX_LIB_BITMAP_BYTES = 6 * 1024 * 1024;

interface LibNode extends TreeNode {
  readonly ino: number;
  /** Canonical path (no symlinks, no '..') as raw bytes, as libext2fs must see it. */
  readonly raw: Buffer;
}

const SLASH = Buffer.from('/');
const utf8 = new TextDecoder('utf-8');

function childRaw(dir: Buffer, name: string): Buffer {
  const n = Buffer.from(name);
  return dir.length === 1 ? Buffer.concat([SLASH, n]) : Buffer.concat([dir, SLASH, n]);
}

function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

class ExtLibOps implements TreeOps<LibNode> {
  constructor(
    private readonly h: LibHandle,
    private readonly native: ExtNativeOps,
  ) {}

  /** lstat through libext2fs: open O_NOFOLLOW|O_NOATIME, read the inode fields, close. */
  private statRaw(raw: Buffer, shown: string): Promise<LibNode> {
    const h = this.h;
    return serial(async () => {
      const fd = await h.openFile(raw, false);
      try {
        const st = await h.stat(fd);
        return { raw, ino: st.ino, kind: kindOfMode(st.mode), size: st.size, mtimeMs: st.mtime * 1000 };
      } finally {
        await h.closeFile(fd);
      }
    }).catch((e) => {
      throw mapLibError(e, shown, 'open');
    });
  }

  root(): Promise<LibNode> {
    return this.statRaw(SLASH, '/');
  }

  key(dir: LibNode): number {
    return dir.ino;
  }

  async lookup(dir: LibNode, name: string, path: string): Promise<readonly [string, LibNode] | null> {
    try {
      return [name, await this.statRaw(childRaw(dir.raw, name), path)];
    } catch (e) {
      if (e instanceof FsError && e.code === 'ENOENT') return null;
      throw e;
    }
  }

  async entries(dir: LibNode, path: string, limit: number): Promise<DirEntry[]> {
    const d = this.native.dir(this.native.node(dir.ino, path), path);
    const out: DirEntry[] = [];
    for (const r of d.take(limit)) {
      try {
        out.push({ name: r.name, kind: (await this.statRaw(childRaw(dir.raw, r.name), childPath(path, r.name))).kind });
      } catch (e) {
        // A name libext2fs cannot find is not listed; one it cannot read is, as 'other'
        // (its own error comes back when the name is used).
        if (!(e instanceof FsError)) throw e;
        if (e.code !== 'ENOENT') out.push({ name: r.name, kind: 'other' });
      }
    }
    return out;
  }

  async readlink(node: LibNode, path: string): Promise<string> {
    const target = await serial(() => this.h.readlink(node.raw)).catch((e) => {
      throw mapLibError(e, path, 'readlink');
    });
    return utf8.decode(target);
  }

  /** File data through libext2fs, in chunks of at most LIB_CHUNK bytes. */
  openFile(node: LibNode, path: string): Promise<FileHandle> {
    const h = this.h;
    return serial(() => h.openFile(node.raw, true))
      .catch((e) => {
        throw mapLibError(e, path, 'open');
      })
      .then((fd) => {
        const size = node.size;
        let closed = false;
        return {
          size,
          async read(position: number, length: number): Promise<Uint8Array> {
            if (closed) throw new FsError('EINVAL', path, 'file handle closed');
            const n = clampRead(size, position, length, path);
            const out = Buffer.alloc(n);
            let done = 0;
            while (done < n) {
              const want = Math.min(LIB_CHUNK, n - done);
              const got = await serial(() => h.read(fd, out, done, want, position + done)).catch((e) => {
                throw mapLibError(e, path, 'read');
              });
              if (got <= 0) throw new FsError('EIO', path, `short read at ${position + done}`);
              done += got;
            }
            return out;
          },
          async close(): Promise<void> {
            if (closed) return;
            closed = true;
            if (!libDead()) await serial(() => h.closeFile(fd)).catch(() => undefined);
          },
        };
      });
  }
}

/** Bytes libext2fs needs for bitmaps and descriptors when it mounts this volume. */
export function libHeapEstimate(sb: {
  blocksCount: number;
  inodesCount: number;
  groupCount: number;
  descSize: number;
}): number {
  return Math.ceil(sb.blocksCount / 8) + Math.ceil(sb.inodesCount / 8) + sb.groupCount * sb.descSize * 2;
}

/** Open `src` through libext2fs. Throws FsError (EINVAL when it cannot mount the volume in its heap). */
export async function openExtLib(src: ByteSource, type: string): Promise<ExtFileSystem> {
  const sb = readExtSuper(src);
  const heap = libHeapEstimate(sb);
  if (libDead()) throw new FsError('EIO', src.name, `libext2fs unusable: ${libDead()}`);
  if (heap > MAX_LIB_BITMAP_BYTES)
    throw new FsError(
      'EINVAL',
      src.name,
      `libext2fs cannot mount this volume: its bitmaps (${(heap / 1048576).toFixed(0)} MiB) would not fit its 16 MiB heap`,
    );
  const h = await libMount(src);
  const fsys = new TreeFileSystem<LibNode>(type, false, new ExtLibOps(h, new ExtNativeOps(src, sb)), () =>
    libUmount(h),
  );
  Object.defineProperty(fsys, 'superblock', { value: sb, enumerable: true });
  Object.defineProperty(fsys, 'engine', { value: 'libext2fs', enumerable: true });
  Object.defineProperty(fsys, 'notes', { value: [], enumerable: true });
  return fsys as unknown as ExtFileSystem;
}
