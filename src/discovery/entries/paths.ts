// Paths in BLS snippets (docs/bls.md §5): relative to the root of the snippet's filesystem, a
// leading '/' optional, '.' and '//' cleaned, '..' above the root refused, and the /boot
// mount-prefix quirk (heads#804) handled with an explicit, logged fallback. Case-insensitive
// lookup on FAT is the FileSystem's job.

import { errorMessage } from '../diagnostics';
import { FsError, normalizePath, type FileSystem, type FsErrorCode } from '../fs/types';

/**
 * A path found, or why not. A failure keeps the normalized `path` when the value names a
 * place on the filesystem (nothing there, or not a regular file), and has none when the value
 * is no usable path at all (empty, '..' above the root). `errno` is the lookup's error (ENOENT
 * when nothing was found, ELOOP, EACCES for a path out of the filesystem, EISDIR, ...).
 */
export type Resolved =
  | { readonly ok: true; readonly path: string; readonly note?: string }
  | { readonly ok: false; readonly path?: string; readonly reason: string; readonly errno?: FsErrorCode };

/** Directory of snippets on a root filesystem without a separate /boot. */
export const ROOTFS_ENTRIES_DIR = '/boot/loader/entries';

type Check =
  | { readonly kind: 'file' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'bad'; readonly why: string; readonly errno: FsErrorCode };

async function check(fs: FileSystem, path: string): Promise<Check> {
  try {
    const st = await fs.stat(path);
    if (st.kind === 'file') return { kind: 'file' };
    return st.kind === 'dir'
      ? { kind: 'bad', why: 'is a directory', errno: 'EISDIR' }
      : { kind: 'bad', why: 'is not a regular file', errno: 'EINVAL' };
  } catch (e) {
    if (e instanceof FsError && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return { kind: 'missing' };
    return { kind: 'bad', why: errorMessage(e), errno: e instanceof FsError ? e.code : 'EIO' };
  }
}

/** Resolve `value` from a snippet in `snippetDir` to an existing regular file on `fs`. */
export async function resolveBlsPath(fs: FileSystem, value: string, snippetDir: string): Promise<Resolved> {
  if (value === '') return { ok: false, reason: 'empty path' };
  // sd-boot hands paths to EFI, where backslash is the separator, so backslash paths work
  // there; no FAT name can contain one, so reading it as '/' is safe. Elsewhere it is a name
  // character.
  const fat = fs.caseInsensitive && value.includes('\\');
  let path: string;
  try {
    path = normalizePath('/' + (fat ? value.replaceAll('\\', '/') : value));
  } catch (e) {
    return {
      ok: false,
      reason: e instanceof FsError && e.code === 'EACCES' ? "'..' escapes the filesystem root" : errorMessage(e),
      errno: e instanceof FsError ? e.code : 'EINVAL',
    };
  }
  const first = await check(fs, path);
  if (first.kind === 'file')
    return { ok: true, path, ...(fat ? { note: `backslashes read as '/' (FAT): ${path}` } : {}) };
  if (first.kind === 'bad') {
    // A reader's error names the path itself ('/k: ELOOP (more than 40 symlinks)'): not twice.
    const reason = first.why.startsWith(`${path}: `) ? first.why : `${path} ${first.why}`;
    return { ok: false, path, reason, errno: first.errno };
  }

  const tried = [path];
  const hasBoot = (fs.caseInsensitive ? path.toLowerCase() : path).startsWith('/boot/');
  // Snippets written for a mounted /boot often say /boot/vmlinuz while /boot is its own filesystem.
  if (hasBoot) {
    const alt = path.slice('/boot'.length);
    tried.push(alt);
    if ((await check(fs, alt)).kind === 'file')
      return { ok: true, path: alt, note: `${path} not found; using ${alt} (the snippet assumes /boot is mounted)` };
  }
  // Snippets on a root filesystem sometimes name files relative to /boot.
  if (normalizePath(snippetDir) === ROOTFS_ENTRIES_DIR && !hasBoot) {
    const alt = '/boot' + path;
    tried.push(alt);
    if ((await check(fs, alt)).kind === 'file')
      return { ok: true, path: alt, note: `${path} not found; using ${alt} (snippet in ${ROOTFS_ENTRIES_DIR})` };
  }
  return { ok: false, path, reason: `not found (tried ${tried.join(', ')})`, errno: 'ENOENT' };
}
