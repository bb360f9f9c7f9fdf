// The adapter around the `ext2fs` npm package (libext2fs compiled to WASM; docs/packages.md §2):
// lazy loading, removal of the process-wide handlers its emscripten glue installs, a
// synchronous read-only disk over a ByteSource, one global queue of calls (so at most one
// buffer is allocated in the fixed 16 MiB heap at a time), and errno/com_err mapping.

import type { ByteSource } from '../io/source';
import { IoError } from '../io/source';
import { type FsErrorCode, FsError } from './types';

/** The parts of the package we use: its emscripten Module and its thin C bindings. */
interface WasmModule {
  calledRun?: boolean;
  setObject(o: unknown): number;
  deleteObject(id: number): void;
}

interface LibUtil {
  ccallThrowAsync(name: string, ret: string, argTypes: string[], args: number[]): Promise<number>;
  withHooks<A extends unknown[], R>(f: (...a: A) => Promise<R>): (...a: A) => Promise<R>;
  usePath(p: Buffer): Promise<number>;
  useBuffer(n: number): Promise<[Buffer, number]>;
  useObject<T>(o: T): Promise<[T, number]>;
}

interface LibBindingRaw {
  open(fsp: number, path: number, flags: number, mode: number): Promise<number>;
  close(fd: number): Promise<number>;
  read(fd: number, flags: number, buf: number, len: number, pos: number): Promise<number>;
  readdir(fsp: number, path: number, arrayId: number): Promise<number>;
  readlink(fsp: number, path: number, arrayId: number): Promise<number>;
  stat_ino(fd: number): Promise<number>;
  stat_i_mode(fd: number): Promise<number>;
  stat_i_size(fd: number): Promise<number>;
  stat_i_mtime(fd: number): Promise<number>;
}

interface LibDisk {
  read(buf: Buffer, off: number, len: number, pos: number): Promise<{ bytesRead: number; buffer: Buffer }>;
  write(): Promise<never>;
  discard(): Promise<never>;
  flush(): Promise<void>;
}

// Open flags as node_ext2fs's C glue defines them (Linux values). O_NOATIME matters: without
// it every read updates atime, which is a write, and the read then fails with EIO.
const O_RDONLY = 0;
const O_NOFOLLOW = 0o400000;
const O_NOATIME = 0o1000000;

/** Largest buffer we ask libext2fs to fill in one call (its heap is 16 MiB, fixed). */
export const LIB_CHUNK = 1 << 20;

interface Lib {
  readonly module: WasmModule;
  readonly util: LibUtil;
  readonly b: LibBindingRaw;
  readonly ready: Promise<void>;
}

let lib: Lib | null = null;
let deadReason: string | null = null;

/** Set once the WASM module has aborted (e.g. out of memory): it is unusable until restart. */
export function libDead(): string | null {
  return deadReason;
}

type Listener = (...args: unknown[]) => void;
const EVENTS = ['uncaughtException', 'unhandledRejection'] as const;

function snapshotListeners(): Map<string, Listener[]> {
  return new Map(EVENTS.map((e) => [e, process.listeners(e as 'uncaughtException') as Listener[]]));
}

/** Remove every listener added since `saved` (the glue rethrows and dumps its whole source). */
function restoreListeners(saved: Map<string, Listener[]>): void {
  for (const e of EVENTS) {
    const keep = saved.get(e) ?? [];
    for (const l of process.listeners(e as 'uncaughtException') as Listener[]) {
      if (!keep.includes(l)) process.removeListener(e, l);
    }
  }
}

/**
 * Load lazily (about 35 ms, and WASM cannot live in a startup snapshot). We use the
 * package's Module, util and binding files and not its lib/fs.js: that file's fs clone
 * has the readFile/realpath/createReadStream bugs and const reassignments esbuild rejects.
 */
