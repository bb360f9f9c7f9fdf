// Issue 16, the ext4 findings, on volumes made by mke2fs -d, e2fsck -D and debugfs (and dd
// for damage no tool makes): each through the whole discovery pipeline, checking that the
// healthy entry beside the hostile ones is still there, what the diagnostics say, and that
// no byte of the image changed; and through the reader, counting what it reads.

import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openExt, openExtNative } from '../../../src/discovery/fs/ext';
import { openExtLib } from '../../../src/discovery/fs/ext-lib';
import { FsError, readFileLimited } from '../../../src/discovery/fs/types';
import { FileSource } from '../../../src/discovery/io/source';
import { MAX_ENTRIES_PER_DIR } from '../../../src/discovery/sources/bls';
import { sha256File } from '../../fixtures/disks';
import {
  CHAIN,
  DEEP,
  HEALTHY_ENTRY,
  KERNEL,
  bootEntriesImage,
  checksummedEntriesImage,
  damagedDirBlockImage,
  damagedEntriesImage,
  deepDir,
  direntOffset,
  selfIndexingExtentImage,
} from '../../fixtures/hostile-ext';
import { errorCode, sha256 } from './compare';
import {
  CountingSource,
  blocksFor,
  brokenReason,
  debugfsNames,
  discoverImage,
  entryFrom,
  namesPerBlock,
} from './hostile-helpers';

describe('finding 1: a 40,000-entry /loader/entries', () => {
  const image = bootEntriesImage(40_000);

  it('lists the healthy entry and 1,024 of the others, saying what it left out', async () => {
    const d = await discoverImage(image);
    const healthy = entryFrom(d, HEALTHY_ENTRY);
    expect(healthy?.status.ok).toBe(true);
    expect(d.entries.filter((e) => e.origin.file.startsWith('/loader/entries/'))).toHaveLength(MAX_ENTRIES_PER_DIR);
    expect(d.lines).toContain(
      `warning bls: ${path.basename(image)}:0 /loader/entries: more than ${4 * MAX_ENTRIES_PER_DIR} names; the rest are not read`,
    );
    expect(d.lines).toContain(
      `warning bls: ${path.basename(image)}:0 /loader/entries: more than ${MAX_ENTRIES_PER_DIR} entries; the rest are ignored`,
    );
  });

  it('stops reading the directory at the limit: the blocks read are those the names need', async () => {
    const counted = new CountingSource(FileSource.open(image));
    const { fsys, ops } = openExtNative(counted, 'ext4');
    const limit = 4 * MAX_ENTRIES_PER_DIR;
    const got = await fsys.readdir('/loader/entries', { limit });
    // debugfs lists the directory in the same (on-disk, hash) order.
    const want = debugfsNames(image, '/loader/entries');
    expect(want).toHaveLength(40_000);
    expect(got.map((e) => e.name)).toEqual(want.slice(0, limit));
    expect(got.every((e) => e.kind === 'file')).toBe(true);
    // The blocks read: the index root, then leaves until 4,096 names are in hand.
    const perBlock = namesPerBlock(image, '/loader/entries');
    const blocks = blocksFor(perBlock, limit);
    const loader = ops.lookup(ops.root(), 'loader', '/loader')![1];
    const entriesDir = ops.dir(ops.lookup(loader, 'entries', '/loader/entries')![1], '/loader/entries');
    expect(entriesDir.blocksRead).toBe(blocks);
    expect(blocks).toBeLessThan(perBlock.length / 5);
    // Bytes: those blocks, a few inodes and descriptors; not the 1 MiB directory.
    expect(counted.bytes).toBeLessThan((blocks + 16) * 4096);
    await fsys.close();
  });

  it('finds a name anywhere in it by reading up to its block, once', async () => {
    const { fsys, ops } = openExtNative(FileSource.open(image), 'ext4');
    const last = debugfsNames(image, '/loader/entries').at(-1)!;
    expect((await fsys.stat(`/loader/entries/${last}`)).kind).toBe('file');
    const lookups = (fsys as unknown as { lookupCalls: number }).lookupCalls;
    expect(await errorCode(fsys.stat('/loader/entries/not-there.conf'))).toBe('ENOENT');
    for (let i = 0; i < 100; i++) await fsys.stat(`/loader/entries/${last}`);
    // The 100 repeats are served by the lookup cache: one more lookup, for the missing name.
    expect((fsys as unknown as { lookupCalls: number }).lookupCalls).toBe(lookups + 1);
    expect(ops).toBeDefined();
    await fsys.close();
  });
});

