// Path resolution shared by the userspace readers (FAT, ISO 9660, ext): one place decides
// how components, symlinks and '..' behave, so every filesystem is confined to its root the
// same way. Symlink targets are interpreted inside the filesystem: an absolute target starts
// at this filesystem's root, and a '..' above the root is refused with EACCES (as
// normalizePath and HostDirFileSystem do), so no link can name anything outside.

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
  normalizePath,
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
  /** Entries of a directory node, without '.' and '..'. */
  list(dir: N, path: string): MaybePromise<ReadonlyArray<readonly [string, N]>>;
  /** Optional faster exact-name lookup; null when absent. Falls back to list(). */
  lookup?(dir: N, name: string, path: string): MaybePromise<N | null>;
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

function splitTarget(target: string): string[] {
  return target.split('/').filter((p) => p !== '' && p !== '.');
}

/**
 * Resolve `path` component by component. `followLast` follows a final symlink (stat/open)
 * or not (lstat). POSIX errors: ENOENT for a missing name, ENOTDIR when a non-directory is
 * used as a directory, ELOOP after MAX_SYMLINKS links.
 */
export async function resolvePath<N extends TreeNode>(
  ops: TreeOps<N>,
  path: string,
  followLast: boolean,
  caseInsensitive: boolean,
): Promise<Resolved<N>> {
  const clean = normalizePath(path);
  const root = await ops.root();
  // Stack of resolved [name, node] from the root; '..' pops (never above the root).
  const stack: Array<readonly [string, N]> = [];
  let pending = splitTarget(clean);
  let links = 0;
  let expanded = 0;
  while (pending.length > 0) {
    const name = pending.shift()!;
    const dir = stack.at(-1)?.[1] ?? root;
    if (name === '..') {
      if (dir.kind !== 'dir') throw new FsError('ENOTDIR', path);
      // Only a symlink target can get here at the root (normalizePath refused it in `path`):
      // report it like normalizePath and HostDirFileSystem do, never clamp silently.
      if (stack.length === 0) throw new FsError('EACCES', path, 'symlink target escapes the filesystem root');
      stack.pop();
      continue;
    }
    if (dir.kind !== 'dir') throw new FsError('ENOTDIR', path);
    const found = await lookupIn(ops, dir, name, path, caseInsensitive);
    if (!found) throw new FsError('ENOENT', path);
    const [realName, node] = found;
    if (node.kind === 'symlink' && (pending.length > 0 || followLast)) {
      if (++links > MAX_SYMLINKS) throw new FsError('ELOOP', path, `more than ${MAX_SYMLINKS} symlinks`);
      const target = await ops.readlink(node, path);
      if (target === '') throw new FsError('ENOENT', path, 'empty symlink');
      expanded += target.length;
      if (expanded > MAX_PATH * 4) throw new FsError('ENAMETOOLONG', path, 'symlink expansion too long');
      if (target.startsWith('/')) stack.length = 0;
      pending = [...splitTarget(target), ...pending];
      continue;
    }
    stack.push([realName, node]);
  }
  const node = stack.at(-1)?.[1] ?? root;
  return { node, path: '/' + stack.map((s) => s[0]).join('/') };
}

async function lookupIn<N extends TreeNode>(
  ops: TreeOps<N>,
  dir: N,
  name: string,
  path: string,
  caseInsensitive: boolean,
): Promise<readonly [string, N] | null> {
  if (ops.lookup) {
    const n = await ops.lookup(dir, name, path);
    if (n) return [name, n];
    if (!caseInsensitive) return null;
  }
  return matchName(await ops.list(dir, path), name, caseInsensitive);
}

function statOf(n: TreeNode): FileStat {
  return n.mtimeMs === undefined ? { kind: n.kind, size: n.size } : { kind: n.kind, size: n.size, mtimeMs: n.mtimeMs };
}

/** A FileSystem built from TreeOps: FAT and ISO 9660 (and ext's metadata side) use it. */
export class TreeFileSystem<N extends TreeNode> implements FileSystem {
  constructor(
    readonly type: string,
    readonly caseInsensitive: boolean,
    private readonly ops: TreeOps<N>,
    private readonly onClose: () => MaybePromise<void> = () => {},
  ) {}

  resolve(path: string, followLast: boolean): Promise<Resolved<N>> {
    return resolvePath(this.ops, path, followLast, this.caseInsensitive);
  }

  async stat(path: string): Promise<FileStat> {
    return statOf((await this.resolve(path, true)).node);
  }

  async lstat(path: string): Promise<FileStat> {
    return statOf((await this.resolve(path, false)).node);
  }

  async readdir(path: string): Promise<DirEntry[]> {
    const r = await this.resolve(path, true);
    if (r.node.kind !== 'dir') throw new FsError('ENOTDIR', path);
    const list = await this.ops.list(r.node, path);
    return list.map(([name, n]) => ({ name, kind: n.kind }));
  }

  async open(path: string): Promise<FileHandle> {
    const r = await this.resolve(path, true);
    if (r.node.kind === 'dir') throw new FsError('EISDIR', path);
    if (r.node.kind !== 'file') throw new FsError('EINVAL', path, 'not a regular file');
    return this.ops.openFile(r.node, path);
  }

  async close(): Promise<void> {
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
