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

// com_err codes of the ext2 error table (e2fsprogs lib/ext2fs/ext2_err.et.in): EXT2_ET_BASE
// (2133571328) plus the index of the code's name in this list, in the table's order.
const ET_BASE = 2133571328;
const ET_NAMES: readonly string[] = (
  'BASE MAGIC_EXT2FS_FILSYS MAGIC_BADBLOCKS_LIST MAGIC_BADBLOCKS_ITERATE MAGIC_INODE_SCAN ' +
  'MAGIC_IO_CHANNEL MAGIC_UNIX_IO_CHANNEL MAGIC_IO_MANAGER MAGIC_BLOCK_BITMAP MAGIC_INODE_BITMAP ' +
  'MAGIC_GENERIC_BITMAP MAGIC_TEST_IO_CHANNEL MAGIC_DBLIST MAGIC_ICOUNT MAGIC_PQ_IO_CHANNEL ' +
  'MAGIC_EXT2_FILE MAGIC_E2IMAGE MAGIC_INODE_IO_CHANNEL MAGIC_EXTENT_HANDLE BAD_MAGIC REV_TOO_HIGH ' +
  'RO_FILSYS GDESC_READ GDESC_WRITE GDESC_BAD_BLOCK_MAP GDESC_BAD_INODE_MAP GDESC_BAD_INODE_TABLE ' +
  'INODE_BITMAP_WRITE INODE_BITMAP_READ BLOCK_BITMAP_WRITE BLOCK_BITMAP_READ INODE_TABLE_WRITE ' +
  'INODE_TABLE_READ NEXT_INODE_READ UNEXPECTED_BLOCK_SIZE DIR_CORRUPTED SHORT_READ SHORT_WRITE ' +
  'DIR_NO_SPACE NO_INODE_BITMAP NO_BLOCK_BITMAP BAD_INODE_NUM BAD_BLOCK_NUM EXPAND_DIR_ERR TOOSMALL ' +
  'BAD_BLOCK_MARK BAD_BLOCK_UNMARK BAD_BLOCK_TEST BAD_INODE_MARK BAD_INODE_UNMARK BAD_INODE_TEST ' +
  'FUDGE_BLOCK_BITMAP_END FUDGE_INODE_BITMAP_END BAD_IND_BLOCK BAD_DIND_BLOCK BAD_TIND_BLOCK ' +
  'NEQ_BLOCK_BITMAP NEQ_INODE_BITMAP BAD_DEVICE_NAME MISSING_INODE_TABLE CORRUPT_SUPERBLOCK ' +
  'BAD_GENERIC_MARK BAD_GENERIC_UNMARK BAD_GENERIC_TEST SYMLINK_LOOP CALLBACK_NOTHANDLED ' +
  'BAD_BLOCK_IN_INODE_TABLE UNSUPP_FEATURE RO_UNSUPP_FEATURE LLSEEK_FAILED NO_MEMORY INVALID_ARGUMENT ' +
  'BLOCK_ALLOC_FAIL INODE_ALLOC_FAIL NO_DIRECTORY TOO_MANY_REFS FILE_NOT_FOUND FILE_RO DB_NOT_FOUND ' +
  'DIR_EXISTS UNIMPLEMENTED CANCEL_REQUESTED FILE_TOO_BIG JOURNAL_NOT_BLOCK NO_JOURNAL_SB ' +
  'JOURNAL_TOO_SMALL JOURNAL_UNSUPP_VERSION LOAD_EXT_JOURNAL NO_JOURNAL DIRHASH_UNSUPP BAD_EA_BLOCK_NUM ' +
  'TOO_MANY_INODES NOT_IMAGE_FILE RES_GDT_BLOCKS RESIZE_INODE_CORRUPT SET_BMAP_NO_IND TDB_SUCCESS ' +
  'TDB_ERR_CORRUPT TDB_ERR_IO TDB_ERR_LOCK TDB_ERR_OOM TDB_ERR_EXISTS TDB_ERR_NOLOCK TDB_ERR_EINVAL ' +
  'TDB_ERR_NOEXIST TDB_ERR_RDONLY DBLIST_EMPTY RO_BLOCK_ITERATE MAGIC_EXTENT_PATH ' +
  'MAGIC_GENERIC_BITMAP64 MAGIC_BLOCK_BITMAP64 MAGIC_INODE_BITMAP64 MAGIC_RESERVED_13 MAGIC_RESERVED_14 ' +
  'MAGIC_RESERVED_15 MAGIC_RESERVED_16 MAGIC_RESERVED_17 MAGIC_RESERVED_18 MAGIC_RESERVED_19 ' +
  'EXTENT_HEADER_BAD EXTENT_INDEX_BAD EXTENT_LEAF_BAD EXTENT_NO_SPACE INODE_NOT_EXTENT EXTENT_NO_NEXT ' +
  'EXTENT_NO_PREV EXTENT_NO_UP EXTENT_NO_DOWN NO_CURRENT_NODE OP_NOT_SUPPORTED CANT_INSERT_EXTENT ' +
  'CANT_SPLIT_EXTENT EXTENT_NOT_FOUND EXTENT_NOT_SUPPORTED EXTENT_INVALID_LENGTH ' +
  'IO_CHANNEL_NO_SUPPORT_64 NO_MTAB_FILE CANT_USE_LEGACY_BITMAPS MMP_MAGIC_INVALID MMP_FAILED ' +
  'MMP_FSCK_ON MMP_BAD_BLOCK MMP_UNKNOWN_SEQ MMP_CHANGE_ABORT MMP_OPEN_DIRECT BAD_DESC_SIZE ' +
  'INODE_CSUM_INVALID INODE_BITMAP_CSUM_INVALID EXTENT_CSUM_INVALID DIR_NO_SPACE_FOR_CSUM ' +
  'DIR_CSUM_INVALID EXT_ATTR_CSUM_INVALID SB_CSUM_INVALID UNKNOWN_CSUM MMP_CSUM_INVALID FILE_EXISTS ' +
  'BLOCK_BITMAP_CSUM_INVALID INLINE_DATA_CANT_ITERATE EA_BAD_NAME_LEN EA_BAD_VALUE_SIZE BAD_EA_HASH ' +
  'BAD_EA_HEADER EA_KEY_NOT_FOUND EA_NO_SPACE MISSING_EA_FEATURE NO_INLINE_DATA INLINE_DATA_NO_BLOCK ' +
  'INLINE_DATA_NO_SPACE MAGIC_EA_HANDLE INODE_IS_GARBAGE EA_BAD_VALUE_OFFSET JOURNAL_FLAGS_WRONG ' +
  'UNDO_FILE_CORRUPT UNDO_FILE_WRONG FILESYSTEM_CORRUPTED BAD_CRC CORRUPT_JOURNAL_SB INODE_CORRUPTED ' +
  'EA_INODE_CORRUPTED NO_GDESC'
).split(' ');

