// ext2/3/4 reader. Lookups, stat and symlinks go through libext2fs (the `ext2fs` WASM
// package); paths are resolved by our walker one component at a time with O_NOFOLLOW, so
// libext2fs never follows a link and nothing can leave this filesystem. Directory blocks are
// parsed here (the package's readdir leaks heap), and file data takes the fast path: the
// inode's extent tree / block map parsed here and read with one readAt per extent (libext2fs
// does one disk read per block: 0.16-0.28x of raw speed in bench/fs-throughput.ts).
// Volumes libext2fs cannot mount in its 16 MiB heap are read entirely by ext-native.ts.

import type { ByteSource } from '../io/source';
import { readExact } from '../io/source';
import { type ExtSuper, parseSuper } from './ext-layout';
import { LIB_CHUNK, type LibHandle, libDead, libMount, libUmount, mapLibError, serial } from './ext-module';
import { ExtNativeOps, type ExtNode, kindOfMode, nativeExtFileSystem, openMapped } from './ext-native';
import type { FileHandle, FileSystem } from './types';
import { FsError } from './types';
import { TreeFileSystem, type TreeOps, clampRead, ioGuard } from './walk';

/** libext2fs allocates block and inode bitmaps in its heap: refuse what cannot fit. */
const MAX_LIB_BITMAP_BYTES = 6 * 1024 * 1024;

interface LibNode extends ExtNode {
  /** Canonical path (no symlinks, no '..') as raw bytes, as libext2fs must see it. */
  readonly raw: Buffer;
}

const SLASH = Buffer.from('/');
const utf8 = new TextDecoder('utf-8');

function childRaw(dir: Buffer, name: Buffer): Buffer {
  return dir.length === 1 ? Buffer.concat([SLASH, name]) : Buffer.concat([dir, SLASH, name]);
}

function childPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

class ExtLibOps implements TreeOps<LibNode> {
  constructor(
    private readonly h: LibHandle,
    private readonly native: ExtNativeOps,
    private readonly libData: boolean,
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

  async root(): Promise<LibNode> {
    if (libDead()) return { ...this.native.root(), raw: SLASH };
    return this.statRaw(SLASH, '/');
  }

  async lookup(dir: LibNode, name: string, path: string): Promise<LibNode | null> {
    if (libDead()) {
      const hit = this.native.list(dir, path).find(([n]) => n === name);
      return hit ? { ...hit[1], raw: childRaw(dir.raw, Buffer.from(name)) } : null;
    }
    try {
      return await this.statRaw(childRaw(dir.raw, Buffer.from(name)), path);
    } catch (e) {
      if (e instanceof FsError && e.code === 'ENOENT') return null;
      throw e;
    }
  }

  async list(dir: LibNode, path: string): Promise<ReadonlyArray<readonly [string, LibNode]>> {
    if (libDead())
      return this.native
        .list(dir, path)
        .map(([n, node]) => [n, { ...node, raw: childRaw(dir.raw, Buffer.from(n)) }] as const);
    // Names from our own parse of the directory blocks: libext2fs 4.2.5's readdir leaks an
    // open file (three blocks of its fixed heap) per call, so ~900 listings would kill the
    // module. Kinds and sizes come from a libext2fs lstat per entry (it has no d_type).
    const names = this.native.entries(dir.ino, path);
    const out: Array<readonly [string, LibNode]> = [];
    for (const [n] of names) {
      try {
        out.push([n, await this.statRaw(childRaw(dir.raw, Buffer.from(n)), childPath(path, n))]);
      } catch (e) {
        if (!(e instanceof FsError) || e.code !== 'ENOENT') throw e;
      }
    }
    return out;
  }

  async readlink(node: LibNode, path: string): Promise<string> {
    if (libDead()) return this.native.readlink(node, path);
    const target = await serial(() => this.h.readlink(node.raw)).catch((e) => {
      throw mapLibError(e, path, 'readlink');
    });
    return utf8.decode(target);
  }

  async openFile(node: LibNode, path: string): Promise<FileHandle> {
    // Fast path, when our own reading of the inode agrees with libext2fs's.
    if (this.libData) return this.libFile(node, path);
    try {
      const inode = this.native.inode(node.ino, path);
      if (inode.size === node.size && kindOfMode(inode.mode) === 'file')
        return ioGuard(path, () => openMapped(this.native, node.ino, path));
    } catch (e) {
      if (!(e instanceof FsError) || libDead()) throw e;
    }
    if (libDead()) throw new FsError('EIO', path, `libext2fs unusable: ${libDead()}`);
    return this.libFile(node, path);
  }

  /** The slow path: reads through libext2fs in chunks of at most LIB_CHUNK bytes. */
  libFile(node: LibNode, path: string): Promise<FileHandle> {
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
export function libHeapEstimate(sb: ExtSuper): number {
  return Math.ceil(sb.blocksCount / 8) + Math.ceil(sb.inodesCount / 8) + sb.groupCount * sb.descSize * 2;
}

export interface ExtFileSystem extends FileSystem {
  readonly superblock: ExtSuper;
  /** 'libext2fs' (names via the library, data fast path) or 'native' (all ours). */
  readonly engine: 'libext2fs' | 'native';
  /** Things worth a diagnostic (stale journal, why the native engine was used). */
  readonly notes: readonly string[];
}

export interface OpenExtOptions {
  /** Force the reader without libext2fs (tests compare both). */
  readonly engine?: 'libext2fs' | 'native';
  /** Read file data through libext2fs instead of the fast path (tests and the bench compare). */
  readonly libData?: boolean;
}

/** Open an ext2/3/4 volume. Throws FsError (EINVAL for something that is not ext). */
export async function openExt(src: ByteSource, type: string, opts: OpenExtOptions = {}): Promise<ExtFileSystem> {
  if (src.size < 2048) throw new FsError('EINVAL', src.name, 'too small for an ext superblock');
  const sb = parseSuper(
    ioGuard(src.name, () => readExact(src, 1024, 1024)),
    src.size,
    src.name,
  );
  const native = new ExtNativeOps(src, sb);
  const notes: string[] = [];
  if (sb.needsRecovery) notes.push('the journal needs recovery and is not replayed: recent changes may be missing');
  const heap = libHeapEstimate(sb);
  const useLib = opts.engine !== 'native' && !libDead() && heap <= MAX_LIB_BITMAP_BYTES;
  if (opts.engine !== 'native' && !useLib) {
    notes.push(
      libDead()
        ? `read without libext2fs (${libDead()})`
        : `read without libext2fs: its bitmaps (${(heap / 1048576).toFixed(0)} MiB) would not fit its 16 MiB heap`,
    );
  }
  let fsys: TreeFileSystem<ExtNode>;
  let engine: 'libext2fs' | 'native';
  if (useLib) {
    const h = await libMount(src);
    fsys = new TreeFileSystem<LibNode>(type, false, new ExtLibOps(h, native, opts.libData === true), () =>
      libUmount(h),
    );
    engine = 'libext2fs';
  } else {
    if (opts.engine === 'libext2fs') throw new FsError('EINVAL', src.name, 'libext2fs cannot mount this volume');
    fsys = nativeExtFileSystem(type, src, sb);
    engine = 'native';
  }
  Object.defineProperty(fsys, 'superblock', { value: sb, enumerable: true });
  Object.defineProperty(fsys, 'engine', { value: engine, enumerable: true });
  Object.defineProperty(fsys, 'notes', { value: notes, enumerable: true });
  return fsys as unknown as ExtFileSystem;
}
