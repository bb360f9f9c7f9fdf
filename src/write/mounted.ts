// The same two changes through a kernel mount (docs/writes.md §5), for a filesystem that is
// mounted (tendril running on an installed system): the kernel owns the volume then, so the
// change goes through it, and is made durable with fsync before returning.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { normalizePath } from '../discovery/fs/types';
import { toIoError } from '../discovery/io/source';
import { Refusal, type WriteResult } from './types';

export { mountPointOf } from './mountinfo';

/** `path` (absolute within the filesystem) under `mountDir`, never above it. */
function under(mountDir: string, path: string): string {
  return nodePath.join(mountDir, normalizePath(path));
}

function fail(e: unknown): WriteResult {
  if (e instanceof Refusal) return { ok: false, reason: e.reason };
  if (e instanceof Error) return { ok: false, reason: e.message };
  return { ok: false, reason: String(e) };
}

function sys<T>(syscall: string, what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw toIoError(e as NodeJS.ErrnoException, syscall, what);
  }
}

function oneName(n: string): void {
  if (n === '' || n === '.' || n === '..' || n.includes('/') || n.includes('\0'))
    throw new Refusal(`'${n}' is not a single directory entry name`);
}

/**
 * rename(2) `from` to `to` inside `dirPath` of the filesystem mounted at `mountDir`, then fsync
 * the directory. Refuses when `to` exists (rename(2) would replace it), unless it is `from`
 * itself (a change of case on vfat). `writes` is empty: the kernel chose the blocks.
 */
export async function renameViaMount(
  mountDir: string,
  dirPath: string,
  from: string,
  to: string,
): Promise<WriteResult> {
  try {
    oneName(from);
    oneName(to);
    const dir = under(mountDir, dirPath);
    const src = nodePath.join(dir, from);
    const dst = nodePath.join(dir, to);
    const s = sys('lstat', src, () => fs.lstatSync(src));
    const d = fs.lstatSync(dst, { throwIfNoEntry: false });
    if (d && !(d.ino === s.ino && d.dev === s.dev)) throw new Refusal(`${dst} already exists`);
    if (from !== to) sys('rename', `${src} -> ${dst}`, () => fs.renameSync(src, dst));
    const fd = sys('open', dir, () => fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY));
    try {
      sys('fsync', dir, () => fs.fsyncSync(fd));
    } finally {
      fs.closeSync(fd);
    }
    return { ok: true, writes: [] };
  } catch (e) {
    return fail(e);
  }
}

/**
 * Overwrite the whole of `path` under `mountDir` with `bytes` (same size: no truncation, no
 * growth), with one pwrite at 0, then fsync. `writes` is empty: the kernel chose the blocks.
 */
export async function overwriteViaMount(mountDir: string, path: string, bytes: Uint8Array): Promise<WriteResult> {
  try {
    const file = under(mountDir, path);
    const fd = sys('open', file, () => fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW));
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) throw new Refusal(`${file} is not a regular file`);
      if (st.size !== bytes.length) throw new Refusal(`${file} is ${st.size} bytes, not ${bytes.length}`);
      let done = 0;
      while (done < bytes.length)
        done += sys('pwrite', file, () => fs.writeSync(fd, bytes, done, bytes.length - done, done));
      sys('fsync', file, () => fs.fsyncSync(fd));
    } finally {
      fs.closeSync(fd);
    }
    return { ok: true, writes: [] };
  } catch (e) {
    return fail(e);
  }
}
