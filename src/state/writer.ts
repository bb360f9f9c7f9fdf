// The Writer (apply.ts) for real filesystems (docs/state.md §2): in place on the raw device
// (src/write/) when nothing has the filesystem mounted — tendril's initramfs, where nothing is —
// or through the kernel's mount when something has (a running system's /boot/efi), never both
// at once. Creating tendril's state file the first time is the one write that needs a new
// directory entry and a cluster: it goes through a kernel mount made for it alone.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FsReport } from '../discovery/model';
import { isSyscallError, MS, mount, umount2 } from '../native/sys';
import { overwriteViaMount, renameViaMount } from '../write/mounted';
import { blockDeviceAt, mountOver } from '../write/mountinfo';
import { overwriteInPlace, readForOverwrite } from '../write/overwrite';
import { renameInPlace } from '../write/rename';
import type { FsLocation, WriteResult } from '../write/types';
import type { Writer, WriteOutcome } from './apply';

const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isBlock(p: string): boolean {
  try {
    return fs.statSync(p).isBlockDevice();
  } catch {
    return false;
  }
}

/**
 * Where the kernel has this filesystem mounted (a --root tree is its own directory); `busy` when
 * it is mounted in a way tendril cannot write through (a bind mount of a subdirectory).
 */
function mountedAt(f: FsReport): { dir: string } | { busy: string } | undefined {
  if (isDir(f.device)) return { dir: f.device };
  const m = mountOver(f.device, f.offset, f.size);
  if (!m) return undefined;
  return m.dir !== undefined ? { dir: m.dir } : { busy: m.what };
}

function locationOf(f: FsReport): FsLocation | string {
  const t = f.probe?.type;
  if (f.probe?.dirty) return `${f.fsId}: hibernated or needs journal recovery: never written`;
  if (t !== 'vfat' && t !== 'ext2' && t !== 'ext3' && t !== 'ext4')
    return `${f.fsId}: cannot write to ${t ?? 'unknown'}`;
  return { device: f.device, offset: f.offset, size: f.size, fsType: t };
}

const outcome = (r: WriteResult): WriteOutcome => (r.ok ? { ok: true } : { ok: false, reason: r.reason });

function inside(dir: string, p: string): string {
  return path.join(dir, ...p.split('/').filter(Boolean));
}

/** fat-rename.ts's refusals that a kernel vfat rename gets past. */
const FAT_NEEDS_KERNEL =
  /long-name slot\(s\) where|one more long-name slot and no free record|span two \d+-byte sectors/;

/** A new file in a mounted tree: a temporary name, fsync, rename, fsync of the directory. */
async function createIn(dir: string, p: string, bytes: Uint8Array): Promise<WriteOutcome> {
  try {
    const final = inside(dir, p);
    fs.mkdirSync(path.dirname(final), { recursive: true });
    const tmp = `${final}.tmp`;
    fs.rmSync(tmp, { force: true });
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeSync(fd, bytes, 0, bytes.length, 0);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, final);
    const d = fs.openSync(path.dirname(final), 'r');
    try {
      fs.fsyncSync(d);
    } finally {
      fs.closeSync(d);
    }
    return { ok: true };
  } catch (e) {
    return { ok: false, reason: msg(e) };
  }
}

/**
 * /init loads the kernel's filesystems and their character sets after tendril starts, at low
 * priority: ENODEV means vfat is not there yet, EINVAL (from vfat) that its code page or I/O
 * character set is not. Both are waited for, up to MOUNT_WAIT_MS; then the last error stands.
 */
