// Is a filesystem mounted? (docs/writes.md §5) The kernel names mounts by the major:minor of
// their block device in /proc/self/mountinfo (proc(5)); the bytes we would write can be reached
// through the device itself, one of its partitions, or a loop device over an image file, so each
// of those that covers the filesystem's byte range is looked up.

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface MountEntry {
  readonly majMin: string;
  /** The directory of the filesystem that is mounted ('/' unless a bind mount of a subtree). */
  readonly root: string;
  readonly dir: string;
  readonly fsType: string;
}

/** Octal escapes of mountinfo (\040 space, \011 tab, \012 newline, \134 backslash). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parse mountinfo text; malformed lines are skipped. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (f.length < 10 || sep < 0 || !/^\d+:\d+$/.test(f[2] ?? '')) continue;
    out.push({ majMin: f[2]!, root: unescape(f[3]!), dir: unescape(f[4]!), fsType: f[sep + 1] ?? '' });
  }
  return out;
}

function readMountinfo(): MountEntry[] {
  return parseMountinfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** A block device that shows bytes [start, start + size) of the device or image asked about. */
interface Holder {
  readonly name: string;
  readonly majMin: string;
  readonly start: number;
  readonly size: number;
}

function sysRead(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function sysNumber(p: string): number {
  const n = Number(sysRead(p));
  return Number.isSafeInteger(n) ? n : 0;
}

/** A block device `name` at `start` in the bytes asked about, and its partitions (sysfs `start` and `size`, in 512-byte units). */
function withPartitions(name: string, start: number): Holder[] {
  const dir = `/sys/class/block/${name}`;
  const majMin = sysRead(`${dir}/dev`);
  if (majMin === undefined) return [];
  const out: Holder[] = [{ name, majMin, start, size: sysNumber(`${dir}/size`) * 512 }];
  let children: string[] = [];
  try {
    children = fs.readdirSync(dir);
  } catch {
    /* no partitions */
  }
  for (const c of children) {
    if (!c.startsWith(name) || sysRead(`${dir}/${c}/partition`) === undefined) continue;
    const mm = sysRead(`${dir}/${c}/dev`);
    if (mm === undefined) continue;
    out.push({
      name: c,
      majMin: mm,
      start: start + sysNumber(`${dir}/${c}/start`) * 512,
      size: sysNumber(`${dir}/${c}/size`) * 512,
    });
  }
  return out;
}

/** Every block device through which bytes of `device` can be reached. */
function holdersOf(device: string): Holder[] {
  let real: string;
  let st: fs.Stats;
  try {
    real = fs.realpathSync(device);
    st = fs.statSync(real);
  } catch {
    return [];
  }
  if (st.isBlockDevice()) return withPartitions(path.basename(real), 0);
  if (!st.isFile()) return [];
  // An image file: the loop devices whose backing file it is (losetup(8) reads the same files).
  const out: Holder[] = [];
  let loops: string[] = [];
  try {
    loops = fs.readdirSync('/sys/block').filter((n) => n.startsWith('loop'));
  } catch {
    return [];
  }
  for (const l of loops) {
    const backing = sysRead(`/sys/block/${l}/loop/backing_file`);
    if (backing === undefined) continue;
    let same = backing === real;
    if (!same) {
      try {
        const b = fs.statSync(backing);
        same = b.ino === st.ino && b.dev === st.dev;
      } catch {
        /* a deleted or unreachable backing file is not ours */
      }
    }
    if (same) out.push(...withPartitions(l, sysNumber(`/sys/block/${l}/loop/offset`)));
  }
  return out;
}

export interface MountFound {
  /** The mount directory when exactly this filesystem is mounted at the root of its tree. */
  readonly dir?: string;
  /** What is mounted, for the refusal message. */
  readonly what: string;
}

/** The mount (if any) of a block device showing bytes of [offset, offset + size) of `device`. */
export function mountOver(
  device: string,
  offset: number,
  size: number,
  mounts = readMountinfo(),
): MountFound | undefined {
  let found: MountFound | undefined;
  for (const h of holdersOf(device)) {
    const overlaps = h.start < offset + size && offset < h.start + (h.size || Infinity);
    if (!overlaps) continue;
    for (const m of mounts) {
      if (m.majMin !== h.majMin) continue;
      const what = `/dev/${h.name} (${h.majMin}) is mounted at ${m.dir} (${m.fsType})`;
      if (h.start === offset && m.root === '/') return { dir: m.dir, what };
      found ??= { what: m.root === '/' ? what : `${what}, a bind mount of ${m.root}` };
    }
  }
  return found;
}

/**
 * The block device node whose bytes start at `offset` of `device`: a disk's partition, the disk
 * itself at 0, or a loop device (or its partition) over an image file. Undefined when there is none.
 */
export function blockDeviceAt(device: string, offset: number): string | undefined {
  const h = holdersOf(device).find((x) => x.start === offset);
  return h !== undefined && fs.existsSync(`/dev/${h.name}`) ? `/dev/${h.name}` : undefined;
}

/** Where `device` (a block device, or an image file through a loop device) is mounted; undefined when it is not. */
export function mountPointOf(device: string): string | undefined {
  return mountOver(device, 0, 1)?.dir;
}
