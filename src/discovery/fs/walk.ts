// Path resolution shared by the userspace readers (FAT, ISO 9660, ext): one place decides
// how components, symlinks and '..' behave, so every filesystem is confined to its root the
// same way. Symlink targets are interpreted inside the filesystem: an absolute target starts
// at this filesystem's root, and a '..' above the root is refused with EACCES (as
// normalizePath and HostDirFileSystem do), so no link can name anything outside.
//
// Limits are the kernel's (path_resolution(7)): a path or symlink target of PATH_MAX bytes or
// more is ENAMETOOLONG, a lookup that follows more than MAXSYMLINKS links is ELOOP, and both
// name the limit. A component costs one directory lookup the first time and a map hit after
// (the lookup cache below), so a path 2,000 directories deep costs 2,000 lookups once.

import { type ByteSource, IoError } from '../io/source';
import {
  type DirEntry,
  type FileHandle,
  type FileKind,
  type FileStat,
  type FileSystem,
  FsError,
  MAX_PATH,
  MAX_SYMLINKS,
  type ReaddirOptions,
  normalizePath,
  pathTooLong,
  readdirLimit,
} from './types';

/** What the walker needs to know about one inode/directory record. */
export interface TreeNode {
  readonly kind: FileKind;
  readonly size: number;
  readonly mtimeMs?: number;
}

type MaybePromise<T> = T | Promise<T>;

/** A filesystem as a tree of nodes; every FsError thrown here should name `path`. */
export interface TreeOps<N extends TreeNode> {
  root(): MaybePromise<N>;
  /** Identity of a directory node (inode number, first cluster, extent): the lookup cache's key. */
  key(dir: N): string | number;
  /** Up to `limit` entries of a directory in on-disk order, without '.' and '..'; reads no further. */
  entries(dir: N, path: string, limit: number): MaybePromise<readonly DirEntry[]>;
  /** The entry `name` of `dir` (case-insensitively where the filesystem is) with its stored name; null when absent. */
  lookup(dir: N, name: string, path: string): MaybePromise<readonly [string, N] | null>;
  readlink(node: N, path: string): MaybePromise<string>;
  openFile(node: N, path: string): MaybePromise<FileHandle>;
}

export interface Resolved<N> {
  readonly node: N;
  /** Canonical path with names as stored on disk (no symlinks in it unless final and not followed). */
  readonly path: string;
}

/** Find `name` among entries: exact match first, then (optionally) case-insensitive. */
export function matchName<N>(
  entries: ReadonlyArray<readonly [string, N]>,
  name: string,
  caseInsensitive: boolean,
): readonly [string, N] | null {
  for (const e of entries) if (e[0] === name) return e;
  if (!caseInsensitive) return null;
  const folded = foldCase(name);
  for (const e of entries) if (foldCase(e[0]) === folded) return e;
  return null;
}

/** Case folding for FAT/ISO lookups: Unicode lower case is close enough to what firmware does. */
export function foldCase(s: string): string {
  return s.toLowerCase();
}