async function mountWhenReady(dev: string, dir: string, type: string, flags: number): Promise<void> {
  const until = Date.now() + MOUNT_WAIT_MS;
  for (;;) {
    try {
      mount(dev, dir, type, flags, null);
      return;
    } catch (e) {
      const code = isSyscallError(e) ? e.code : undefined;
      if ((code !== 'ENODEV' && code !== 'EINVAL') || Date.now() >= until) throw e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

const MOUNT_WAIT_MS = 15_000;

/** Mount `f` for one operation and unmount it; image files get a loop device for the time. */
async function withKernelMount(f: FsReport, op: (dir: string) => Promise<WriteOutcome>): Promise<WriteOutcome> {
  const type = f.probe?.type ?? 'vfat';
  let dev = blockDeviceAt(f.device, f.offset);
  let loop: string | undefined;
  if (dev === undefined) {
    if (isBlock(f.device)) return { ok: false, reason: `no device node for partition ${f.partition} of ${f.device}` };
    const r = spawnSync(
      'losetup',
      ['--find', '--show', '--offset', String(f.offset), '--sizelimit', String(f.size), f.device],
      { encoding: 'utf8' },
    );
    if (r.status !== 0)
      return { ok: false, reason: `losetup ${f.device}: ${(r.stderr || r.error?.message || '').trim()}` };
    loop = r.stdout.trim();
    dev = loop;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-state-'));
  let result: WriteOutcome;
  const flags = MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.NOATIME;
  try {
    await mountWhenReady(dev, dir, type, flags);
  } catch (e) {
    result = { ok: false, reason: `mount ${dev} (${type}): ${msg(e)}` };
    cleanup(dir, loop);
    return result;
  }
  try {
    result = await op(dir);
  } catch (e) {
    result = { ok: false, reason: msg(e) };
  }
  try {
    umount2(dir, 0);
  } catch (e) {
    // Still mounted: leave the directory (and the loop device) alone, never remove what is in it.
    return { ok: false, reason: `umount ${dir}: ${msg(e)}` };
  }
  cleanup(dir, loop);
  return result;
}

/** The empty mount point (rmdir, never a recursive remove) and the loop device. */
function cleanup(dir: string, loop: string | undefined): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    // left behind in the temporary directory
  }
  if (loop) spawnSync('losetup', ['-d', loop]);
}

export function deviceWriter(): Writer {
  return {
    async rename(f, dir, from, to) {
      const m = mountedAt(f);
      if (m && 'dir' in m) return outcome(await renameViaMount(m.dir, dir, from, to));
      const loc = locationOf(f);
      if (typeof loc === 'string') return { ok: false, reason: loc };
      // Refused with its reason when the filesystem is mounted some other way (device.ts).
      const r = await renameInPlace(loc, dir, from, to);
      // FAT: a name that needs another long-name slot (or slots that straddle a sector) has no
      // single-sector rename; the kernel's vfat does it instead, in a mount made for it alone
      // (docs/state.md §2).
      if (!r.ok && loc.fsType === 'vfat' && FAT_NEEDS_KERNEL.test(r.reason)) {
        return withKernelMount(f, async (mnt) => outcome(await renameViaMount(mnt, dir, from, to)));
      }
      return outcome(r);
    },
    async read(f, p, size) {
      const m = mountedAt(f);
      if (m && 'dir' in m) {
        try {
          const b = fs.readFileSync(inside(m.dir, p));
          return b.length === size
            ? { ok: true, bytes: new Uint8Array(b) }
            : { ok: false, reason: `${p} is ${b.length} bytes, not ${size}` };
        } catch (e) {
          return { ok: false, reason: msg(e) };
        }
      }
      const loc = locationOf(f);
      if (typeof loc === 'string') return { ok: false, reason: loc };
      return readForOverwrite(loc, p, size);
    },
    async overwrite(f, p, bytes) {
      const m = mountedAt(f);
      if (m && 'dir' in m) return outcome(await overwriteViaMount(m.dir, p, bytes));
      const loc = locationOf(f);
      if (typeof loc === 'string') return { ok: false, reason: loc };
      return outcome(await overwriteInPlace(loc, p, bytes.length, bytes));
    },
    async create(f, p, bytes) {
      const m = mountedAt(f);
      if (m && 'dir' in m) return createIn(m.dir, p, bytes);
      if (m) return { ok: false, reason: `${m.busy}; not created` };
      return withKernelMount(f, (dir) => createIn(dir, p, bytes));
    },
  };
}
