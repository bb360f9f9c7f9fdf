// The one read-only filesystem interface every reader implements (ext*, FAT, ISO 9660, a
// host directory). Paths are absolute, '/'-separated and relative to the filesystem root;
// `normalizePath` is the only way they are cleaned, so no reader can be walked out of its
// root with '..' or a symlink.

export type FileKind = 'file' | 'dir' | 'symlink' | 'other';

export interface FileStat {
  readonly kind: FileKind;
  readonly size: number;
  readonly mtimeMs?: number;
}

export interface DirEntry {
  readonly name: string;
  readonly kind: FileKind;
}

/** Options of FileSystem.readdir. */
export interface ReaddirOptions {
  /**
   * Return at most this many entries, in directory order, and read the directory no further
   * than they need: a caller that keeps a bounded number of names stops the reading, not the
   * keeping (a 40,000-name directory costs what `limit` names cost).
   */
  readonly limit?: number;
}

export interface FileHandle {
  readonly size: number;
  /** Read up to `length` bytes at `position` (fewer only at end of file). */
  read(position: number, length: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export type FsErrorCode =
  'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'ELOOP' | 'EIO' | 'EINVAL' | 'EFBIG' | 'EACCES' | 'ENAMETOOLONG';

export class FsError extends Error {
  constructor(
    readonly code: FsErrorCode,
    readonly path: string,
    readonly detail?: string,
  ) {
    super(`${path}: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'FsError';
  }
}

export interface FileSystem {
  /** 'ext4', 'vfat', 'iso9660', 'hostdir', ... */
  readonly type: string;
  /** FAT (and ISO without Rock Ridge/Joliet) look names up case-insensitively. */
  readonly caseInsensitive: boolean;
  /** Follows symlinks inside the filesystem (loop limit 40). Throws FsError. */
  stat(path: string): Promise<FileStat>;
  /** Does not follow a final symlink. */
  lstat(path: string): Promise<FileStat>;
  /** Entries without '.' and '..', at most `opts.limit`. Throws FsError (ENOTDIR, ENOENT). */
  readdir(path: string, opts?: ReaddirOptions): Promise<DirEntry[]>;
  /** Opens a regular file (following symlinks). Throws FsError (EISDIR, ENOENT). */
  open(path: string): Promise<FileHandle>;
  /** Releases the reader (not the underlying device). */
  close(): Promise<void>;
}

/** Max symlinks followed in one lookup, as Linux's MAXSYMLINKS (path_resolution(7)). */
export const MAX_SYMLINKS = 40;
/** Linux's PATH_MAX: a path (and a symlink target) must be shorter, in bytes, with its NUL. */
export const MAX_PATH = 4096;

/** ENAMETOOLONG naming the limit, for a path or symlink target of `bytes` bytes. */
export function pathTooLong(what: string, shown: string, bytes: number): FsError {
  return new FsError(
    'ENAMETOOLONG',
    shown.length > 64 ? shown.slice(0, 64) + '...' : shown,
    `${what} of ${bytes} bytes; the limit is ${MAX_PATH - 1} (PATH_MAX ${MAX_PATH} with its NUL)`,
  );
}

/** Checked `readdir` limit: undefined means all. */
export function readdirLimit(opts: ReaddirOptions | undefined, path: string): number {
  const limit = opts?.limit;
  if (limit === undefined) return Infinity;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new FsError('EINVAL', path, `bad readdir limit ${limit}`);
  return limit;
}

/**
 * Clean a path: '\' is NOT a separator (callers translating EFI paths do that first),
 * empty and '.' components vanish, '..' pops; popping above the root is an error, never a
 * silent clamp, so a config that tries to escape is reported.
 */
export function normalizePath(path: string): string {
  if (path.length >= MAX_PATH || Buffer.byteLength(path) >= MAX_PATH) {
    throw pathTooLong('path', path, Buffer.byteLength(path));
  }
  if (path.includes('\0')) throw new FsError('EINVAL', path, 'NUL in path');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw new FsError('EACCES', path, 'path escapes the filesystem root');
      out.pop();
      continue;
    }
    out.push(part);
  }
  return '/' + out.join('/');
}

export function joinPath(dir: string, name: string): string {
  if (name.startsWith('/')) return normalizePath(name);
  return normalizePath(dir.replace(/\/+$/, '') + '/' + name);
}

export function dirname(path: string): string {
  const p = normalizePath(path);
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

export function basename(path: string): string {
  const p = normalizePath(path);
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Read a whole (small) file, refusing anything larger than `maxBytes`. */
export async function readFileLimited(fsys: FileSystem, path: string, maxBytes: number): Promise<Uint8Array> {
  const h = await fsys.open(path);
  try {
    if (h.size > maxBytes) throw new FsError('EFBIG', path, `${h.size} bytes > limit ${maxBytes}`);
    const out = new Uint8Array(h.size);
    let pos = 0;
    while (pos < h.size) {
      const chunk = await h.read(pos, Math.min(4 << 20, h.size - pos));
      if (chunk.length === 0) throw new FsError('EIO', path, `short read at ${pos}`);
      out.set(chunk, pos);
      pos += chunk.length;
    }
    return out;
  } finally {
    await h.close();
  }
}

/** Read a small text file as UTF-8, with invalid sequences reported rather than replaced. */
export async function readTextLimited(fsys: FileSystem, path: string, maxBytes: number): Promise<string> {
  const bytes = await readFileLimited(fsys, path, maxBytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new FsError('EINVAL', path, 'not valid UTF-8');
  }
}

export async function exists(fsys: FileSystem, path: string): Promise<boolean> {
  try {
    await fsys.stat(path);
    return true;
  } catch (e) {
    if (e instanceof FsError) return false;
    throw e;
  }
}

export async function statOrNull(fsys: FileSystem, path: string): Promise<FileStat | null> {
  try {
    return await fsys.stat(path);
  } catch (e) {
    if (e instanceof FsError) return null;
    throw e;
  }
}