describe('finding 2: kernels 1,500 directories deep, and paths past the kernel limits', () => {
  it('boots the deep entries and the healthy one; names PATH_MAX, MAXSYMLINKS and the loop', async () => {
    const { deepPathsImage } = await import('../../fixtures/hostile-ext');
    const image = deepPathsImage();
    const d = await discoverImage(image);
    expect(brokenReason(d, '/loader/entries/ok.conf')).toBe('');
    for (let i = 1; i <= 6; i++) {
      const e = entryFrom(d, `/loader/entries/deep${i}.conf`);
      expect(e?.status.ok).toBe(true);
      if (e?.status.ok && e.status.target.kind === 'linux')
        expect(e.status.target.kernel.path).toBe(`${deepDir(DEEP)}/vmlinuz`);
    }
    expect(brokenReason(d, '/loader/entries/toolong.conf')).toMatch(
      /ENAMETOOLONG \(path of 4\d{3} bytes; the limit is 4095 \(PATH_MAX 4096 with its NUL\)\)/,
    );
    expect(brokenReason(d, '/loader/entries/chain.conf')).toMatch(
      /\/chain\/l0: ELOOP \(more than 40 symlinks, the kernel's MAXSYMLINKS\)/,
    );
    expect(brokenReason(d, '/loader/entries/chain40.conf')).toBe('');
    expect(brokenReason(d, '/loader/entries/loop.conf')).toMatch(/\/loop-a: ELOOP \(more than 40 symlinks/);
  });

  it('costs one lookup per component cold and none warm', async () => {
    const { deepPathsImage } = await import('../../fixtures/hostile-ext');
    const src = FileSource.open(deepPathsImage());
    const fsys = await openExt(src, 'ext4');
    const calls = (): number => (fsys as unknown as { lookupCalls: number }).lookupCalls;
    const kernel = `${deepDir(DEEP)}/vmlinuz`;
    expect(sha256(await readFileLimited(fsys, kernel, 1 << 20))).toBe(sha256(KERNEL));
    // /deep, DEEP times d, vmlinuz.
    expect(calls()).toBe(DEEP + 2);
    for (let i = 0; i < 10; i++) await fsys.stat(kernel);
    expect(calls()).toBe(DEEP + 2);
    // A chain of exactly 40 links resolves; 41 is ELOOP (CHAIN - k links from lk).
    expect((await fsys.stat(`/chain/l${CHAIN - 40}`)).size).toBe(KERNEL.length);
    const e = await fsys.stat(`/chain/l${CHAIN - 41}`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(FsError);
    expect((e as FsError).code).toBe('ELOOP');
    await fsys.close();
    src.close();
  });
});

describe('finding 8: an extent index block that indexes itself', () => {
  const fx = selfIndexingExtentImage();

  it('is an error of that file, never data; the file beside it reads intact', async () => {
    const before = sha256File(fx.image);
    const src = FileSource.open(fx.image);
    const fsys = await openExt(src, 'ext4');
    const err = await readFileLimited(fsys, fx.path, 1 << 20).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FsError);
    expect(String(err)).toMatch(
      /\/initrd\.img: EIO \(extent block \d+ says depth 1 where its parent index needs 0 \(a loop or a misplaced block\)\)/,
    );
    expect(sha256(await readFileLimited(fsys, '/vmlinuz', 1 << 20))).toBe(sha256(KERNEL));
    await fsys.close();
    // What the old fallback handed out as the file: libext2fs reads the loop as zeros.
    const lib = await openExtLib(src, 'ext4');
    const wrong = await readFileLimited(lib, fx.path, 1 << 20);
    expect(wrong.length).toBe(32 * 4096);
    expect(Buffer.from(wrong.subarray(0, 4096)).equals(Buffer.alloc(4096))).toBe(true);
    await lib.close();
    src.close();
    expect(sha256File(fx.image)).toBe(before);
  });
});

describe('finding 9: one bad record hides only itself', () => {
  it('a record naming inode 0xFFFFFFFF or a free inode: the entry beside it still boots', async () => {
    const image = damagedEntriesImage();
    const d = await discoverImage(image);
    expect(brokenReason(d, '/loader/entries/good.conf')).toBe('');
    expect(d.lines).toContain(
      `warning bls: ${path.basename(image)}:0 /loader/entries/bad-ino.conf:1: cannot read entry: /loader/entries/bad-ino.conf: EIO (inode number 4294967295 out of range (the filesystem has inodes 1..4096)); skipped`,
    );
    expect(d.lines).toContain(
      `warning bls: ${path.basename(image)}:0 /loader/entries/freed.conf:1: cannot read entry: /loader/entries/freed.conf: EIO ('freed.conf' names inode 4096, which is not in use); skipped`,
    );
    expect(brokenReason(d, '/loader/entries/nokernel.conf')).toMatch(/not found/);
  });

  it('a bad inode checksum, a bad extent block checksum: named, and the healthy entry boots', async () => {
    const image = checksummedEntriesImage();
    const d = await discoverImage(image);
    expect(brokenReason(d, '/loader/entries/good.conf')).toBe('');
    const line = (file: string): string => d.lines.find((l) => l.includes(` ${file}:1: `)) ?? '';
    expect(line('/loader/entries/zz-badsum.conf')).toMatch(
      /cannot read entry: \/loader\/entries\/zz-badsum\.conf: EIO \(inode \d+ checksum mismatch \(stored 0x00001234, computed 0x[0-9a-f]{8}\)\); skipped$/,
    );
    expect(line('/loader/entries/fragmented.conf')).toMatch(
      /cannot read entry: \/loader\/entries\/fragmented\.conf: EIO \(extent block \d+ checksum mismatch \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)\); skipped$/,
    );
  });

  it('a directory block whose checksum fails: its names fail alone, the next block lists and boots', async () => {
    const image = damagedDirBlockImage();
    // The fixture put the damaged record and the healthy one in different blocks.
    expect(Math.floor(direntOffset(image, '/loader/entries', 'aa-victim.conf') / 4096)).not.toBe(
      Math.floor(direntOffset(image, '/loader/entries', 'good.conf') / 4096),
    );
    const d = await discoverImage(image);
    expect(brokenReason(d, '/loader/entries/good.conf')).toBe('');
    expect(d.lines.find((l) => l.includes('/loader/entries/aa-victim.conf:1:'))).toMatch(
      /cannot read entry: \/loader\/entries\/aa-victim\.conf: EIO \(block 0 of directory \/loader\/entries fails its checksum \(stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\)\); skipped$/,
    );
  });
});