function load(): Lib {
  if (lib) return lib;
  const saved = snapshotListeners();
  try {
    const module = require('ext2fs/lib/libext2fs') as WasmModule;
    const util = require('ext2fs/lib/util') as LibUtil;
    const b = require('ext2fs/lib/binding') as LibBindingRaw;
    const ready = new Promise<void>((resolve) => {
      const check = (): void => {
        if (module.calledRun) resolve();
        else setTimeout(check, 1);
      };
      check();
    });
    lib = { module, util, b, ready };
  } finally {
    restoreListeners(saved);
  }
  return lib;
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Run `f` alone: libext2fs serialises calls anyway, but our own queue also keeps multi-call
 * sequences (open, stat, close) together and bounds heap use to one buffer at a time.
 */
export function serial<T>(f: () => Promise<T>): Promise<T> {
  const run = async (): Promise<T> => {
    if (deadReason) throw new FsError('EIO', '', `libext2fs unusable: ${deadReason}`);
    return f();
  };
  const p = queue.then(run, run);
  queue = p.catch(() => undefined);
  return p;
}

// com_err codes of the ext2 error table (EXT2_ET_BASE = 2133571328).
const ET_BASE = 2133571328;
const COM_ERR: Record<number, [FsErrorCode, string]> = {
  19: ['EINVAL', 'bad magic number in superblock: not an ext2/3/4 filesystem (EXT2_ET_BAD_MAGIC)'],
  20: ['EINVAL', 'filesystem revision too high (EXT2_ET_REV_TOO_HIGH)'],
  36: ['EIO', 'attempt to read block from filesystem resulted in short read (EXT2_ET_SHORT_READ)'],
  64: ['ELOOP', 'too many symbolic links (EXT2_ET_SYMLINK_LOOP)'],
  74: ['ENOTDIR', 'not a directory (EXT2_ET_NO_DIRECTORY)'],
  76: ['ENOENT', 'file not found (EXT2_ET_FILE_NOT_FOUND)'],
};

const PASS: readonly FsErrorCode[] = [
  'ENOENT',
  'ENOTDIR',
  'EISDIR',
  'ELOOP',
  'EINVAL',
  'EACCES',
  'ENAMETOOLONG',
  'EFBIG',
];

/** Turn whatever libext2fs threw into an FsError naming `path` and the operation. */
export function mapLibError(e: unknown, path: string, op: string): FsError {
  if (e instanceof FsError) return e;
  const err = e as { code?: unknown; errno?: unknown; message?: unknown; name?: unknown };
  const msg = typeof err?.message === 'string' ? err.message : String(e);
  if (/Aborted|RuntimeError|unreachable/.test(msg) || err?.name === 'RuntimeError') {
    deadReason = `WASM module aborted during ${op} (${msg.split('.')[0]})`;
    return new FsError('EIO', path, deadReason);
  }
  const errno = typeof err?.errno === 'number' ? err.errno : NaN;
  if (errno >= ET_BASE && errno < ET_BASE + 256) {
    const known = COM_ERR[errno - ET_BASE];
    if (known) return new FsError(known[0], path, `${op}: ${known[1]}`);
    return new FsError('EIO', path, `${op}: libext2fs error ${errno} (EXT2_ET_BASE+${errno - ET_BASE})`);
  }
  const code = typeof err?.code === 'string' ? err.code : 'UNKNOWN';
  if ((PASS as readonly string[]).includes(code)) return new FsError(code as FsErrorCode, path, op);
  return new FsError('EIO', path, `${op}: ${code}${Number.isFinite(errno) ? ` (wasi errno ${errno})` : ''}`);
}

function erofs(op: string, name: string): Promise<never> {
  return Promise.reject(Object.assign(new Error(`${op} ${name}: EROFS (read-only)`), { code: 'EROFS' }));
}

/** The disk libext2fs reads through: synchronous ByteSource reads, never a write. */
function syncDisk(src: ByteSource): LibDisk {
  return {
    read(buf, off, len, pos) {
      try {
        let done = 0;
        while (done < len) {
          const n = src.readAt(buf, off + done, len - done, pos + done);
          if (n <= 0) break;
          done += n;
        }
        // Past the device end libext2fs gets zeros, as from a short block device read.
        if (done < len) buf.fill(0, off + done, off + len);
        return Promise.resolve({ bytesRead: len, buffer: buf });
      } catch (e) {
        return Promise.reject(e instanceof IoError ? e : new Error(String(e)));
      }
    },
    write: () => erofs('write', src.name),
    discard: () => erofs('discard', src.name),
    flush: () => Promise.resolve(),
  };
}

/** One mounted volume; every method must be called inside serial(). */
export class LibHandle {
  private readonly open = new Set<number>();

  constructor(
    private readonly l: Lib,
    private readonly fsp: number,
    private readonly diskId: number,
  ) {}

  /** Open without following a final symlink; returns the ext2_file_t handle. */
  openFile(path: Buffer, follow: boolean): Promise<number> {
    const { util, b } = this.l;
    const flags = O_RDONLY | O_NOATIME | (follow ? 0 : O_NOFOLLOW);
    return util.withHooks(async () => {
      const fd = await b.open(this.fsp, await util.usePath(path), flags, 0);
      this.open.add(fd);
      return fd;
    })();
  }

  async closeFile(fd: number): Promise<void> {
    if (!this.open.delete(fd)) return;
    await this.l.b.close(fd);
  }

  async stat(fd: number): Promise<{ ino: number; mode: number; size: number; mtime: number }> {
    const b = this.l.b;
    return {
      ino: await b.stat_ino(fd),
      mode: await b.stat_i_mode(fd),
      size: await b.stat_i_size(fd),
      mtime: await b.stat_i_mtime(fd),
    };
  }

  /** Read into `out[off..off+len)`; len must be <= LIB_CHUNK. */
  read(fd: number, out: Buffer, off: number, len: number, pos: number): Promise<number> {
    const { util, b } = this.l;
    if (len > LIB_CHUNK) throw new FsError('EINVAL', '', `libext2fs read of ${len} bytes`);
    return util.withHooks(async () => {
      const [heap, ptr] = await util.useBuffer(len);
      const n = await b.read(fd, O_RDONLY | O_NOATIME, ptr, len, pos);
      heap.copy(out, off, 0, Math.min(n, len));
      return n;
    })();
  }

  readlink(path: Buffer): Promise<Buffer> {
    const { util, b } = this.l;
    return util.withHooks(async () => {
      const [arr, id] = await util.useObject<Buffer[]>([]);
      await b.readlink(this.fsp, await util.usePath(path), id);
      return arr[0] ?? Buffer.alloc(0);
    })();
  }

  async umount(): Promise<void> {
    for (const fd of [...this.open]) await this.closeFile(fd).catch(() => undefined);
    try {
      await this.l.util.ccallThrowAsync('node_ext2fs_umount', 'number', ['number'], [this.fsp]);
    } finally {
      this.l.module.deleteObject(this.diskId);
    }
  }
}

/** Mount `src` read-only with libext2fs. Throws FsError. */
export async function libMount(src: ByteSource): Promise<LibHandle> {
  let l: Lib;
  try {
    l = load();
  } catch (e) {
    throw new FsError('EIO', src.name, `cannot load the ext2fs module: ${e instanceof Error ? e.message : String(e)}`);
  }
  await l.ready;
  return serial(async () => {
    const diskId = l.module.setObject(syncDisk(src));
    try {
      const fsp = await l.util.ccallThrowAsync('node_ext2fs_mount', 'number', ['number'], [diskId]);
      return new LibHandle(l, fsp, diskId);
    } catch (e) {
      l.module.deleteObject(diskId);
      throw e;
    }
  }).catch((e) => {
    throw mapLibError(e, src.name, 'mount');
  });
}

export async function libUmount(h: LibHandle): Promise<void> {
  if (deadReason) return;
  // Errors do not matter here, but an abort must still mark the module dead.
  await serial(() => h.umount()).catch((e) => void mapLibError(e, '', 'umount'));
}
