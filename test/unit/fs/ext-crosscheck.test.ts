// tendril's ext reader against libext2fs (the reference reader, ext-lib.ts) on images made by
// mke2fs -d and debugfs: on healthy volumes the two give the same answer for every path
// (kind, size, bytes, symlink target, error code); on damaged ones ours may only be the
// stricter: whenever it returns data, libext2fs must return the same data. Any other
// disagreement fails the test, loudly, with the path and both answers.

import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openExt } from '../../../src/discovery/fs/ext';
import { openExtLib } from '../../../src/discovery/fs/ext-lib';
import { describeComErr, libDead } from '../../../src/discovery/fs/ext-module';
import { type FileSystem, FsError, readFileLimited } from '../../../src/discovery/fs/types';
import { type ByteSource, FileSource } from '../../../src/discovery/io/source';
import { extImage, extSpecialImage } from '../../fixtures/fsimages';
import {
  OK_SNIPPET,
  checksummedEntriesImage,
  damagedDirBlockImage,
  damagedEntriesImage,
  selfIndexingExtentImage,
} from '../../fixtures/hostile-ext';
import { fileSha, sha256 } from './compare';
import { PatchedSource, extRegions } from './fuzz-helpers';

/** What one reader says about one path: an outcome string, or the error code. */
async function answer(f: () => Promise<string>): Promise<string> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof FsError) return `error ${e.code}`;
    throw e;
  }
}

interface Answers {
  readonly lstat: string;
  readonly stat: string;
  readonly data: string;
}

async function answers(fsys: FileSystem, p: string): Promise<Answers> {
  return {
    lstat: await answer(async () => {
      const s = await fsys.lstat(p);
      return `${s.kind}:${s.kind === 'dir' ? '' : s.size}`;
    }),
    stat: await answer(async () => {
      const s = await fsys.stat(p);
      return `${s.kind}:${s.kind === 'dir' ? '' : s.size}`;
    }),
    data: await answer(async () => sha256(await readFileLimited(fsys, p, 8 << 20))),
  };
}

/** Every path our reader lists (bounded), breadth first. */
async function paths(fsys: FileSystem, max: number): Promise<string[]> {
  const out: string[] = [];
  const queue = ['/'];
  while (queue.length && out.length < max) {
    const dir = queue.shift()!;
    let list;
    try {
      list = await fsys.readdir(dir);
    } catch (e) {
      if (e instanceof FsError) continue;
      throw e;
    }
    for (const e of list) {
      const p = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      out.push(p);
      if (e.kind === 'dir' && out.length < max) queue.push(p);
    }
  }
  return out;
}

const isData = (a: string): boolean => !a.startsWith('error ');

/**
 * Ours never answers with data the reference disputes: where ours gives data, libext2fs gives
 * the same; `exact` (healthy volumes) also wants the same errors. Returns the paths where ours
 * was the stricter, for the caller to check.
 */
async function crossCheck(src: ByteSource, exact: boolean, max = 400): Promise<Map<string, [Answers, Answers]>> {
  const ours = await openExt(src, 'ext4');
  const ref = await openExtLib(src, 'ext4');
  const stricter = new Map<string, [Answers, Answers]>();
  // libext2fs keeps state between calls that a damaged volume can spoil (a lookup that
  // worked on a fresh mount says ENOTDIR after other lookups): where the answers differ, the
  // reference is asked again on a fresh mount before anything is judged.
  const fresh = async (p: string): Promise<Answers> => {
    const again = await openExtLib(src, 'ext4');
    try {
      return await answers(again, p);
    } finally {
      await again.close();
    }
  };
  try {
    for (const p of await paths(ours, max)) {
      const a = await answers(ours, p);
      let b = await answers(ref, p);
      if (JSON.stringify(a) !== JSON.stringify(b)) b = await fresh(p);
      if (exact) {
        expect(a, p).toEqual(b);
        continue;
      }
      for (const k of ['lstat', 'stat', 'data'] as const) {
        if (isData(a[k]) && isData(b[k])) expect(`${k} ${p}: ${a[k]}`).toBe(`${k} ${p}: ${b[k]}`);
        // libext2fs gives up on a whole directory at its first damaged block, and its lookups
        // then say ENOENT; ours (as the kernel's readdir) fails only that block's names. That
        // is the one way it may be stricter: any other error of libext2fs where ours has data
        // is damage we missed.
        else if (isData(a[k])) expect(`${k} ${p}: ${b[k]}`).toBe(`${k} ${p}: error ENOENT`);
        else if (isData(b[k])) stricter.set(p, [a, b]);
      }
    }
  } finally {
    await ours.close();
    await ref.close();
  }
  return stricter;
}

