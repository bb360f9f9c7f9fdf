// Rename one FAT directory entry in place (docs/writes.md §3): rewrite its long-name slots,
// same number of slots, same 8.3 alias (so the slots' checksum still matches), the whole run in
// one logical sector, so the change is one sector write.

import { openFatTree } from '../discovery/fs/fat';
import { LFN_OFFSETS, lfnChecksum, parseDirEntries, shortName } from '../discovery/fs/fat-dir';
import { FsError } from '../discovery/fs/types';
import { type Run, foldCase, readRuns } from '../discovery/fs/walk';
import type { WritableDevice } from './device';
import { encodeLongName, invalidLongName, slotsFor } from './fat-lfn';
import { changedSectors } from './sectors';
import { Refusal } from './types';

const MAX_DIR_ENTRIES = 65536;
const ATTR_LFN = 0x0f;
const ATTR_VOLUME = 0x08;

/** The long-name slots right before the 8.3 record at `slot`, checked as strictly as Linux: their count. */
function lfnRun(data: Uint8Array, slot: number, where: string): number {
  const sum = lfnChecksum(data.subarray(slot * 32, slot * 32 + 32));
  for (let k = 1; k <= 20 && slot - k >= 0; k++) {
    const e = data.subarray((slot - k) * 32, (slot - k + 1) * 32);
    const ord = e[0]!;
    if ((e[11]! & 0x3f) !== ATTR_LFN || ord === 0xe5 || (ord & 0x1f) !== k || e[13] !== sum) break;
    if (ord & 0x40) return k;
  }
  throw new Refusal(`${where} has no intact long-name slots before its 8.3 entry; it cannot be renamed in place`);
}

function longNameOf(data: Uint8Array, slot: number, k: number): string {
  const units: number[] = [];
  for (let j = slot - 1; j >= slot - k; j--)
    for (const o of LFN_OFFSETS) units.push(data[j * 32 + o]! | (data[j * 32 + o + 1]! << 8));
  const end = units.indexOf(0);
  return String.fromCharCode(...(end >= 0 ? units.slice(0, end) : units));
}

/** Names of the 8.3 records in use (volume label excluded), for the collision check. */
function shortNames(data: Uint8Array, except: number): string[] {
  const out: string[] = [];
  for (let s = 0; s * 32 + 32 <= data.length; s++) {
    const ord = data[s * 32]!;
    if (ord === 0) break;
    const attr = data[s * 32 + 11]!;
    if (ord === 0xe5 || s === except || (attr & 0x3f) === ATTR_LFN || attr & ATTR_VOLUME) continue;
    out.push(shortName(data.subarray(s * 32, s * 32 + 32)));
  }
  return out;
}

/** A free record: deleted, or the end marker when every record after it is free too. */
function freeSlot(data: Uint8Array, s: number): boolean {
  const ord = data[s * 32];
  if (ord === 0xe5) return true;
  if (ord !== 0) return false;
  const next = data[(s + 1) * 32];
  return next === undefined || next === 0;
}

/**
 * The directory sector (at directory byte `base`) with the run of `k` slots from byte `first`
 * (ending in the 8.3 record at `slot`) given the long-name slots `lfn`. The same number of slots
 * is a rewrite; fewer leaves the first ones marked deleted; one more takes the first free record
 * later in the sector and moves the records in between along by one, in order. Everything stays in
 * the one sector, or it is refused.
 */
function renamedSector(
  data: Uint8Array,
  before: Uint8Array,
  base: number,
  first: number,
  slot: number,
  k: number,
  lfn: Uint8Array,
  where: string,
): Uint8Array {
  const after = Uint8Array.from(before);
  const n = lfn.length / 32;
  const at = first - base;
  if (n <= k) {
    for (let i = 0; i < k - n; i++) after[at + i * 32] = 0xe5;
    after.set(lfn, at + (k - n) * 32);
    return after;
  }
  const lastInSector = Math.floor((base + before.length) / 32) - 1;
  let free = slot + 1;
  while (free <= lastInSector && !freeSlot(data, free)) free++;
  if (free > lastInSector)
    throw new Refusal(
      `${where}: the new name needs one more long-name slot and no free record follows it in its sector`,
    );
  // Records slot+1 .. free-1 move along by one; the 8.3 record follows the new slots.
  after.set(before.subarray(slot * 32 + 32 - base, free * 32 - base), slot * 32 + 64 - base);
  after.set(before.subarray(slot * 32 - base, slot * 32 + 32 - base), slot * 32 + 32 - base);
  after.set(lfn, at);
  return after;
}

