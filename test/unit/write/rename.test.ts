// renameInPlace on images made by the real tools, checked by the real tools: the new name is
// there and the old one gone (mdir / debugfs), fsck finds nothing, the file's bytes are the
// same, and the image outside the reported write ranges is byte for byte what it was.

import * as fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renameInPlace } from '../../../src/write/rename';
import {
  type FatBits,
  debugfsCat,
  debugfsNames,
  diffOutside,
  e2fsck,
  extImage,
  extract,
  fatImage,
  fsckVfat,
  loc,
  mdirNames,
  mtype,
  needRoot,
  partitioned,
  run,
  tmpDir,
  unchangedSectorsIn,
} from './images';

const entry = 'title Test\nlinux /vmlinuz\n';
const files = {
  'loader/entries/other.conf': 'title Other\n',
  'loader/entries/name+3.conf': entry,
  'loader/entries/zz-last+1-2.conf': 'title Last\n',
  'EFI/Linux/x+3.efi': Buffer.alloc(5000, 7),
};

let dir = '';
beforeAll(() => {
  needRoot('the in-place writer tests');
  dir = tmpDir('rename');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.each([12, 16, 32] as FatBits[])('FAT%i', (bits) => {
  it.each([false, true])(
    'renames name+3.conf and x+3.efi with one sector write each (partitioned: %s)',
    async (gpt) => {
      const fsImg = fatImage(dir, bits, files);
      const l = gpt ? partitioned(dir, fsImg) : { disk: fsImg, offset: 0, size: fs.statSync(fsImg).size };
      const before = fs.readFileSync(l.disk);
      const r1 = await renameInPlace(
        loc(l.disk, 'vfat', l.offset, l.size),
        '/loader/entries',
        'name+3.conf',
        'name+2-1.conf',
      );
      expect(r1).toEqual({ ok: true, writes: [expect.objectContaining({ length: 512 })] });
      const r2 = await renameInPlace(loc(l.disk, 'vfat', l.offset, l.size), '/EFI/Linux', 'X+3.EFI', 'x+2-1.efi');
      expect(r2.ok).toBe(true);
      if (!r1.ok || !r2.ok) return;
      expect(r2.writes).toHaveLength(1);
      for (const w of [...r1.writes, ...r2.writes]) {
        expect(w.offset % 512).toBe(0);
        expect(w.offset).toBeGreaterThanOrEqual(l.offset);
        expect(w.offset + w.length).toBeLessThanOrEqual(l.offset + l.size);
      }
      const after = fs.readFileSync(l.disk);
      expect(diffOutside(before, after, [...r1.writes, ...r2.writes])).toEqual([]);
      expect(unchangedSectorsIn(before, after, [...r1.writes, ...r2.writes])).toEqual([]);
      expect(after.equals(before)).toBe(false);
      const part = extract(l.disk, l.offset, l.size, dir);
      expect(mdirNames(part, '/loader/entries').sort()).toEqual(['name+2-1.conf', 'other.conf', 'zz-last+1-2.conf']);
      expect(mdirNames(part, '/EFI/Linux')).toEqual(['x+2-1.efi']);
      expect(mtype(part, '/loader/entries/name+2-1.conf').toString()).toBe(entry);
      expect(mtype(part, '/EFI/Linux/x+2-1.efi').equals(Buffer.alloc(5000, 7))).toBe(true);
      const f = fsckVfat(part);
      expect(f.out).not.toMatch(/differ|invalid|bad|free cluster|Reclaimed/i);
      expect(f.status).toBe(0);
    },
  );

  it('refuses a name that collides (ignoring case), needs more slots, or is not a valid long name, writing nothing', async () => {
    const img = fatImage(dir, bits, files);
    const before = fs.readFileSync(img);
    const l = loc(img, 'vfat');
    const cases: Array<[string, RegExp]> = [
      ['OTHER.CONF', /collide with 'other.conf'/],
      ['NAME_3~1.CON', /collide/], // the 8.3 alias of another entry is a name too
      [
        'name+2-1-and-much-longer.conf',
        /needs 3 long-name slot\(s\) where 'name\+3.conf' has 1; in place a name may grow by one slot at most/,
      ],
      ['a:b.conf', /not a valid FAT long name/],
      ['trailing.', /not a valid FAT long name/],
    ];
    // NAME_3~1.CON is name+3.conf's own alias: rename the other entry onto it to see the collision.
    for (const [to, why] of cases) {
      const from = to === 'NAME_3~1.CON' ? 'other.conf' : 'name+3.conf';
      const r = await renameInPlace(l, '/loader/entries', from, to);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(why);
    }
    const missing = await renameInPlace(l, '/loader/entries', 'absent+3.conf', 'absent+2-1.conf');
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.reason).toMatch(/ENOENT/);
    expect(fs.readFileSync(img).equals(before)).toBe(true);
  });
});

describe.each([12, 16, 32] as FatBits[])('FAT%i: a name that needs one slot more or fewer', (bits) => {
  it('grows into the free record after it (moving the records between), shrinks leaving deleted slots', async () => {
    // 'abcde+3.conf' is 12 characters, one slot; 'abcde+2-1.conf' is 14, two slots.
    const img = fatImage(dir, bits, {
      'loader/entries/abcde+3.conf': 'A',
      'loader/entries/b.conf': 'B',
      'loader/entries/a-long-name-of-two-slots+3.conf': 'C',
      'loader/entries/c.conf': 'D',
    });
    const before = fs.readFileSync(img);
    const grow = await renameInPlace(loc(img, 'vfat'), '/loader/entries', 'abcde+3.conf', 'abcde+2-1.conf');
    expect(grow).toMatchObject({ ok: true, writes: [{ length: 512 }] });
    const shrink = await renameInPlace(
      loc(img, 'vfat'),
      '/loader/entries',
      'a-long-name-of-two-slots+3.conf',
      'x+2-1.conf',
    );
    expect(shrink).toMatchObject({ ok: true, writes: [{ length: 512 }] });
    if (!grow.ok || !shrink.ok) return;
    expect(diffOutside(before, fs.readFileSync(img), [...grow.writes, ...shrink.writes])).toEqual([]);
    expect(mdirNames(img, '/loader/entries')).toEqual(['abcde+2-1.conf', 'b.conf', 'x+2-1.conf', 'c.conf']);
    for (const [n, c] of [
      ['abcde+2-1.conf', 'A'],
      ['b.conf', 'B'],
      ['x+2-1.conf', 'C'],
      ['c.conf', 'D'],
    ])
      expect(mtype(img, `/loader/entries/${n}`).toString()).toBe(c);
    const f = fsckVfat(img);
    expect(f.status).toBe(0);
    expect(f.out).not.toMatch(/differ|invalid|bad|Reclaimed/i);
  });

  it('refuses to grow when no free record follows in the sector', async () => {
    // '.', '..' and 14 one-slot names (two records each): sector 0 full, sector 1 with two free records at its end.
    const tree: Record<string, string> = {};
    for (let i = 0; i < 14; i++) tree[`d/abcd${String.fromCharCode(97 + i)}+3.conf`] = String(i);
    const img = fatImage(dir, bits, tree);
    const before = fs.readFileSync(img);
    const r = await renameInPlace(loc(img, 'vfat'), '/d', 'abcda+3.conf', 'abcda+2-1.conf');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/no free record follows it in its sector/);
    expect(fs.readFileSync(img).equals(before)).toBe(true);
    // The last name has the end of the directory after it, in its sector: it grows.
    const last = await renameInPlace(loc(img, 'vfat'), '/d', 'abcdn+3.conf', 'abcdn+2-1.conf');
    expect(last.ok).toBe(true);
    expect(mdirNames(img, '/d')).toContain('abcdn+2-1.conf');
    expect(fsckVfat(img).status).toBe(0);
  });
});

