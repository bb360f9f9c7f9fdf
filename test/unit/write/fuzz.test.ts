// fast-check: random bytes in the directories and files the writers touch, and random names,
// never make the API throw (a result with a reason comes back; never an internal error), and
// never change a byte of the disk outside the filesystem's range. Pure parts are checked as
// properties: long-name slots read back through the reader's parser, sector diffs rebuild the
// new bytes and cover only changed sectors, mountinfo parsing survives any text.

import * as fc from 'fast-check';
import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExtNative } from '../../../src/discovery/fs/ext';
import { openFatTree } from '../../../src/discovery/fs/fat';
import { lfnChecksum, parseDirEntries } from '../../../src/discovery/fs/fat-dir';
import type { Run } from '../../../src/discovery/fs/walk';
import { FileSource } from '../../../src/discovery/io/source';
import { encodeLongName, invalidLongName } from '../../../src/write/fat-lfn';
import { parseMountinfo } from '../../../src/write/mountinfo';
import { overwriteInPlace } from '../../../src/write/overwrite';
import { renameInPlace } from '../../../src/write/rename';
import { changedSectors } from '../../../src/write/sectors';
import type { FsLocation, WriteResult } from '../../../src/write/types';
import { extImage, fatImage, needRoot, partitioned, tmpDir } from './images';

let dir = '';
beforeAll(() => {
  needRoot('the in-place writer tests');
  dir = tmpDir('fuzz');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const files = {
  'loader/entries/a.conf': 'a',
  'loader/entries/name+3.conf': 'title T\n',
  'loader/entries/some longer name+1-2.conf': 'b',
  'boot/grub/grubenv': Buffer.alloc(1024, 0x23),
};

/** Byte ranges (in the filesystem) of the directories and the file the writers read. */
async function targets(img: string, type: string): Promise<Run[]> {
  const src = FileSource.open(img);
  try {
    if (type === 'vfat') {
      const { tree, ops } = openFatTree(src);
      const out: Run[] = [];
      for (const d of ['/', '/loader', '/loader/entries'])
        out.push(...ops.dirRuns((await tree.resolve(d, true)).node, d));
      out.push(...ops.fileRuns((await tree.resolve('/boot/grub/grubenv', true)).node, 'grubenv'));
      out.push({ fileOffset: 0, diskOffset: 0, length: 512 }); // the boot sector
      out.push({ fileOffset: 0, diskOffset: ops.geo.fatOffset, length: 512 }); // the start of the FAT
      return out;
    }
    const { tree, ops } = openExtNative(src, type);
    const out: Run[] = [];
    for (const p of ['/', '/loader/entries', '/boot/grub/grubenv'])
      out.push(...ops.layout.mapFile((await tree.resolve(p, true)).node.inode, p));
    out.push({ fileOffset: 0, diskOffset: 1024, length: 1024 }); // the superblock
    return out;
  } finally {
    src.close();
  }
}

const nameArb = fc.oneof(
  fc.constantFrom('name+3.conf', 'NAME+3.CONF', 'a.conf', 'some longer name+1-2.conf', '.', '..', '', 'x/y'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
);

describe.each([
  ['FAT12', 'vfat'],
  ['ext4', 'ext4'],
] as const)('%s with random damage', (_label, type) => {
  it('never throws and never writes outside the filesystem', async () => {
    const fsImg = type === 'vfat' ? fatImage(dir, 12, files) : extImage(dir, 'ext4', files, ['-b', '1024']);
    const runs = await targets(fsImg, type);
    expect(runs.length).toBeGreaterThanOrEqual(3);
    const seen = { written: 0, refused: 0 };
    const { disk, offset, size } = partitioned(dir, fsImg);
    const pristine = fs.readFileSync(disk);
    const loc: FsLocation = { device: disk, offset, size, fsType: type };
    const damage = fc.array(
      fc.record({ run: fc.nat(runs.length - 1), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      { maxLength: 12 },
    );
    await fc.assert(
      fc.asyncProperty(
        damage,
        fc.boolean(),
        nameArb,
        nameArb,
        fc.uint8Array({ minLength: 1024, maxLength: 1024 }),
        async (hits, rename, from, to, bytes) => {
          const b = Buffer.from(pristine);
          for (const h of hits) {
            const r = runs[h.run]!;
            b[offset + r.diskOffset + (h.at % r.length)] = h.byte;
          }
          fs.writeFileSync(disk, b);
          const res: WriteResult = rename
            ? await renameInPlace(loc, '/loader/entries', from, to)
            : await overwriteInPlace(loc, '/boot/grub/grubenv', 1024, bytes);
          seen[res.ok && res.writes.length > 0 ? 'written' : 'refused']++;
          if (!res.ok) expect(res.reason).not.toMatch(/^internal error/);
          else
            for (const w of res.writes) expect(w.offset >= offset && w.offset + w.length <= offset + size).toBe(true);
          const after = fs.readFileSync(disk);
          expect(after.subarray(0, offset).equals(b.subarray(0, offset))).toBe(true);
          expect(after.subarray(offset + size).equals(b.subarray(offset + size))).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
    // Both outcomes were exercised (a run that only ever refused would prove little).
    expect(seen.written).toBeGreaterThan(5);
    expect(seen.refused).toBeGreaterThan(5);
  });
});

describe('pure parts', () => {
  const longName = fc
    .string({ minLength: 1, maxLength: 255, unit: 'grapheme' })
    .filter((s) => invalidLongName(s) === undefined);

  it('a long name encoded into slots reads back through the FAT reader as that name', () => {
    fc.assert(
      fc.property(longName, (name) => {
        const short = Buffer.from('ALIAS~1 CON\0'.padEnd(32, '\0'), 'latin1');
        const slots = encodeLongName(name, lfnChecksum(short));
        const e = parseDirEntries(Buffer.concat([slots, short, Buffer.alloc(32)]), 10);
        expect(e.map((x) => x.name)).toEqual([name]);
        expect(e[0]!.slot).toBe(slots.length / 32);
      }),
      { numRuns: 300 },
    );
  });

  it('invalidLongName never throws and refuses what Windows and Linux refuse', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => void invalidLongName(s)));
    for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'a:b', 'a*', 'x.', 'x ', 'a'.repeat(256), '\ud800x'])
      expect(invalidLongName(bad)).toBeDefined();
  });

  it('sector diffs rebuild the new bytes and cover only sectors that changed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.record({ at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }), { maxLength: 10 }),
        (sectors, edits) => {
          const before = new Uint8Array(sectors * 512).map((_, i) => i * 7);
          const after = Uint8Array.from(before);
          for (const e of edits) after[e.at % after.length] = e.v;
          const w = changedSectors(4096, before, after);
          const rebuilt = Uint8Array.from(before);
          for (const c of w) {
            rebuilt.set(c.data, c.offset - 4096);
            for (let s = c.offset - 4096; s < c.offset - 4096 + c.length; s += 512)
              expect(Buffer.from(before.subarray(s, s + 512)).equals(after.subarray(s, s + 512))).toBe(false);
          }
          expect(Buffer.from(rebuilt).equals(after)).toBe(true);
        },
      ),
    );
  });

  it('mountinfo parsing survives any text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 500 }), (s) => void parseMountinfo(s)));
  });
});
