// Property tests: real images with random bytes of their metadata changed (superblock, group
// descriptors, inode table, extent/indirect blocks, directories, FAT, BPB, ISO descriptors,
// path table and directory records). Walking the whole tree must only ever fail with FsError,
// with bounded work and bounded reads, and never write.

import { execFileSync } from 'node:child_process';
import * as fc from 'fast-check';
import { expect } from 'vitest';
import { type FileSystem, FsError } from '../../../src/discovery/fs/types';
import { type ByteSource, FileSource, readExact } from '../../../src/discovery/io/source';
import { fileSha } from './compare';

/** A source with some bytes replaced; records the largest single read asked of it. */
export class PatchedSource implements ByteSource {
  readonly name: string;
  readonly size: number;
  maxRead = 0;
  reads = 0;
  constructor(
    private readonly base: ByteSource,
    private readonly patches: ReadonlyArray<readonly [number, number]>,
  ) {
    this.name = `${base.name} (mutated)`;
    this.size = base.size;
  }
  readAt(buf: Uint8Array, offset: number, length: number, position: number): number {
    this.maxRead = Math.max(this.maxRead, length);
    this.reads++;
    const n = this.base.readAt(buf, offset, length, position);
    for (const [p, v] of this.patches) if (p >= position && p < position + n) buf[offset + p - position] = v;
    return n;
  }
}

export type Region = readonly [start: number, length: number];

const MAX_ENTRIES = 250;

/** Walk everything reachable (bounded); rethrow anything that is not an FsError. */
export async function walkAll(fsys: FileSystem): Promise<number> {
  let seen = 0;
  const queue: Array<[string, number]> = [['/', 0]];
  const guard = async <T>(f: () => Promise<T>): Promise<T | null> => {
    try {
      return await f();
    } catch (e) {
      if (e instanceof FsError) return null;
      throw e;
    }
  };
  while (queue.length && seen < MAX_ENTRIES) {
    const [dir, depth] = queue.shift()!;
    const list = await guard(() => fsys.readdir(dir));
    if (!list) continue;
    for (const e of list) {
      if (++seen > MAX_ENTRIES) break;
      const p = dir === '/' ? `/${e.name}` : `${dir}/${e.name}`;
      await guard(() => fsys.lstat(p));
      const st = await guard(() => fsys.stat(p));
      if (st?.kind === 'dir' && e.kind === 'dir' && depth < 12) queue.push([p, depth + 1]);
      if (st?.kind === 'file') {
        const h = await guard(() => fsys.open(p));
        if (h) {
          await guard(() => h.read(0, 64 * 1024));
          await guard(() => h.read(Math.max(0, h.size - 4096), 4096));
          await h.close();
        }
      }
    }
  }
  return seen;
}

function mutations(regions: readonly Region[], maxCount: number) {
  return fc.array(
    fc.tuple(fc.nat(regions.length - 1), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([r, off, v]) => {
      const region = regions[r];
      if (region === undefined) throw new RangeError(`region ${r} of ${regions.length}`);
      const [start, len] = region;
      return [start + (off % len), v] as const;
    }),
    { minLength: 1, maxLength: maxCount },
  );
}

export async function property(
  image: string,
  regions: readonly Region[],
  open: (s: ByteSource) => Promise<FileSystem> | FileSystem,
  runs: number,
  seed = 20261122,
): Promise<void> {
  const before = fileSha(image);
  const base = FileSource.open(image);
  // Unmutated: the walk must see a real tree.
  const clean = await open(base);
  expect(await walkAll(clean)).toBeGreaterThan(10);
  await clean.close();
  await fc.assert(
    fc.asyncProperty(mutations(regions, 12), async (patches) => {
      const src = new PatchedSource(base, patches);
      let fsys: FileSystem;
      try {
        fsys = await open(src);
      } catch (e) {
        if (e instanceof FsError) return;
        throw e;
      }
      try {
        await walkAll(fsys);
      } finally {
        await fsys.close();
      }
      // Every read the readers issue is bounded (directory and read limits), whatever the sizes say.
      expect(src.maxRead).toBeLessThanOrEqual(64 << 20);
    }),
    { numRuns: runs, seed },
  );
  base.close();
  expect(fileSha(image)).toBe(before);
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] }).toString();
}

export function extRegions(image: string): Region[] {
  const dump = sh('dumpe2fs', [image]);
  const bs = Number(/Block size:\s+(\d+)/.exec(dump)![1]);
  const itable = Number(/Inode table at (\d+)/.exec(dump)![1]);
  const regions: Region[] = [
    [1024, 1024], // superblock
    [bs === 1024 ? 2048 : bs, bs], // group descriptors
    [itable * bs, 64 * 256], // first inodes: root, lost+found, the files mke2fs -d made first
  ];
  // Every descriptor block (meta_bg spreads them over the volume).
  for (const m of dump.matchAll(/Group descriptor at (\d+)/g)) regions.push([Number(m[1]) * bs, bs]);
  for (const dir of ['/', '/loader', '/many', '/EFI/BOOT', '/d1', '/spread']) {
    for (const b of sh('debugfs', ['-R', `blocks ${dir}`, image])
      .trim()
      .split(/\s+/)
      .filter(Boolean))
      regions.push([Number(b) * bs, bs]);
  }
  // Extent index/leaf blocks and indirect blocks of the big files.
  for (const f of ['/frag.bin', '/big.bin', '/d3/big.bin']) {
    const st = sh('debugfs', ['-R', `stat ${f}`, image]);
    for (const m of st.matchAll(/\((?:ETB\d|IND|DIND|TIND)\):(\d+)/g)) regions.push([Number(m[1]) * bs, bs]);
  }
  return regions;
}

export function fatRegions(image: string): Region[] {
  const src = FileSource.open(image);
  const b = readExact(src, 0, 512);
  src.close();
  const bps = b.readUInt16LE(11);
  const spc = b.readUInt8(13);
  const reserved = b.readUInt16LE(14);
  const nFats = b.readUInt8(16);
  const rootEntries = b.readUInt16LE(17);
  const fatSectors = b.readUInt16LE(22) || b.readUInt32LE(36);
  const fatOff = reserved * bps;
  const rootOff = fatOff + nFats * fatSectors * bps;
  const dataOff = rootOff + Math.ceil((rootEntries * 32) / bps) * bps;
  const regions: Region[] = [
    [0, 512],
    [fatOff, Math.min(fatSectors * bps, 16384)],
  ];
  if (rootEntries > 0) regions.push([rootOff, rootEntries * 32]);
  else regions.push([dataOff + (b.readUInt32LE(44) - 2) * spc * bps, spc * bps]);
  regions.push([dataOff, 8 * spc * bps]); // the first directories mcopy wrote
  return regions;
}

export function isoRegions(image: string): Region[] {
  const src = FileSource.open(image);
  const pvd = readExact(src, 16 * 2048, 2048);
  src.close();
  const ptSize = pvd.readUInt32LE(132);
  const ptL = pvd.readUInt32LE(140);
  const rootLba = pvd.readUInt32LE(156 + 2);
  const rootLen = pvd.readUInt32LE(156 + 10);
  return [
    [16 * 2048, 3 * 2048], // volume descriptors (PVD, SVD, terminator)
    [ptL * 2048, Math.max(ptSize, 1)],
    [rootLba * 2048, rootLen],
    [(rootLba + Math.ceil(rootLen / 2048)) * 2048, 4 * 2048], // the next directories
  ];
}