describe('the reference reader agrees on healthy volumes made by mke2fs -d', () => {
  it.each(['ext4', 'ext2-1k', 'ext3'] as const)('%s: every path, exactly', async (kind) => {
    const img = extImage(kind).image;
    const before = fileSha(img);
    const src = FileSource.open(img);
    expect((await crossCheck(src, true)).size).toBe(0);
    src.close();
    expect(fileSha(img)).toBe(before);
  });

  it.each(['meta_bg', 'inline'] as const)('ext4 with %s: every path, exactly', async (kind) => {
    const src = FileSource.open(extSpecialImage(kind).image);
    expect((await crossCheck(src, true)).size).toBe(0);
    src.close();
  });
});

describe('on damaged volumes ours is the stricter, and says why', () => {
  it('the self-indexing extent block: libext2fs reads zeros, ours refuses', async () => {
    const fx = selfIndexingExtentImage();
    const src = FileSource.open(fx.image);
    const stricter = await crossCheck(src, false);
    expect([...stricter.keys()]).toEqual([fx.path]);
    const [ours, ref] = stricter.get(fx.path)!;
    expect(ours.data).toBe('error EIO');
    // libext2fs returns 128 KiB, but not the file's (each block is 'initrd bytes ' repeated).
    expect(isData(ref.data)).toBe(true);
    expect(ref.data).not.toBe(sha256(Buffer.alloc(32 * 4096, 'initrd bytes ')));
    src.close();
  });

  it('records naming impossible or free inodes, bad checksums: ours finds all libext2fs finds', async () => {
    // A record naming a free inode: libext2fs lists it as a kind-less empty file; ours says
    // the inode is not in use. Every other damage both readers find.
    const want: Record<string, string[]> = {
      [damagedEntriesImage()]: ['/loader/entries/freed.conf'],
      [checksummedEntriesImage()]: [],
      [damagedDirBlockImage()]: [],
    };
    for (const [img, paths] of Object.entries(want)) {
      const src = FileSource.open(img);
      const stricter = await crossCheck(src, false);
      expect([...stricter.keys()]).toEqual(paths);
      src.close();
    }
  });

  it('a directory block failing its checksum: libext2fs loses the whole directory, ours that block', async () => {
    const src = FileSource.open(damagedDirBlockImage());
    const ours = await openExt(src, 'ext4');
    const ref = await openExtLib(src, 'ext4');
    expect(await answers(ours, '/loader/entries/good.conf')).toEqual({
      lstat: 'file:29',
      stat: 'file:29',
      data: sha256(Buffer.from(OK_SNIPPET)),
    });
    expect((await answers(ref, '/loader/entries/good.conf')).data).toBe('error ENOENT');
    expect((await answers(ours, '/loader/entries/aa-victim.conf')).data).toBe('error EIO');
    await ours.close();
    await ref.close();
    src.close();
  });

  it('libext2fs names the damage it finds (com_err name and meaning, not a bare number)', async () => {
    const src = FileSource.open(checksummedEntriesImage());
    const ref = await openExtLib(src, 'ext4');
    expect((await ref.stat('/vmlinuz')).kind).toBe('file');
    const bad = await readFileLimited(ref, '/loader/entries/fragmented.conf', 1 << 20).catch((x: unknown) => x);
    expect(String(bad)).toMatch(
      /fragmented\.conf: EIO \(read: extent block checksum mismatch \(EXT2_ET_EXTENT_CSUM_INVALID, libext2fs error 2133571476\)\)/,
    );
    await ref.close();
    src.close();
    expect(describeComErr(2133571328 + 148, 'read')).toEqual([
      'EIO',
      'read: extent block checksum mismatch (EXT2_ET_EXTENT_CSUM_INVALID, libext2fs error 2133571476)',
    ]);
    expect(describeComErr(2133571328 + 138, 'open')[1]).toBe(
      'open: mmp magic invalid (EXT2_ET_MMP_MAGIC_INVALID, libext2fs error 2133571466)',
    );
    expect(describeComErr(2133571328 + 250, 'open')[1]).toBe(
      'open: unknown libext2fs error 2133571578 (EXT2_ET_BASE+250)',
    );
  });

  it.each(['ext4', 'ext2-1k'] as const)(
    'random damage to the metadata of a real %s image: ours never returns data libext2fs disputes',
    async (kind) => {
      const img = extImage(kind).image;
      const before = fileSha(img);
      const regions = extRegions(img);
      const base = FileSource.open(img);
      let compared = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.tuple(fc.nat(regions.length - 1), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([r, off, v]) => {
              const [start, len] = regions[r]!;
              return [start + (off % len), v] as const;
            }),
            { minLength: 1, maxLength: 8 },
          ),
          async (patches) => {
            if (libDead()) return;
            const src = new PatchedSource(base, patches);
            try {
              await crossCheck(src, false, 120);
              compared++;
            } catch (e) {
              // Either reader refusing the volume as a whole is no disagreement.
              if (e instanceof FsError && !libDead()) return;
              if (libDead()) return;
              throw e;
            }
          },
        ),
        { numRuns: kind === 'ext4' ? 50 : 25, seed: 20260416 },
      );
      base.close();
      expect(compared).toBeGreaterThan(10);
      expect(fileSha(img)).toBe(before);
    },
    120_000,
  );
});
