// Shared checks for the filesystem reader tests: walk a reader and the source tree the image
// was made from (through HostDirFileSystem, whose in-root symlink rules are the reference)
// and compare names, kinds, sizes, file bytes and the outcome of following every path.

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { expect } from 'vitest';
import { HostDirFileSystem } from '../../../src/discovery/fs/hostdir';
import { type FileSystem, FsError, readFileLimited } from '../../../src/discovery/fs/types';

export interface Listing {
  /** path -> kind[:size][:sha256 prefix] for every entry, symlinks not followed. */
  readonly entries: Map<string, string>;
  /** path -> result of stat() (following): 'kind:size' or the FsError code. */
  readonly followed: Map<string, string>;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function outcome(f: () => Promise<{ kind: string; size: number }>, withSize: boolean): Promise<string> {
  try {
    const st = await f();
    return withSize || st.kind === 'file' ? `${st.kind}:${st.size}` : st.kind;
  } catch (e) {
    if (e instanceof FsError) return e.code;
    throw e;
  }
}

/** Recursively list `fsys` (bounded), hashing every regular file. */
export async function listTree(
  fsys: FileSystem,
  opts: { skip?: string[]; maxEntries?: number } = {},
): Promise<Listing> {
  const entries = new Map<string, string>();
  const followed = new Map<string, string>();
  const max = opts.maxEntries ?? 5000;
  const queue = ['/'];
  while (queue.length) {
    const dir = queue.shift()!;
    for (const e of await fsys.readdir(dir)) {
      const p = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      if (opts.skip?.includes(p)) continue;
      if (entries.size >= max) throw new Error(`more than ${max} entries`);
      const st = await fsys.lstat(p);
      if (st.kind !== e.kind) throw new Error(`${p}: readdir says ${e.kind}, lstat says ${st.kind}`);
      let v: string = st.kind;
      if (st.kind === 'file') v += `:${st.size}:${sha256(await readFileLimited(fsys, p, 64 << 20)).slice(0, 16)}`;
      entries.set(p, v);
      if (st.kind === 'dir') queue.push(p);
      if (st.kind === 'symlink') {
        followed.set(p, await outcome(() => fsys.stat(p), false));
        followed.set(`${p}/c`, await outcome(() => fsys.stat(`${p}/c`), false));
      }
    }
  }
  return { entries, followed };
}

/** The same listing of the source directory, through the reference HostDirFileSystem. */
export function listHost(dir: string, opts: { skip?: string[] } = {}): Promise<Listing> {
  return listTree(new HostDirFileSystem(dir), opts);
}

export function fileSha(path: string): string {
  return sha256(fs.readFileSync(path));
}

/** The outcome of a filesystem call: 'ok' or its FsError code (anything else is rethrown). */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof FsError) return e.code;
    throw e;
  }
}

/**
 * A reader against the tree its image was made from: the same paths, the same kind, size and
 * bytes for every non-directory, and (with `followed`, for filesystems that keep symlinks) the
 * same outcome of following every path. Returns the reader's listing for further checks.
 */
export async function expectMatchesHost(
  fsys: FileSystem,
  dir: string,
  opts: { skip?: string[]; followed: boolean },
): Promise<Listing> {
  const got = await listTree(fsys, opts.skip ? { skip: opts.skip } : {});
  const want = await listHost(dir);
  expect([...got.entries.keys()].sort()).toEqual([...want.entries.keys()].sort());
  for (const [p, v] of want.entries) if (!v.startsWith('dir')) expect(got.entries.get(p), p).toBe(v);
  if (opts.followed) expect(Object.fromEntries(got.followed)).toEqual(Object.fromEntries(want.followed));
  return got;
}
