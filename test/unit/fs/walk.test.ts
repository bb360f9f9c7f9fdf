// The shared walker's POSIX rules, on a small tree of nodes: the same rules Linux applies
// (path_resolution(7)), with the root as a hard boundary.

import { describe, expect, it } from 'vitest';
import { MAX_SYMLINKS } from '../../../src/discovery/fs/types';
import { errorCode } from './compare';
import { ParsedDirs, TreeFileSystem, type TreeNode, type TreeOps, matchName } from '../../../src/discovery/fs/walk';

interface N extends TreeNode {
  readonly children?: Map<string, N>;
  readonly target?: string;
  readonly data?: string;
}

const file = (data: string): N => ({ kind: 'file', size: data.length, data });
const link = (target: string): N => ({ kind: 'symlink', size: target.length, target });
const dir = (entries: Record<string, N>): N => ({ kind: 'dir', size: 0, children: new Map(Object.entries(entries)) });

function treeFs(root: N, ci = false): TreeFileSystem<N> {
  const ids = new Map<N, number>();
  const key = (d: N): number => ids.get(d) ?? (ids.set(d, ids.size), ids.size - 1);
  const dirs = new ParsedDirs<N>((d) => [...(d.children ?? new Map<string, N>())], key, ci);
  const ops: TreeOps<N> = {
    root: () => root,
    key,
    entries: (d, p, limit) => dirs.entries(d, p, limit),
    lookup: (d, name, p) => dirs.lookup(d, name, p),
    readlink: (n) => n.target ?? '',
    openFile: (n) => ({
      size: n.size,
      read: async (pos, len) => Buffer.from(n.data ?? '').subarray(pos, pos + len),
      close: async () => {},
    }),
  };
  return new TreeFileSystem('test', ci, ops);
}

// A chain of n symlinks l0 -> l1 -> ... -> l(n-1) -> file.
function chain(n: number): Record<string, N> {
  const out: Record<string, N> = { file: file('end') };
  for (let i = 0; i < n; i++) out[`l${i}`] = link(i === n - 1 ? 'file' : `l${i + 1}`);
  return out;
}

describe('walk', () => {
  const root = dir({
    etc: dir({ passwd: file('inside') }),
    boot: dir({
      vmlinuz: file('kernel'),
      'Grub.CFG': file('cfg'),
      up: link('../etc/passwd'),
      abs: link('/etc/passwd'),
    }),
    escape: link('/../../etc/passwd'),
    escape2: link('../etc/passwd'),
    f: file('x'),
    dotdot: link('f/..'),
    self: link('self'),
    ...chain(MAX_SYMLINKS),
  });
  const fsys = treeFs(root);

  it('follows relative and absolute links inside the tree', async () => {
    expect((await fsys.stat('/boot/up')).size).toBe(6);
    expect((await fsys.stat('/boot/abs')).size).toBe(6);
    expect((await fsys.lstat('/boot/abs')).kind).toBe('symlink');
  });

  it('refuses any path or link that climbs above the root', async () => {
    expect(await errorCode(fsys.stat('/../etc/passwd'))).toBe('EACCES');
    expect(await errorCode(fsys.stat('/escape'))).toBe('EACCES');
    expect(await errorCode(fsys.stat('/escape2'))).toBe('EACCES');
    expect(await errorCode(fsys.lstat('/escape'))).toBe('ok');
  });

  it('allows exactly MAX_SYMLINKS links, then ELOOP', async () => {
    expect((await fsys.stat('/l0')).size).toBe(3);
    const longer = treeFs(dir(chain(MAX_SYMLINKS + 1)));
    expect(await errorCode(longer.stat('/l0'))).toBe('ELOOP');
    expect(await errorCode(fsys.stat('/self'))).toBe('ELOOP');
  });

  it('gives ENOTDIR, ENOENT and EISDIR as POSIX does', async () => {
    expect(await errorCode(fsys.stat('/f/x'))).toBe('ENOTDIR');
    expect(await errorCode(fsys.stat('/dotdot'))).toBe('ENOTDIR');
    expect(await errorCode(fsys.readdir('/f'))).toBe('ENOTDIR');
    expect(await errorCode(fsys.stat('/boot/none'))).toBe('ENOENT');
    expect(await errorCode(fsys.open('/boot'))).toBe('EISDIR');
    expect(await errorCode(fsys.open('/boot/abs'))).toBe('ok');
  });

  it('matches case-insensitively only when asked, preferring an exact match', async () => {
    expect(await errorCode(fsys.stat('/BOOT/grub.cfg'))).toBe('ENOENT');
    const ci = treeFs(root, true);
    expect((await ci.stat('/BOOT/grub.cfg')).size).toBe(3);
    const entries: Array<readonly [string, number]> = [
      ['README', 1],
      ['readme', 2],
    ];
    expect(matchName(entries, 'readme', true)?.[1]).toBe(2);
    expect(matchName(entries, 'ReadMe', true)?.[1]).toBe(1);
    expect(matchName(entries, 'ReadMe', false)).toBeNull();
  });
});