/** What the codes a read-only lookup can meet mean, and the FsError code each becomes. */
const COM_ERR: Readonly<Record<string, readonly [FsErrorCode, string]>> = {
  BAD_MAGIC: ['EINVAL', 'bad magic number in superblock: not an ext2/3/4 filesystem'],
  REV_TOO_HIGH: ['EINVAL', 'filesystem revision too high'],
  CORRUPT_SUPERBLOCK: ['EINVAL', 'the superblock is corrupt'],
  UNSUPP_FEATURE: ['EINVAL', 'the filesystem has features libext2fs does not support'],
  GDESC_READ: ['EIO', 'cannot read the group descriptors'],
  GDESC_BAD_BLOCK_MAP: ['EIO', 'corrupt group descriptor: bad block bitmap location'],
  GDESC_BAD_INODE_MAP: ['EIO', 'corrupt group descriptor: bad inode bitmap location'],
  GDESC_BAD_INODE_TABLE: ['EIO', 'corrupt group descriptor: bad inode table location'],
  MISSING_INODE_TABLE: ['EIO', 'a block group has no inode table'],
  SHORT_READ: ['EIO', 'a block read came back short'],
  DIR_CORRUPTED: ['EIO', 'corrupt directory'],
  BAD_INODE_NUM: ['EIO', 'inode number out of range'],
  BAD_BLOCK_NUM: ['EIO', 'block number out of range'],
  SYMLINK_LOOP: ['ELOOP', 'too many symbolic links'],
  NO_DIRECTORY: ['ENOTDIR', 'not a directory'],
  FILE_NOT_FOUND: ['ENOENT', 'file not found'],
  FILE_TOO_BIG: ['EFBIG', 'file too big'],
  EXTENT_HEADER_BAD: ['EIO', 'corrupt extent header'],
  EXTENT_INDEX_BAD: ['EIO', 'corrupt extent index'],
  EXTENT_LEAF_BAD: ['EIO', 'corrupt extent'],
  INODE_CSUM_INVALID: ['EIO', 'inode checksum mismatch'],
  EXTENT_CSUM_INVALID: ['EIO', 'extent block checksum mismatch'],
  DIR_CSUM_INVALID: ['EIO', 'directory block checksum mismatch'],
  DIR_NO_SPACE_FOR_CSUM: ['EIO', 'directory block without room for its checksum'],
  SB_CSUM_INVALID: ['EINVAL', 'superblock checksum mismatch'],
  INODE_IS_GARBAGE: ['EIO', 'the inode holds garbage'],
  INODE_CORRUPTED: ['EIO', 'corrupt inode'],
  FILESYSTEM_CORRUPTED: ['EIO', 'the filesystem is corrupt'],
  BAD_CRC: ['EIO', 'checksum mismatch'],
};

/** `op: meaning (EXT2_ET_NAME, libext2fs error N)` for a com_err code of the ext2 table. */
export function describeComErr(errno: number, op: string): readonly [FsErrorCode, string] {
  const name = ET_NAMES[errno - ET_BASE];
  if (name === undefined) return ['EIO', `${op}: unknown libext2fs error ${errno} (EXT2_ET_BASE+${errno - ET_BASE})`];
  const known = COM_ERR[name];
  const meaning = known?.[1] ?? name.toLowerCase().replaceAll('_', ' ');
  return [known?.[0] ?? 'EIO', `${op}: ${meaning} (EXT2_ET_${name}, libext2fs error ${errno})`];
}

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
    const [code, text] = describeComErr(errno, op);
    return new FsError(code, path, text);
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
