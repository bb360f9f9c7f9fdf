// The guards: a mounted filesystem (through a loop device over the image, or the loop
// device itself, or one partition of it) is refused with its mount directory, and the same
// change then goes through the mount; ext volumes that need recovery, were not cleanly
// unmounted, hold orphans or recorded errors, or whose directory is an htree are refused.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mountPointOf, overwriteViaMount, renameViaMount } from '../../../src/write/mounted';
import { parseMountinfo } from '../../../src/write/mountinfo';
import { overwriteInPlace, readForOverwrite } from '../../../src/write/overwrite';
import { renameInPlace } from '../../../src/write/rename';
import {
  debugfsNames,
  e2fsck,
  extImage,
  fatImage,
  fsckVfat,
  loc,
  mdirNames,
  mtype,
  needRoot,
  partitioned,
  run,
  tmpDir,
} from './images';

let dir = '';
const cleanups: Array<() => void> = [];
beforeAll(() => {
  needRoot('the in-place writer tests');
  dir = tmpDir('guards');
});
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) {
    try {
      c();
    } catch {
      /* already gone */
    }
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** losetup + mount; undone after the test. */
function mountImage(
  img: string,
  opts: { ro: boolean; fsType: string; offset?: number; size?: number },
): { dev: string; mnt: string } {
  const window = opts.offset ? ['-o', String(opts.offset), '--sizelimit', String(opts.size)] : [];
  const dev = run('losetup', ['-f', '--show', ...(opts.ro ? ['-r'] : []), ...window, img]).trim();
  cleanups.push(() => run('losetup', ['-d', dev]));
  const mnt = fs.mkdtempSync(path.join(dir, 'mnt-'));
  const o = opts.ro ? (opts.fsType === 'vfat' ? 'ro' : 'ro,noload') : 'rw';
  run('mount', ['-t', opts.fsType, '-o', o, dev, mnt]);
  cleanups.push(() => run('umount', [mnt]));
  return { dev, mnt };
}

const files = { 'loader/entries/name+3.conf': 'title T\n', 'boot/grub/grubenv': Buffer.alloc(1024, 0x23) };

// This machine's kernel has no vfat module, so the mounts here are ext4 (the guards do not depend
// on the filesystem type: they look at block devices, loop backing files and mountinfo).
describe('a mounted filesystem', () => {
  it.each(['ext4'] as Array<'vfat' | 'ext4'>)(
    '%s: refused with its mount directory, through the image or the loop device',
    async (t) => {
      const img = t === 'vfat' ? fatImage(dir, 16, files) : extImage(dir, 'ext4', files);
      const before = fs.readFileSync(img);
      const { dev, mnt } = mountImage(img, { ro: true, fsType: t });
      expect(mountPointOf(img)).toBe(mnt);
      expect(mountPointOf(dev)).toBe(mnt);
      for (const device of [img, dev]) {
        const r = await renameInPlace(
          loc(device, t, 0, before.length),
          '/loader/entries',
          'name+3.conf',
          'name+2-1.conf',
        );
        expect(r).toMatchObject({ ok: false, mounted: mnt });
        if (!r.ok) expect(r.reason).toMatch(/is mounted at/);
        const o = await overwriteInPlace(
          loc(device, t, 0, before.length),
          '/boot/grub/grubenv',
          1024,
          Buffer.alloc(1024),
        );
        expect(o).toMatchObject({ ok: false, mounted: mnt });
        const rd = await readForOverwrite(loc(device, t, 0, before.length), '/boot/grub/grubenv', 1024);
        expect(rd.ok).toBe(false);
        if (!rd.ok) expect(rd.reason).toMatch(/is mounted at .*read through the mount instead/);
      }
      expect(fs.readFileSync(img).equals(before)).toBe(true);
    },
  );

  // This kernel reads no partition tables (losetup -P makes no partitions), so the partition is
  // mounted the way one is without a table: a loop device over its byte range of the disk image.
  it('one partition of a disk image: refused with that partition mount directory', async () => {
    const { disk, offset, size } = partitioned(dir, extImage(dir, 'ext4', files));
    const { mnt } = mountImage(disk, { ro: true, fsType: 'ext4', offset, size });
    const r = await renameInPlace(loc(disk, 'ext4', offset, size), '/loader/entries', 'name+3.conf', 'name+2-1.conf');
    expect(r).toMatchObject({ ok: false, mounted: mnt });
    expect(mountPointOf(disk)).toBeUndefined(); // the disk itself is not what is mounted
  });

  it.each(['ext4'] as Array<'vfat' | 'ext4'>)(
    '%s: renameViaMount and overwriteViaMount make the change through the kernel',
    async (t) => {
      const img = t === 'vfat' ? fatImage(dir, 16, files) : extImage(dir, 'ext4', files);
      const { mnt } = mountImage(img, { ro: false, fsType: t });
      expect(await renameViaMount(mnt, '/loader/entries', 'name+3.conf', 'name+2-1.conf')).toEqual({
        ok: true,
        writes: [],
      });
      expect(await overwriteViaMount(mnt, '/boot/grub/grubenv', Buffer.alloc(1024, 0x41))).toEqual({
        ok: true,
        writes: [],
      });
      // Refusals: an existing target, a size change, a path out of the mount.
      const exists = await renameViaMount(mnt, '/loader', 'entries', '../boot');
      expect(exists.ok).toBe(false);
      const clash = await renameViaMount(mnt, '/boot', 'grub', '../loader');
      expect(clash.ok).toBe(false);
      const size = await overwriteViaMount(mnt, '/boot/grub/grubenv', Buffer.alloc(1000));
      expect(size).toMatchObject({ ok: false, reason: expect.stringMatching(/is 1024 bytes, not 1000/) as string });
      const escape = await overwriteViaMount(mnt, '/../etc/passwd', Buffer.alloc(1));
      expect(escape.ok).toBe(false);
      run('umount', [mnt]);
      if (t === 'vfat') {
        expect(mdirNames(img, '/loader/entries')).toEqual(['name+2-1.conf']);
        expect(mtype(img, '/boot/grub/grubenv').equals(Buffer.alloc(1024, 0x41))).toBe(true);
        expect(fsckVfat(img).status).toBe(0);
      } else {
        expect(debugfsNames(img, '/loader/entries')).toEqual(['name+2-1.conf']);
        expect(e2fsck(img).status).toBe(0);
      }
    },
  );

  it('a block device that is not mounted is written through O_EXCL; one held exclusively is refused (EBUSY)', async () => {
    const img = fatImage(dir, 16, files);
    const dev = run('losetup', ['-f', '--show', img]).trim();
    cleanups.push(() => run('losetup', ['-d', dev]));
    const size = fs.statSync(img).size;
    const held = fs.openSync(dev, fs.constants.O_RDONLY | fs.constants.O_EXCL);
    cleanups.push(() => fs.closeSync(held));
    const busy = await renameInPlace(loc(dev, 'vfat', 0, size), '/loader/entries', 'name+3.conf', 'name+2-1.conf');
    expect(busy.ok).toBe(false);
    if (!busy.ok) {
      expect(busy.reason).toMatch(new RegExp(`open\\(O_RDWR\\|O_EXCL\\) ${dev}: EBUSY`));
      expect(busy.mounted).toBeUndefined();
    }
    fs.closeSync(held);
    cleanups.pop();
    const r = await renameInPlace(loc(dev, 'vfat', 0, size), '/loader/entries', 'name+3.conf', 'name+2-1.conf');
    expect(r).toMatchObject({ ok: true, writes: [{ length: 512 }] });
    run('losetup', ['-d', dev]);
    cleanups.pop();
    expect(mdirNames(img, '/loader/entries')).toEqual(['name+2-1.conf']);
    expect(fsckVfat(img).status).toBe(0);
  });

  it('parses mountinfo lines with escaped mount points', () => {
    const m = parseMountinfo(
      '36 35 98:0 / /mnt/my\\040esp rw,noatime master:1 - vfat /dev/sda1 rw\n' +
        '37 35 98:1 /sub /bind rw - ext4 /dev/sda2 rw\nbroken line\n',
    );
    expect(m).toEqual([
      { majMin: '98:0', root: '/', dir: '/mnt/my esp', fsType: 'vfat' },
      { majMin: '98:1', root: '/sub', dir: '/bind', fsType: 'ext4' },
    ]);
  });
});

describe('ext volumes that only the kernel or e2fsck may touch', () => {
  it.each([
    ['needs journal recovery', ['feature needs_recovery'], /needs recovery/],
    ['not cleanly unmounted', ['ssv state 0'], /not cleanly unmounted/],
    ['errors recorded', ['ssv state 3'], /recorded errors/],
    ['orphans waiting', ['ssv last_orphan 12'], /orphan inodes/],
  ])('%s: refused, nothing written', async (_label, cmds, why) => {
    const img = extImage(dir, 'ext4', files);
    for (const c of cmds) run('debugfs', ['-w', '-R', c, img]);
    const before = fs.readFileSync(img);
    const r = await renameInPlace(loc(img, 'ext4'), '/loader/entries', 'name+3.conf', 'name+2-1.conf');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(why);
    const o = await overwriteInPlace(loc(img, 'ext4'), '/boot/grub/grubenv', 1024, Buffer.alloc(1024));
    expect(o.ok).toBe(false);
    expect(fs.readFileSync(img).equals(before)).toBe(true);
  });

  it('an htree-indexed directory is refused', async () => {
    const tree: Record<string, string> = {};
    for (let i = 0; i < 300; i++) tree[`many/a-rather-long-entry-name-number-${i}+3.conf`] = `${i}`;
    const img = extImage(dir, 'ext4', tree);
    run('e2fsck', ['-fyD', img]);
    expect(run('debugfs', ['-R', 'htree /many', img])).toMatch(/Root node dump/);
    const r = await renameInPlace(loc(img, 'ext4'), '/many', 'a-rather-long-entry-name-number-7+3.conf', 'x');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/htree-indexed/);
  });
});
