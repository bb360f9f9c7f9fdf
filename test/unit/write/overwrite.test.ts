// overwriteInPlace / readForOverwrite on grubenv blocks made by grub-editenv: afterwards
// grub-editenv reads the new variables from the file copied back out, fsck is clean, and the
// image outside the written sectors is unchanged. Files that are not one contiguous range of
// the expected size are refused.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { overwriteInPlace, readForOverwrite } from '../../../src/write/overwrite';
import {
  debugfsCat,
  diffOutside,
  e2fsck,
  extImage,
  extract,
  fatImage,
  fsckVfat,
  loc,
  mtype,
  needRoot,
  partitioned,
  run,
  tmpDir,
  unchangedSectorsIn,
} from './images';

let dir = '';
beforeAll(() => {
  needRoot('the in-place writer tests');
  dir = tmpDir('overwrite');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A grubenv block made by grub-editenv with `vars` set. */
function grubenv(vars: string[]): Buffer {
  const f = path.join(dir, `grubenv-${Math.random().toString(36).slice(2)}`);
  run('grub-editenv', [f, 'create']);
  if (vars.length) run('grub-editenv', [f, 'set', ...vars]);
  const b = fs.readFileSync(f);
  fs.rmSync(f);
  return b;
}

function editenvList(bytes: Buffer): string[] {
  const f = path.join(dir, `list-${Math.random().toString(36).slice(2)}`);
  fs.writeFileSync(f, bytes);
  const out = execFileSync('grub-editenv', [f, 'list'], { encoding: 'utf8' });
  fs.rmSync(f);
  return out.split('\n').filter(Boolean);
}

const oldEnv = (): Buffer => grubenv(['saved_entry=arch', 'next_entry=rescue']);
const newEnv = (): Buffer => grubenv(['saved_entry=arch']);

describe.each([
  ['FAT12', 12],
  ['FAT16', 16],
  ['FAT32', 32],
  ['ext4', 'ext4'],
  ['ext2', 'ext2'],
] as const)('%s', (_label, kind) => {
  const make = (files: Record<string, Buffer | string>): { img: string; type: 'vfat' | 'ext4' | 'ext2' } =>
    typeof kind === 'number'
      ? { img: fatImage(dir, kind, files), type: 'vfat' }
      : { img: extImage(dir, kind, files), type: kind };
  const readBack = (img: string, type: string, file: string): Buffer =>
    type === 'vfat' ? mtype(img, file) : debugfsCat(img, file);
  const fsck = (img: string, type: string): number => (type === 'vfat' ? fsckVfat(img) : e2fsck(img)).status;

  it.each([false, true])(
    'consumes next_entry in grubenv the way grub-editenv reads it (partitioned: %s)',
    async (gpt) => {
      const old = oldEnv();
      expect(old.length).toBe(1024);
      const { img, type } = make({ 'boot/grub/grubenv': old, 'boot/grub/grub.cfg': 'set default=0\n' });
      const l = gpt ? partitioned(dir, img) : { disk: img, offset: 0, size: fs.statSync(img).size };
      const L = loc(l.disk, type, l.offset, l.size);
      const read = await readForOverwrite(L, '/boot/grub/grubenv', 1024);
      expect(read.ok && Buffer.from(read.bytes).equals(old)).toBe(true);
      const before = fs.readFileSync(l.disk);
      const next = newEnv();
      const r = await overwriteInPlace(L, '/boot/grub/grubenv', 1024, next);
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      // Only the sectors of the block that differ (grub-editenv rewrote the first one only).
      expect(r.writes).toEqual([{ offset: expect.any(Number) as number, length: 512 }]);
      const after = fs.readFileSync(l.disk);
      expect(diffOutside(before, after, r.writes)).toEqual([]);
      expect(unchangedSectorsIn(before, after, r.writes)).toEqual([]);
      const part = extract(l.disk, l.offset, l.size, dir);
      const out = readBack(part, type, '/boot/grub/grubenv');
      expect(out.equals(next)).toBe(true);
      expect(editenvList(out)).toEqual(['saved_entry=arch']);
      expect(fsck(part, type)).toBe(0);
      // Writing the same bytes again writes nothing.
      const again = await overwriteInPlace(L, '/boot/grub/grubenv', 1024, next);
      expect(again).toEqual({ ok: true, writes: [] });
    },
  );

  it('refuses a file of another size, a size mismatch of the new bytes, a directory and a missing file', async () => {
    const { img, type } = make({ 'boot/grub/grubenv': oldEnv(), 'state/short': Buffer.alloc(1000, 1) });
    const before = fs.readFileSync(img);
    const L = loc(img, type);
    const cases: Array<[Promise<{ ok: boolean; reason?: string }>, RegExp]> = [
      [overwriteInPlace(L, '/state/short', 1024, Buffer.alloc(1024)), /is 1000 bytes, not the 1024 expected/],
      [overwriteInPlace(L, '/boot/grub/grubenv', 1024, Buffer.alloc(512)), /512 new bytes for a 1024-byte file/],
      [overwriteInPlace(L, '/boot/grub', 1024, Buffer.alloc(1024)), /EISDIR/],
      [overwriteInPlace(L, '/boot/grub/nope', 1024, Buffer.alloc(1024)), /ENOENT/],
      [readForOverwrite(L, '/state/short', 512), /is 1000 bytes, not the 512 expected/],
    ];
    for (const [p, why] of cases) {
      const r = await p;
      expect(r.ok).toBe(false);
      expect(r.reason).toMatch(why);
    }
    expect(fs.readFileSync(img).equals(before)).toBe(true);
  });
});

describe('refusals of files that are not one plain contiguous block', () => {
  it('FAT: a grubenv whose two 512-byte clusters are not neighbours', async () => {
    // 512-byte clusters; f2's cluster is freed before grubenv is copied, so mtools gives
    // grubenv that cluster and the next free one after f3.
    const img = fatImage(dir, 16, { f1: Buffer.alloc(512), f2: Buffer.alloc(512), f3: Buffer.alloc(512) }, { spc: 1 });
    run('mdel', ['-i', img, '::/f2']);
    const src = path.join(dir, 'ge-frag');
    fs.writeFileSync(src, oldEnv());
    run('mcopy', ['-i', img, src, '::/grubenv']);
    expect(run('mshowfat', ['-i', img, '::/grubenv'])).toMatch(/<3> <5>/);
    const before = fs.readFileSync(img);
    const r = await overwriteInPlace(loc(img, 'vfat'), '/grubenv', 1024, newEnv());
    expect(r).toEqual({ ok: false, reason: '/grubenv is not one contiguous range on the disk (2 pieces)' });
    const rd = await readForOverwrite(loc(img, 'vfat'), '/grubenv', 1024);
    expect(rd.ok).toBe(false);
    expect(fs.readFileSync(img).equals(before)).toBe(true);
  });

  it('ext4: a file kept inline in its inode (inline_data)', async () => {
    const img = extImage(dir, 'ext4', { 'state.bin': Buffer.alloc(40, 3) }, ['-O', 'inline_data']);
    const r = await overwriteInPlace(loc(img, 'ext4'), '/state.bin', 40, Buffer.alloc(40, 4));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/inline_data/);
  });

  it('ext4: a sparse file (a hole where its bytes would be)', async () => {
    const img = extImage(dir, 'ext4', { x: '' });
    run('debugfs', ['-w', '-R', 'write /dev/null sparse', img]);
    run('debugfs', ['-w', '-R', 'sif sparse size 1024', img]);
    const r = await overwriteInPlace(loc(img, 'ext4'), '/sparse', 1024, Buffer.alloc(1024, 1));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/holes or unwritten extents/);
  });
});