/** Device offset (in the filesystem) of directory byte `pos`. */
function diskOffsetOf(runs: readonly Run[], pos: number, where: string): number {
  for (const r of runs)
    if (pos >= r.fileOffset && pos < r.fileOffset + r.length) return r.diskOffset + pos - r.fileOffset;
  throw new FsError('EIO', where, `directory byte ${pos} is not mapped`);
}

export async function fatRename(dev: WritableDevice, dirPath: string, from: string, to: string): Promise<void> {
  const { tree, ops } = openFatTree(dev.src);
  const dir = await tree.resolve(dirPath, true);
  if (dir.node.kind !== 'dir') throw new FsError('ENOTDIR', dirPath);
  const runs = ops.dirRuns(dir.node, dirPath);
  const data = readRuns(
    dev.src,
    runs,
    0,
    runs.reduce((a, r) => a + r.length, 0),
    dirPath,
  );
  const entries = parseDirEntries(data, MAX_DIR_ENTRIES);
  const hit = entries.find((e) => e.name === from) ?? entries.find((e) => foldCase(e.name) === foldCase(from));
  const where = `${dir.path === '/' ? '' : dir.path}/${from}`;
  if (!hit) throw new FsError('ENOENT', where);
  const bad = invalidLongName(to);
  if (bad !== undefined) throw new Refusal(`'${to}' is not a valid FAT long name: ${bad}`);
  const k = lfnRun(data, hit.slot, where);
  if (longNameOf(data, hit.slot, k) !== hit.name)
    throw new Refusal(`${where}: its long-name slots do not spell the name the directory shows`);
  if (to === hit.name) return;
  const n = slotsFor(to);
  if (n > k + 1)
    throw new Refusal(
      `'${to}' needs ${n} long-name slot(s) where '${hit.name}' has ${k}; in place a name may grow by one slot at most`,
    );
  const folded = foldCase(to);
  const clash =
    entries.find((e) => e !== hit && foldCase(e.name) === folded)?.name ??
    shortNames(data, hit.slot).find((n) => foldCase(n) === folded);
  if (clash !== undefined)
    throw new Refusal(`'${to}' would collide with '${clash}' in ${dir.path} (FAT names ignore case)`);
  const bps = ops.geo.bytesPerSector;
  const first = (hit.slot - k) * 32;
  const end = (hit.slot + 1) * 32;
  const sector = Math.floor(first / bps);
  if (Math.floor((end - 1) / bps) !== sector)
    throw new Refusal(
      `${where}: its ${k} long-name slot(s) and 8.3 entry span two ${bps}-byte sectors, so no single sector write can rename it`,
    );
  const sum = lfnChecksum(data.subarray(hit.slot * 32, hit.slot * 32 + 32));
  const before = data.slice(sector * bps, (sector + 1) * bps);
  const after = renamedSector(data, before, sector * bps, first, hit.slot, k, encodeLongName(to, sum), where);
  dev.apply(changedSectors(diskOffsetOf(runs, sector * bps, where), before, after));
  // What a reader opening the volume now sees: the new name, the same entry.
  const check = openFatTree(dev.src).tree;
  const now = await check.resolve(`${dir.path}/${to}`, false);
  if (now.path.split('/').pop() !== to || now.node.size !== (hit.dir ? 0 : hit.size))
    throw new Refusal(`${where}: after the write the volume does not show '${to}' as the same entry`);
  if (
    foldCase(from) !== folded &&
    (await check.resolve(where, false).then(
      () => true,
      () => false,
    ))
  )
    throw new Refusal(`${where}: after the write the old name is still there`);
}
