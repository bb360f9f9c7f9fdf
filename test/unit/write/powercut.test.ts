// Power cuts: every write a writer makes is recorded, and a copy of the original image gets
// only some of them — every prefix, every sector prefix of the write in progress, and (the
// kernel may reorder writes before the fdatasync) every subset of whole writes. Each such disk
// must pass fsck and show the old or the new state. The one documented exception: with ext4
// metadata_csum, a state with the records' sector but not the checksum's (or the reverse) has a
// directory block checksum mismatch, which e2fsck reports and repairs to the old or new name
// (docs/writes.md §4.3).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overwriteInPlace } from '../../../src/write/overwrite';
import { renameInPlace } from '../../../src/write/rename';
import type { WriteOptions } from '../../../src/write/types';
import {
  check,
  debugfsCat,
  debugfsNames,
  e2fsck,
  extImage,
  fatImage,
  fsckVfat,
  loc,
  mdirNames,
  mtype,
  needRoot,
  run,
  tmpDir,
} from './images';

let dir = '';
beforeAll(() => {
  needRoot('the in-place writer tests');
  dir = tmpDir('powercut');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Rec {
  readonly offset: number;
  readonly data: Uint8Array;
}

/** The disks a power cut can leave: each a list of (offset, bytes) applied to the original. */
function cutStates(writes: readonly Rec[]): Rec[][] {
  const states: Rec[][] = [];
  // Prefixes, with every sector prefix of the next write.
  for (let k = 0; k <= writes.length; k++) {
    states.push(writes.slice(0, k));
    const w = writes[k];
    if (!w) continue;
    for (let s = 512; s < w.data.length; s += 512)
      states.push([...writes.slice(0, k), { offset: w.offset, data: w.data.subarray(0, s) }]);
  }
  // Subsets of whole writes (reordering before the flush).
  for (let mask = 1; mask < 1 << writes.length; mask++) states.push(writes.filter((_, i) => mask & (1 << i)));
  return states;
}

function materialise(original: Buffer, state: readonly Rec[]): string {
  const img = path.join(dir, `state-${Math.random().toString(36).slice(2)}.img`);
  const b = Buffer.from(original);
  for (const w of state) b.set(w.data, w.offset);
  fs.writeFileSync(img, b);
  return img;
}

function recorder(): { opts: WriteOptions; writes: Rec[] } {
  const writes: Rec[] = [];
  return { opts: { recorder: (offset, data) => writes.push({ offset, data: Uint8Array.from(data) }) }, writes };
}

const entry = 'title T\nlinux /vmlinuz\n';
// Enough names that the renamed one has neighbours in its sector.
const tree: Record<string, string> = {
  'loader/entries/a.conf': 'a',
  'loader/entries/name+3.conf': entry,
  'loader/entries/z.conf': 'z',
};

describe.each([12, 16, 32] as const)('FAT%i', (bits) => {
  it.each([
    ['name+3.conf', 'name+2-1.conf'], // same slots
    ['abcde+3.conf', 'abcde+2-1.conf'], // one slot more: records after it move
  ])('rename %s: the one sector write leaves the old or the new name, fsck clean', async (from, to) => {
    const img = fatImage(dir, bits, { ...tree, [`loader/entries/${from}`]: entry, 'loader/entries/zz.conf': 'zz' });
    const original = fs.readFileSync(img);
    const rec = recorder();
    const r = await renameInPlace(loc(img, 'vfat'), '/loader/entries', from, to, rec.opts);
    expect(r.ok).toBe(true);
    expect(rec.writes.map((w) => w.data.length)).toEqual([512]);
    for (const state of cutStates(rec.writes)) {
      const s = materialise(original, state);
      expect(fsckVfat(s).status).toBe(0);
      const names = mdirNames(s, '/loader/entries');
      const which = names.includes(to) ? to : from;
      const others = from === 'name+3.conf' ? [] : ['name+3.conf'];
      expect(names.sort()).toEqual(['a.conf', which, 'z.conf', 'zz.conf', ...others].sort());
      expect(mtype(s, `/loader/entries/${which}`).toString()).toBe(entry);
      fs.rmSync(s);
    }
  });
});

describe.each([
  ['ext4 (metadata_csum, 4 KiB blocks)', 'ext4', []],
  ['ext4 (metadata_csum, 1 KiB blocks)', 'ext4', ['-b', '1024']],
  ['ext2', 'ext2', []],
] as const)('%s', (_label, type, extra) => {
  it('rename: every cut leaves the old or the new name; a torn checksum is the only fsck finding', async () => {
    const img = extImage(dir, type, tree, [...extra]);
    const original = fs.readFileSync(img);
    const rec = recorder();
    const r = await renameInPlace(loc(img, type), '/loader/entries', 'name+3.conf', 'name+2-1.conf', rec.opts);
    expect(r.ok).toBe(true);
    let torn = 0;
    for (const state of cutStates(rec.writes)) {
      const s = materialise(original, state);
      const f = e2fsck(s);
      if (f.status !== 0) {
        // Only with metadata_csum, only the directory block's checksum; e2fsck -fy repairs it.
        expect(type).toBe('ext4');
        expect(f.out).toMatch(/passes checks but fails checksum/);
        expect(f.out.split('\n').filter((l) => /Fix\? no/.test(l))).toHaveLength(1);
        expect(check('e2fsck', ['-fy', s]).status).toBe(1); // 1: errors corrected
        expect(e2fsck(s).status).toBe(0);
        torn++;
      }
      const names = debugfsNames(s, '/loader/entries');
      const which = names.includes('name+2-1.conf') ? 'name+2-1.conf' : 'name+3.conf';
      expect(names.sort()).toEqual(['a.conf', which, 'z.conf'].sort());
      expect(debugfsCat(s, `/loader/entries/${which}`).toString()).toBe(entry);
      fs.rmSync(s);
    }
    // With csum in another sector than the records, some cuts do tear; the test saw them.
    const separate = rec.writes.length > 1 || rec.writes.some((w) => w.data.length > 512);
    if (type === 'ext4') expect(torn > 0).toBe(separate);
    else expect(torn).toBe(0);
  });
});

describe.each([
  ['FAT16', 'vfat'],
  ['ext4', 'ext4'],
] as const)('%s grubenv', (_label, type) => {
  it('overwrite of both sectors: every cut passes fsck and each sector holds its old or new bytes', async () => {
    const make = (vars: string[]): Buffer => {
      const f = path.join(dir, `ge-${Math.random().toString(36).slice(2)}`);
      run('grub-editenv', [f, 'create']);
      run('grub-editenv', [f, 'set', ...vars]);
      const b = fs.readFileSync(f);
      fs.rmSync(f);
      return b;
    };
    const old = make(['saved_entry=a', `long=${'x'.repeat(600)}`]);
    const next = make(['saved_entry=b', `long=${'y'.repeat(600)}`]);
    const files = { 'boot/grub/grubenv': old };
    const img = type === 'vfat' ? fatImage(dir, 16, files) : extImage(dir, 'ext4', files);
    const original = fs.readFileSync(img);
    const rec = recorder();
    const r = await overwriteInPlace(loc(img, type), '/boot/grub/grubenv', 1024, next, rec.opts);
    expect(r.ok).toBe(true);
    expect(rec.writes.map((w) => w.data.length)).toEqual([1024]);
    const states = cutStates(rec.writes);
    expect(states.length).toBe(4); // none, first sector, both, both (as the one subset)
    for (const state of states) {
      const s = materialise(original, state);
      expect((type === 'vfat' ? fsckVfat(s) : e2fsck(s)).status).toBe(0);
      const got = type === 'vfat' ? mtype(s, '/boot/grub/grubenv') : debugfsCat(s, '/boot/grub/grubenv');
      for (const half of [0, 512]) {
        const part = got.subarray(half, half + 512);
        expect(part.equals(old.subarray(half, half + 512)) || part.equals(next.subarray(half, half + 512))).toBe(true);
      }
      fs.rmSync(s);
    }
  });
});