function components(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

interface ParsedDir<N> {
  readonly list: ReadonlyArray<readonly [string, N]>;
  readonly exact: Map<string, readonly [string, N]>;
  readonly folded: Map<string, readonly [string, N]> | null;
}

/**
 * Directories that are parsed whole (FAT, ISO 9660: a directory is at most a few MiB and its
 * records are the nodes): each listing is kept with a name index, so a lookup is a map hit
 * instead of a scan. Kept directories are bounded by the names they hold.
 */
export class ParsedDirs<N extends TreeNode> {
  private readonly dirs = new Map<string | number, ParsedDir<N>>();
  private names = 0;

  constructor(
    private readonly parse: (dir: N, path: string) => ReadonlyArray<readonly [string, N]>,
    private readonly keyOf: (dir: N) => string | number,
    private readonly caseInsensitive: boolean,
    private readonly maxNames = 400_000,
  ) {}

  private get(dir: N, path: string): ParsedDir<N> {
    const key = this.keyOf(dir);
    const hit = this.dirs.get(key);
    if (hit) {
      this.dirs.delete(key);
      this.dirs.set(key, hit);
      return hit;
    }
    const list = this.parse(dir, path);
    const exact = new Map<string, readonly [string, N]>();
    const folded = this.caseInsensitive ? new Map<string, readonly [string, N]>() : null;
    for (const e of list) {
      if (!exact.has(e[0])) exact.set(e[0], e);
      const f = foldCase(e[0]);
      if (folded && !folded.has(f)) folded.set(f, e);
    }
    const parsed = { list, exact, folded };
    this.names += list.length;
    for (const [k, d] of this.dirs) {
      if (this.names <= this.maxNames) break;
      this.dirs.delete(k);
      this.names -= d.list.length;
    }
    this.dirs.set(key, parsed);
    return parsed;
  }

  entries(dir: N, path: string, limit: number): DirEntry[] {
    const { list } = this.get(dir, path);
    const n = Math.min(limit, list.length);
    const out: DirEntry[] = [];
    for (let i = 0; i < n; i++) {
      const [name, node] = list[i]!;
      out.push({ name, kind: node.kind });
    }
    return out;
  }

  lookup(dir: N, name: string, path: string): readonly [string, N] | null {
    const d = this.get(dir, path);
    return d.exact.get(name) ?? d.folded?.get(foldCase(name)) ?? null;
  }
}

/** Lookups remembered per filesystem (directory key + name): a path component costs a map hit when warm. */
const LOOKUP_CACHE = 16_384;

function statOf(n: TreeNode): FileStat {
  return n.mtimeMs === undefined ? { kind: n.kind, size: n.size } : { kind: n.kind, size: n.size, mtimeMs: n.mtimeMs };
}

/** A FileSystem built from TreeOps: FAT, ISO 9660 and ext use it. */
export class TreeFileSystem<N extends TreeNode> implements FileSystem {
  private readonly lookups = new Map<string, readonly [string, N] | null>();
  /** Lookups asked of the filesystem (not served by the cache): tests and bench/fs-paths.ts count them. */
  lookupCalls = 0;

  constructor(
    readonly type: string,
    readonly caseInsensitive: boolean,
    private readonly ops: TreeOps<N>,
    private readonly onClose: () => MaybePromise<void> = () => {},
  ) {}

  private async lookup(dir: N, name: string, path: string): Promise<readonly [string, N] | null> {
    const key = `${this.ops.key(dir)}\0${name}`;
    const hit = this.lookups.get(key);
    if (hit !== undefined) return hit;
    this.lookupCalls++;
    const found = await this.ops.lookup(dir, name, path);
    if (this.lookups.size >= LOOKUP_CACHE) this.lookups.delete(this.lookups.keys().next().value as string);
    this.lookups.set(key, found);
    return found;
  }

  /**
   * Resolve `path` component by component. `followLast` follows a final symlink (stat/open)
   * or not (lstat). POSIX errors: ENOENT for a missing name, ENOTDIR when a non-directory is
   * used as a directory, ELOOP past MAX_SYMLINKS links, ENAMETOOLONG for a target of PATH_MAX
   * bytes or more; each names the path asked for.
   */
  async resolve(path: string, followLast: boolean): Promise<Resolved<N>> {
    const clean = normalizePath(path);
    const root = await this.ops.root();
    // Resolved [name, node] from the root; '..' pops (never above the root).
    const stack: Array<readonly [string, N]> = [];
    // Components still to walk, last one first (pop() is O(1) however long a target is).
    const pending = components(clean).reverse();
    let links = 0;
    while (pending.length > 0) {
      const name = pending.pop()!;
      const dir = stack.at(-1)?.[1] ?? root;
      if (dir.kind !== 'dir') throw new FsError('ENOTDIR', path);
      if (name === '..') {
        // Only a symlink target can get here at the root (normalizePath refused it in `path`):
        // report it like normalizePath and HostDirFileSystem do, never clamp silently.
        if (stack.length === 0) throw new FsError('EACCES', path, 'symlink target escapes the filesystem root');
        stack.pop();
        continue;
      }
      const found = await this.lookup(dir, name, path);
      if (!found) throw new FsError('ENOENT', path);
      const [realName, node] = found;
      if (node.kind === 'symlink' && (pending.length > 0 || followLast)) {
        if (++links > MAX_SYMLINKS)
          throw new FsError('ELOOP', path, `more than ${MAX_SYMLINKS} symlinks, the kernel's MAXSYMLINKS`);
        const target = await this.ops.readlink(node, path);
        if (target === '') throw new FsError('ENOENT', path, 'empty symlink');
        const bytes = Buffer.byteLength(target);
        if (bytes >= MAX_PATH) throw pathTooLong(`symlink target in ${path}`, path, bytes);
        if (target.startsWith('/')) stack.length = 0;
        const parts = components(target);
        for (let i = parts.length - 1; i >= 0; i--) pending.push(parts[i]!);
        continue;
      }
      stack.push([realName, node]);
    }
    const node = stack.at(-1)?.[1] ?? root;
    return { node, path: '/' + stack.map((s) => s[0]).join('/') };
  }

  async stat(path: string): Promise<FileStat> {
    return statOf((await this.resolve(path, true)).node);
  }

  async lstat(path: string): Promise<FileStat> {
    return statOf((await this.resolve(path, false)).node);
  }

  async readdir(path: string, opts?: ReaddirOptions): Promise<DirEntry[]> {
    const limit = readdirLimit(opts, path);
    const r = await this.resolve(path, true);
    if (r.node.kind !== 'dir') throw new FsError('ENOTDIR', path);
    return [...(await this.ops.entries(r.node, path, limit))];
  }

  async open(path: string): Promise<FileHandle> {
    const r = await this.resolve(path, true);
    if (r.node.kind === 'dir') throw new FsError('EISDIR', path);
    if (r.node.kind !== 'file') throw new FsError('EINVAL', path, 'not a regular file');
    return this.ops.openFile(r.node, path);
  }

  async close(): Promise<void> {
    this.lookups.clear();
    await this.onClose();
  }
}

/** Validate a read request against a file size; returns the clamped length. */
export function clampRead(size: number, position: number, length: number, path: string): number {
  if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new FsError('EINVAL', path, `bad read range ${position}+${length}`);
  }
  if (length > MAX_READ) throw new FsError('EINVAL', path, `read of ${length} bytes > ${MAX_READ}`);
  return Math.max(0, Math.min(length, size - position));
}

