// Images for the writer tests, made by the real tools (mkfs.vfat + mcopy, mke2fs -d, sgdisk)
// in a fresh directory per test file, and the real checkers' views of them (mdir, fsck.vfat,
// debugfs, e2fsck).

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FsLocation, WriteRange } from '../../../src/write/types';

export function needRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new Error(`${what} need root (loop devices, mount, O_EXCL on block devices)`);
}

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Exit status and output of a checker (fsck exits non-zero on a finding). */
export function check(cmd: string, args: string[]): { status: number; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tendril-write-${tag}-`));
}

export type Tree = Record<string, string | Buffer>;

function stage(dir: string, files: Tree): string {
  const root = fs.mkdtempSync(path.join(dir, 'tree-'));
  for (const [p, c] of Object.entries(files)) {
    const f = path.join(root, p);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    if (p.endsWith('/')) fs.mkdirSync(f, { recursive: true });
    else fs.writeFileSync(f, c);
  }
  return root;
}

export type FatBits = 12 | 16 | 32;

/** mkfs.vfat -F bits, files copied in with mcopy in the order given (so their slots follow that order). */
export function fatImage(dir: string, bits: FatBits, files: Tree, opts: { spc?: number } = {}): string {
  const img = path.join(dir, `fat${bits}-${Math.random().toString(36).slice(2)}.img`);
  const mib = bits === 12 ? 2 : bits === 16 ? 16 : 40;
  fs.writeFileSync(img, '');
  fs.truncateSync(img, mib * 1024 * 1024);
  const spc = opts.spc ?? (bits === 32 ? 1 : undefined);
  run('mkfs.vfat', ['-F', String(bits), ...(spc ? ['-s', String(spc)] : []), '-n', 'TENDRIL', img]);
  const made = new Set<string>();
  for (const [p, c] of Object.entries(files)) {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i < parts.length + (p.endsWith('/') ? 1 : 0); i++) {
      const d = '::/' + parts.slice(0, i).join('/');
      if (!made.has(d)) run('mmd', ['-i', img, d]);
      made.add(d);
    }
    if (p.endsWith('/')) continue;
    const src = path.join(dir, 'mcopy-src');
    fs.writeFileSync(src, c);
    run('mcopy', ['-i', img, src, '::/' + parts.join('/')]);
  }
  return img;
}

/** mke2fs -t type -d tree (4 KiB blocks unless asked: mke2fs would pick 1 KiB for so small a volume). */
export function extImage(dir: string, type: 'ext2' | 'ext4', files: Tree, extra: string[] = []): string {
  const img = path.join(dir, `${type}-${Math.random().toString(36).slice(2)}.img`);
  const tree = stage(dir, files);
  const bs = extra.includes('-b') ? [] : ['-b', '4096'];
  run('mke2fs', ['-q', '-F', '-t', type, '-L', 'tendril', ...bs, ...extra, '-d', tree, img, '8M']);
  return img;
}

/** A GPT disk with the filesystem image as partition 1 at 1 MiB, and 1 MiB of pattern after it. */
export function partitioned(dir: string, fsImg: string): { disk: string; offset: number; size: number } {
  const size = fs.statSync(fsImg).size;
  const offset = 1024 * 1024;
  const disk = path.join(dir, `disk-${Math.random().toString(36).slice(2)}.img`);
  fs.writeFileSync(disk, Buffer.alloc(0));
  fs.truncateSync(disk, offset + size + 1024 * 1024);
  run('sgdisk', ['-n', `1:2048:+${size / 512}`, '-t', '1:ef00', disk]);
  const fd = fs.openSync(disk, 'r+');
  fs.writeSync(fd, fs.readFileSync(fsImg), 0, size, offset);
  fs.closeSync(fd);
  return { disk, offset, size };
}

/** Sectors inside `ranges` whose bytes did not change between `a` and `b` (a write should cover none). */
export function unchangedSectorsIn(a: Buffer, b: Buffer, ranges: readonly WriteRange[]): number[] {
  const out: number[] = [];
  for (const r of ranges)
    for (let s = r.offset; s < r.offset + r.length; s += 512)
      if (a.subarray(s, s + 512).equals(b.subarray(s, s + 512))) out.push(s);
  return out;
}

export function loc(
  device: string,
  fsType: FsLocation['fsType'],
  offset = 0,
  size = fs.statSync(device).size - offset,
): FsLocation {
  return { device, offset, size, fsType };
}

/** Offsets of bytes that differ between `a` and `b` outside `ranges` (at most 10). */
export function diffOutside(a: Buffer, b: Buffer, ranges: readonly WriteRange[]): number[] {
  const out: number[] = [];
  if (a.length !== b.length) return [-1];
  const inRange = (i: number): boolean => ranges.some((r) => i >= r.offset && i < r.offset + r.length);
  for (let i = 0; i < a.length && out.length < 10; i++) if (a[i] !== b[i] && !inRange(i)) out.push(i);
  return out;
}

/** Bytes `[offset, offset + size)` of `img` as their own file (for checkers that take a whole filesystem). */
export function extract(img: string, offset: number, size: number, dir: string): string {
  if (offset === 0 && size === fs.statSync(img).size) return img;
  const out = path.join(dir, `part-${Math.random().toString(36).slice(2)}.img`);
  fs.writeFileSync(out, fs.readFileSync(img).subarray(offset, offset + size));
  return out;
}

export function fsckVfat(img: string): { status: number; out: string } {
  return check('fsck.vfat', ['-n', img]);
}

export function e2fsck(img: string): { status: number; out: string } {
  return check('e2fsck', ['-fn', img]);
}

/** Names in a FAT directory as mtools lists them (long names). */
export function mdirNames(img: string, dir: string): string[] {
  const out = run('mdir', ['-b', '-i', img, `::${dir}`]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.replace(/^.*\//, ''));
}

export function mtype(img: string, file: string): Buffer {
  return execFileSync('mtype', ['-i', img, `::${file}`]);
}

/** Names in an ext directory as debugfs lists them. */
export function debugfsNames(img: string, dir: string): string[] {
  const out = run('debugfs', ['-R', `ls -p ${dir}`, img]);
  return out
    .split('\n')
    .map((l) => l.split('/'))
    .filter((f) => f.length >= 6)
    .map((f) => f[5]!)
    .filter((n) => n !== '.' && n !== '..');
}

export function debugfsCat(img: string, file: string): Buffer {
  return execFileSync('debugfs', ['-R', `cat ${file}`, img], { stdio: ['ignore', 'pipe', 'ignore'] });
}
