// Property tests for the limits of issue 16 (findings 1 and 2), with generators of their own:
// directory sizes up to 100,000 names (sampled from the directories of one cached image made
// by mke2fs -d and e2fsck -D) and listing limits; path depths past PATH_MAX; symlink chains
// past MAXSYMLINKS, on the same real volume and on generated trees. Each checks the answer
// against the real tools (debugfs) or the rule, and bounds the work by counting it: directory
// blocks read, bytes read, lookups and readlinks. Time is never asserted (bench/fs-paths.ts
// measures it).

import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { openExtNative } from '../../../src/discovery/fs/ext';
import { MAX_DIR_ENTRIES } from '../../../src/discovery/fs/ext-dir';
import { FsError, MAX_PATH, MAX_SYMLINKS } from '../../../src/discovery/fs/types';
import { ParsedDirs, TreeFileSystem, type TreeNode, type TreeOps } from '../../../src/discovery/fs/walk';
import { FileSource } from '../../../src/discovery/io/source';
import { sha256File } from '../../fixtures/disks';
import { CHAIN, DEEP, DIR_SIZES, deepDir, deepPathsImage, dirName, dirSizesImage } from '../../fixtures/hostile-ext';
import { CountingSource, blocksFor, debugfsNames, namesPerBlock } from './hostile-helpers';

async function outcome<T>(p: Promise<T>): Promise<T | FsError> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof FsError) return e;
    throw e;
  }
}

const lookups = (fsys: unknown): number => (fsys as { lookupCalls: number }).lookupCalls;

describe('directories of up to 100,000 names: a listing is capped and reads only what it returns', () => {
  let image = '';
  let before = '';
  const names = new Map<number, string[]>();
  const perBlock = new Map<number, number[]>();
  beforeAll(() => {
    image = dirSizesImage();
    before = sha256File(image);
    for (const size of DIR_SIZES) {
      names.set(size, debugfsNames(image, `/n${size}`));
      perBlock.set(size, namesPerBlock(image, `/n${size}`));
    }
  }, 600_000);

  it('the image holds what it should (debugfs agrees)', () => {
    for (const size of DIR_SIZES) {
      expect(names.get(size)!.length).toBe(size);
      expect(new Set(names.get(size)).size).toBe(size);
    }
  });

  it('readdir(limit) returns the first min(limit, size) names in on-disk order, reading their blocks only', async () => {
    const base = FileSource.open(image);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...DIR_SIZES),
        fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 120_000 })),
        fc.nat(),
        async (size, limit, pick) => {
          const src = new CountingSource(base);
          const { fsys, ops } = openExtNative(src, 'ext4');
          const dir = `/n${size}`;
          const got = await fsys.readdir(dir, { limit });
          const want = names.get(size)!;
          expect(got.map((e) => e.name)).toEqual(want.slice(0, Math.min(limit, size)));
          expect(got.every((e) => e.kind === 'file')).toBe(true);
          // Blocks read: exactly those the names need; all of them only when asked for more
          // than the directory holds (no more can be known to be absent without reading).
          const blocks = perBlock.get(size)!;
          const d = ops.dir(ops.lookup(ops.root(), `n${size}`, dir)![1], dir);
          expect(d.blocksRead).toBe(limit > size ? blocks.length : blocksFor(blocks, limit));
          expect(src.bytes).toBeLessThanOrEqual((d.blocksRead + 24) * 4096);
          // A lookup reads on only as far as its name; a missing one reads the rest, once.
          if (size > 0) {
            const name = dirName(pick % size);
            expect((await fsys.stat(`${dir}/${name}`)).kind).toBe('file');
            expect(d.blocksRead).toBeLessThanOrEqual(blocks.length);
          }
          const missing = await outcome(fsys.stat(`${dir}/not-there`));
          expect(missing instanceof FsError && missing.code).toBe('ENOENT');
          expect(d.blocksRead).toBe(blocks.length);
          await fsys.close();
        },
      ),
      { numRuns: 40, seed: 1601 },
    );
    base.close();
    expect(sha256File(image)).toBe(before);
  });

  it('a directory of exactly MAX_DIR_ENTRIES names lists whole', async () => {
    expect(DIR_SIZES.at(-1)).toBe(MAX_DIR_ENTRIES);
    const { fsys } = openExtNative(FileSource.open(image), 'ext4');
    expect((await fsys.readdir(`/n${MAX_DIR_ENTRIES}`)).length).toBe(MAX_DIR_ENTRIES);
    await fsys.close();
  });
});