/** Largest single FileHandle.read we serve (callers loop; readFileLimited asks 4 MiB). */
export const MAX_READ = 64 << 20;

/** One contiguous piece of a file: `length` bytes at `diskOffset` (-1: a hole), holding file bytes from `fileOffset`. */
export interface Run {
  readonly fileOffset: number;
  readonly diskOffset: number;
  readonly length: number;
}

/** Read `length` bytes at file offset `pos` through `runs` with one readAt per run piece. */
export function readRuns(src: ByteSource, runs: readonly Run[], pos: number, length: number, path: string): Buffer {
  const out = Buffer.allocUnsafe(length);
  let done = 0;
  // Binary search for the run holding `pos`.
  let lo = 0;
  let hi = runs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    const r = runs[mid];
    if (r !== undefined && r.fileOffset <= pos) lo = mid;
    else hi = mid - 1;
  }
  for (let i = lo; done < length; i++) {
    const r = runs[i];
    const at = pos + done;
    if (!r || at < r.fileOffset || at >= r.fileOffset + r.length) {
      throw new FsError('EIO', path, `no data for offset ${at} (chain shorter than the file)`);
    }
    const n = Math.min(length - done, r.fileOffset + r.length - at);
    if (r.diskOffset < 0) {
      // A hole (sparse file or unwritten extent): zeros.
      out.fill(0, done, done + n);
      done += n;
      continue;
    }
    const diskPos = r.diskOffset + (at - r.fileOffset);
    let got = 0;
    while (got < n) {
      const k = src.readAt(out, done + got, n - got, diskPos + got);
      if (k <= 0) throw new FsError('EIO', path, `read past the device end at ${diskPos + got}`);
      got += k;
    }
    done += n;
  }
  return out;
}

/**
 * A FileHandle over a file laid out as runs on `src` (FAT clusters, ISO extents, ext extents):
 * reads are clamped to the file, served with one readAt per run, and refused once closed.
 * `small` serves files with no runs (ext inline data) from memory.
 */
export function runsHandle(
  src: ByteSource,
  runs: readonly Run[] | null,
  size: number,
  path: string,
  small?: (position: number, n: number) => Uint8Array,
): FileHandle {
  let closed = false;
  return {
    size,
    async read(position: number, length: number): Promise<Uint8Array> {
      if (closed) throw new FsError('EINVAL', path, 'file handle closed');
      const n = clampRead(size, position, length, path);
      if (n === 0) return new Uint8Array(0);
      if (!runs) {
        if (!small) throw new FsError('EIO', path, 'no data runs');
        return small(position, n);
      }
      return ioGuard(path, () => readRuns(src, runs, position, n, path));
    },
    async close(): Promise<void> {
      closed = true;
    },
  };
}

/**
 * IoErrors from the source become FsError EIO naming the path; so do RangeErrors, which the
 * byte readers (util/bytes) throw for a read past the end of a metadata buffer: corrupt
 * metadata that a length check missed is an I/O error of that file, never a crash.
 */
export function ioGuard<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof IoError) throw new FsError('EIO', path, e.message);
    if (e instanceof RangeError) throw new FsError('EIO', path, `corrupt metadata: ${e.message}`);
    throw e;
  }
}