describe('FAT: a run of slots across a sector boundary', () => {
  it('is refused (no single sector write can rename it), while the runs inside a sector are renamed', async () => {
    // Names of 14..26 characters take two long-name slots and the 8.3 entry: three slots each,
    // so after '.' and '..' the runs sit at slots 2-4, 5-7, 8-10, 11-13, 14-16 (crossing 15|16), ...
    const names = Array.from({ length: 8 }, (_, i) => `entry-number-${i}+3.conf`);
    const tree: Record<string, string> = {};
    for (const n of names) tree[`loader/entries/${n}`] = n;
    const img = fatImage(dir, 16, tree);
    const refused: string[] = [];
    for (const n of names) {
      const before = fs.readFileSync(img);
      const r = await renameInPlace(loc(img, 'vfat'), '/loader/entries', n, n.replace('+3', '+2-1'));
      if (r.ok) continue;
      expect(r.reason).toMatch(/span two 512-byte sectors/);
      expect(fs.readFileSync(img).equals(before)).toBe(true);
      refused.push(n);
    }
    expect(refused).toEqual(['entry-number-4+3.conf']);
    expect(fsckVfat(img).status).toBe(0);
    expect(mdirNames(img, '/loader/entries')).toContain('entry-number-0+2-1.conf');
  });
});