describe('path depths past PATH_MAX, on a volume with a kernel 1,500 directories deep', () => {
  it('resolves, refuses or misses each depth as the kernel would, with one lookup per component', async () => {
    const image = deepPathsImage();
    const before = sha256File(image);
    const base = FileSource.open(image);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2200 }), fc.boolean(), async (depth, kernel) => {
        const { fsys } = openExtNative(base, 'ext4');
        const path = deepDir(depth) + (kernel ? '/vmlinuz' : '');
        const bytes = Buffer.byteLength(path);
        const r = await outcome(fsys.stat(path));
        if (bytes >= MAX_PATH) {
          // Refused before any lookup, naming the limit.
          expect(r instanceof FsError && r.code).toBe('ENAMETOOLONG');
          expect(r instanceof FsError && r.message).toContain(
            `path of ${bytes} bytes; the limit is 4095 (PATH_MAX 4096 with its NUL)`,
          );
          expect(lookups(fsys)).toBe(0);
        } else if (depth <= DEEP && (!kernel || depth === DEEP)) {
          expect(r instanceof FsError ? r.code : r.kind).toBe(kernel ? 'file' : 'dir');
          // /deep, depth times d, and vmlinuz.
          expect(lookups(fsys)).toBe(1 + depth + (kernel ? 1 : 0));
        } else {
          expect(r instanceof FsError && r.code).toBe('ENOENT');
          expect(lookups(fsys)).toBe(Math.min(depth, DEEP) + 2);
        }
        // Warm: the same path again asks the filesystem nothing.
        const cold = lookups(fsys);
        await outcome(fsys.stat(path));
        expect(lookups(fsys)).toBe(cold);
        await fsys.close();
      }),
      { numRuns: 40, seed: 1602 },
    );
    base.close();
    expect(sha256File(image)).toBe(before);
  });

  it('follows a chain of up to 40 links and no more (the real /chain: l0 -> ... -> l49 -> /vmlinuz)', async () => {
    const base = FileSource.open(deepPathsImage());
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: CHAIN - 1 }), async (k) => {
        const { fsys } = openExtNative(base, 'ext4');
        const links = CHAIN - k;
        const r = await outcome(fsys.stat(`/chain/l${k}`));
        if (links <= MAX_SYMLINKS) expect(r instanceof FsError ? String(r) : r.kind).toBe('file');
        else
          expect(r instanceof FsError && r.message).toBe(
            `/chain/l${k}: ELOOP (more than 40 symlinks, the kernel's MAXSYMLINKS)`,
          );
        await fsys.close();
      }),
      { numRuns: 30, seed: 1603 },
    );
    base.close();
  });
});

interface N extends TreeNode {
  readonly children?: Map<string, N>;
  readonly target?: string;
}

/** A generated tree: /target, and /c/l0 -> ... -> l(n-1) -> the target, each link written its own way. */
function chainTree(forms: readonly (readonly [form: number, pad: number])[]): {
  fsys: TreeFileSystem<N>;
  readlinks: () => number;
} {
  const dir = (m: Map<string, N>): N => ({ kind: 'dir', size: 0, children: m });
  const c = new Map<string, N>();
  const n = forms.length;
  forms.forEach(([form, pad], i) => {
    const rel = i === n - 1 ? '../target' : `l${i + 1}`;
    const abs = i === n - 1 ? '/target' : `/c/l${i + 1}`;
    // Relative, absolute, through '..'; padded with './' to `pad` bytes (past PATH_MAX when large).
    const base = form === 0 ? rel : form === 1 ? abs : `../c/./${rel}`;
    const dots = './'.repeat(Math.max(0, Math.floor((pad - base.length) / 2)));
    const target = base.startsWith('/') ? `/${dots}${base.slice(1)}` : dots + base;
    c.set(`l${i}`, { kind: 'symlink', size: target.length, target });
  });
  const root = dir(
    new Map<string, N>([
      ['target', { kind: 'file', size: 3 }],
      ['c', dir(c)],
    ]),
  );
  let readlinks = 0;
  const ids = new Map<N, number>();
  const key = (d: N): number => ids.get(d) ?? (ids.set(d, ids.size), ids.size - 1);
  const dirs = new ParsedDirs<N>((d) => [...(d.children ?? new Map<string, N>())], key, false);
  const ops: TreeOps<N> = {
    root: () => root,
    key,
    entries: (d, p, limit) => dirs.entries(d, p, limit),
    lookup: (d, name, p) => dirs.lookup(d, name, p),
    readlink: (node) => {
      readlinks++;
      return node.target ?? '';
    },
    openFile: () => {
      throw new Error('not used');
    },
  };
  return { fsys: new TreeFileSystem('test', false, ops), readlinks: () => readlinks };
}

describe('symlink chains of any length and target size, on generated trees', () => {
  it('ELOOP past 40 links, ENAMETOOLONG for a target of PATH_MAX bytes, else the target; work bounded', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 2 }), fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5000 }))),
          {
            minLength: 1,
            maxLength: 120,
          },
        ),
        async (forms) => {
          const { fsys, readlinks } = chainTree(forms);
          const r = await outcome(fsys.stat('/c/l0'));
          // The first of the links followed (at most 41) whose target is too long decides, else the count.
          const followed = forms.slice(0, MAX_SYMLINKS + 1);
          const tooLong = followed.findIndex(([, pad]) => pad >= MAX_PATH);
          if (tooLong >= 0 && tooLong < MAX_SYMLINKS) expect(r instanceof FsError && r.code).toBe('ENAMETOOLONG');
          else if (forms.length > MAX_SYMLINKS) expect(r instanceof FsError && r.code).toBe('ELOOP');
          else expect(r instanceof FsError ? String(r) : r.kind).toBe('file');
          expect(readlinks()).toBeLessThanOrEqual(MAX_SYMLINKS);
          // /c once, each link followed once (at most 41), the target once.
          expect(lookups(fsys)).toBeLessThanOrEqual(MAX_SYMLINKS + 3);
        },
      ),
      { numRuns: 150, seed: 1604 },
    );
  });
});