describe.each([
  ['ext4 (metadata_csum)', 'ext4', []],
  ['ext4 with 1 KiB blocks', 'ext4', ['-b', '1024']],
  ['ext2', 'ext2', []],
  ['ext2 without the filetype feature (16-bit name_len)', 'ext2', ['-O', '^filetype']],
] as const)('%s', (_label, type, extra) => {
  it.each([false, true])('renames name+3.conf and x+3.efi (partitioned: %s)', async (gpt) => {
    const fsImg = extImage(dir, type, files, [...extra]);
    if (type === 'ext4') expect(run('dumpe2fs', ['-h', fsImg])).toMatch(/metadata_csum/);
    const l = gpt ? partitioned(dir, fsImg) : { disk: fsImg, offset: 0, size: fs.statSync(fsImg).size };
    const before = fs.readFileSync(l.disk);
    const r1 = await renameInPlace(
      loc(l.disk, type, l.offset, l.size),
      '/loader/entries',
      'name+3.conf',
      'name+2-1.conf',
    );
    const r2 = await renameInPlace(loc(l.disk, type, l.offset, l.size), '/EFI/Linux', 'x+3.efi', 'x+2-1.efi');
    expect(r1).toMatchObject({ ok: true });
    expect(r2).toMatchObject({ ok: true });
    if (!r1.ok || !r2.ok) return;
    const writes = [...r1.writes, ...r2.writes];
    // The records' sector, and with metadata_csum the tail's (one write when they are neighbours).
    expect(writes.reduce((a, w) => a + w.length, 0)).toBe(type === 'ext4' ? 4 * 512 : 2 * 512);
    for (const w of writes) {
      expect(w.offset % 512).toBe(0);
      expect(w.offset).toBeGreaterThanOrEqual(l.offset);
      expect(w.offset + w.length).toBeLessThanOrEqual(l.offset + l.size);
    }
    const after = fs.readFileSync(l.disk);
    expect(diffOutside(before, after, writes)).toEqual([]);
    expect(unchangedSectorsIn(before, after, writes)).toEqual([]);
    const part = extract(l.disk, l.offset, l.size, dir);
    expect(debugfsNames(part, '/loader/entries').sort()).toEqual(['name+2-1.conf', 'other.conf', 'zz-last+1-2.conf']);
    expect(debugfsNames(part, '/EFI/Linux')).toEqual(['x+2-1.efi']);
    expect(debugfsCat(part, '/loader/entries/name+2-1.conf').toString()).toBe(entry);
    expect(debugfsCat(part, '/EFI/Linux/x+2-1.efi').equals(Buffer.alloc(5000, 7))).toBe(true);
    const f = e2fsck(part);
    expect(f.out).not.toMatch(/Fix\?|checksum|Pass \d+: .*error/i);
    expect(f.status).toBe(0);
  });

  it('refuses a colliding name, an invalid name, and renaming . or ..', async () => {
    const img = extImage(dir, type, files, [...extra]);
    const before = fs.readFileSync(img);
    const l = loc(img, type);
    for (const [from, to, why] of [
      ['name+3.conf', 'other.conf', /already exists/],
      ['name+3.conf', 'a/b', /not a valid ext name/],
      ['name+3.conf', 'x'.repeat(256), /not a valid ext name/],
      ['.', 'dot', /cannot name a directory entry/],
      ['..', 'dotdot', /cannot name a directory entry/],
      ['NAME+3.conf', 'n', /ENOENT/], // ext names are exact
    ] as const) {
      const r = await renameInPlace(l, '/loader/entries', from, to);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toMatch(why);
    }
    expect(fs.readFileSync(img).equals(before)).toBe(true);
  });
});

describe('ext4: a longer name in a packed directory', () => {
  it('grows the record by moving the later records of its sector into free space, keeping the order; refuses across sectors', async () => {
    // 40 names of 11 bytes: 20-byte records, packed by mke2fs, filling sectors 0 and 1 of the block.
    const names = Array.from({ length: 40 }, (_, i) => `n${String(i).padStart(2, '0')}+3.conf`);
    const tree: Record<string, string> = {};
    for (const n of names) tree[`d/${n}`] = n;
    const img = extImage(dir, 'ext4', tree);
    const order = debugfsNames(img, '/d');
    expect([...order].sort()).toEqual([...names].sort());
    const renamed = new Map<string, string>();
    const refused: string[] = [];
    for (const n of debugfsNames(img, '/d')) {
      const before = fs.readFileSync(img);
      const to = n.replace('+3', '+2-1');
      const r = await renameInPlace(loc(img, 'ext4'), '/d', n, to);
      if (r.ok) {
        renamed.set(n, to);
        expect(unchangedSectorsIn(before, fs.readFileSync(img), r.writes)).toEqual([]);
      } else {
        expect(r.reason).toMatch(/would change 2 sectors of block 0, not one|no later record/);
        expect(fs.readFileSync(img).equals(before)).toBe(true);
        refused.push(n);
      }
    }
    expect(refused.length).toBeGreaterThan(0);
    expect(renamed.size).toBeGreaterThan(20);
    // Same order as before, each name renamed or not; every file still holds its own bytes.
    expect(debugfsNames(img, '/d')).toEqual(order.map((n) => renamed.get(n) ?? n));
    for (const [from, to] of renamed) expect(debugfsCat(img, `/d/${to}`).toString()).toBe(from);
    expect(e2fsck(img).status).toBe(0);
  });
});
