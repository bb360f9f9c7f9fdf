// Rename one ext2/3/4 directory record in place (docs/writes.md §4): the directory must be a
// plain linear one (no htree index, no inline data); the record keeps its inode, type and place
// and gets the new name_len and name, growing into free space of a later record of its sector
// when it must (docs/writes.md §4.2); the block's metadata_csum tail is recomputed. Only the
// 512-byte sectors whose bytes differ are written.

import { openExtNative } from '../discovery/fs/ext';
import { dirBlockCsum, hasCsumTail, recLenOf } from '../discovery/fs/ext-dir';
import { INODE_FLAG_INDEX, INODE_FLAG_INLINE_DATA } from '../discovery/fs/ext-layout';
import { FsError } from '../discovery/fs/types';
import { readExact } from '../discovery/io/source';
import type { WritableDevice } from './device';
import { writableExtSuper } from './ext-state';
import { SECTOR, changedSectors } from './sectors';
import { Refusal } from './types';

const FLAG_ENCRYPT = 0x800;
const FLAG_CASEFOLD = 0x40000000;
/** A linear directory larger than this is refused (a boot directory holds a few dozen names). */
const MAX_LINEAR_DIR_BYTES = 4 * 1024 * 1024;
const TAIL = 12;

interface Rec {
  readonly block: number;
  readonly off: number;
  readonly recLen: number;
  readonly nameLen: number;
  readonly ino: number;
  readonly name: Buffer;
}

/** Every record of a leaf block, checked strictly: a record the kernel would reject refuses the write. */
function records(b: Buffer, block: number, end: number, hasFiletype: boolean, where: string): Rec[] {
  const out: Rec[] = [];
  let off = 0;
  while (off < end) {
    if (off + 8 > end) throw new Refusal(`${where}: block ${block} ends inside a record header at ${off}`);
    const recLen = recLenOf(b, off, b.length);
    const nameLen = hasFiletype ? b[off + 6]! : b.readUInt16LE(off + 6);
    if (recLen < 12 || recLen % 4 !== 0 || off + recLen > end || 8 + nameLen > recLen)
      throw new Refusal(`${where}: block ${block} has a bad record at ${off} (rec_len ${recLen}, name_len ${nameLen})`);
    out.push({ block, off, recLen, nameLen, ino: b.readUInt32LE(off), name: b.subarray(off + 8, off + 8 + nameLen) });
    off += recLen;
  }
  return out;
}

/** Bytes a record with a name of `n` bytes needs (EXT4_DIR_REC_LEN). */
const recSize = (n: number): number => (8 + n + 3) & ~3;

/**
 * The block with `hit` renamed to `to`. A name that fits the record's rec_len is written in
 * place; a longer one grows the record by taking the room it needs from the first later record
 * in the block that has that much unused space, moving the records in between up (their order
 * and contents unchanged). Refused when no later record has the room.
 */
function renamedBlock(before: Buffer, recs: readonly Rec[], hit: Rec, to: Buffer, filetype: boolean): Buffer {
  const after = Buffer.from(before);
  let recLen = hit.recLen;
  const need = recSize(to.length);
  if (need > recLen) {
    const delta = need - recLen;
    const i = recs.indexOf(hit);
    const j = recs.findIndex((r, k) => k > i && r.recLen - recSize(r.nameLen) >= delta);
    if (j < 0)
      throw new Refusal(
        `'${to.toString()}' needs ${need} bytes where '${hit.name.toString()}' has ${recLen}, and no later record in its block has ${delta} bytes to spare`,
      );
    const moveStart = recs[i + 1]!.off;
    const last = recs[j]!;
    const moveEnd = last.off + recSize(last.nameLen);
    before.copy(after, moveStart + delta, moveStart, moveEnd);
    after.writeUInt16LE(last.recLen - delta, last.off + delta + 4);
    recLen += delta;
    after.writeUInt16LE(recLen, hit.off + 4);
  }
  if (filetype) after[hit.off + 6] = to.length;
  else after.writeUInt16LE(to.length, hit.off + 6);
  to.copy(after, hit.off + 8);
  // No stale bytes of the old name (or of moved records) between the new name and the record's end.
  const oldEnd = need > hit.recLen ? hit.off + recLen : hit.off + Math.min(hit.recLen, recSize(hit.nameLen));
  after.fill(0, hit.off + 8 + to.length, oldEnd);
  return after;
}

/** `before` with the checksum field of `after` (so a comparison sees the records only). */
function withTailOf(before: Buffer, after: Buffer, csum: boolean): Buffer {
  if (!csum) return before;
  const b = Buffer.from(before);
  after.copy(b, b.length - 4, after.length - 4);
  return b;
}

/** Why `name` cannot be an ext name, or undefined. */
function invalidExtName(name: Buffer): string | undefined {
  if (name.length === 0 || name.length > 255) return `${name.length} bytes (1..255 allowed)`;
  if (name.includes(0x2f) || name.includes(0)) return "a '/' or NUL in it";
  const s = name.toString('latin1');
  if (s === '.' || s === '..') return `'${s}' is reserved`;
  return undefined;
}

export async function extRename(
  dev: WritableDevice,
  fsType: string,
  dirPath: string,
  from: string,
  to: string,
): Promise<void> {
  const sb = writableExtSuper(dev.src);
  const { tree, ops } = openExtNative(dev.src, fsType);
  const dir = await tree.resolve(dirPath, true);
  if (dir.node.kind !== 'dir') throw new FsError('ENOTDIR', dirPath);
  const inode = dir.node.inode;
  const where = dir.path;
  if (inode.flags & INODE_FLAG_INDEX)
    throw new Refusal(
      `${where} is an htree-indexed directory (dir_index); an in-place rename would change its hash order`,
    );
  if (inode.flags & INODE_FLAG_INLINE_DATA) throw new Refusal(`${where} keeps its records inline in the inode`);
  if (inode.flags & FLAG_ENCRYPT) throw new Refusal(`${where} is encrypted`);
  if (inode.flags & FLAG_CASEFOLD) throw new Refusal(`${where} is case-insensitive (casefold)`);
  const fromB = Buffer.from(from);
  const toB = Buffer.from(to);
  if (invalidExtName(fromB) !== undefined) throw new Refusal(`'${from}' cannot name a directory entry to rename`);
  const bad = invalidExtName(toB);
  if (bad !== undefined) throw new Refusal(`'${to}' is not a valid ext name: ${bad}`);
  if (sb.blockSize >= 65536) throw new Refusal(`${where}: 64 KiB blocks encode rec_len differently; not written`);
  if (inode.size > MAX_LINEAR_DIR_BYTES)
    throw new Refusal(`${where} is ${inode.size} bytes, more than ${MAX_LINEAR_DIR_BYTES}`);
  const bs = sb.blockSize;
  const runs = ops.layout.mapFile(inode, where);
  const blocks = Math.ceil(inode.size / bs);
  const seed = inode.csumSeed;
  const read: Buffer[] = [];
  const blockRecs: Rec[][] = [];
  let hit: Rec | undefined;
  let clash = false;
  for (let i = 0; i < blocks; i++) {
    const run = runs.find((r) => i * bs >= r.fileOffset && i * bs < r.fileOffset + r.length);
    if (!run || run.diskOffset < 0) throw new Refusal(`${where}: block ${i} of the directory is a hole`);
    const b = readExact(dev.src, run.diskOffset + i * bs - run.fileOffset, bs);
    read.push(b);
    let end = bs;
    if (seed !== null) {
      if (!hasCsumTail(b)) throw new Refusal(`${where}: block ${i} has no checksum tail (metadata_csum needs one)`);
      const want = b.readUInt32LE(bs - 4);
      const got = dirBlockCsum(seed, b);
      if (want !== got) throw new Refusal(`${where}: block ${i} fails its checksum; run e2fsck first`);
      end = bs - TAIL;
    }
    const recs = records(b, i, end, sb.hasFiletype, where);
    blockRecs.push(recs);
    for (const r of recs) {
      if (r.ino === 0) continue;
      if (!hit && r.name.equals(fromB)) hit = r;
      else if (r.name.equals(toB)) clash = true;
    }
  }
  if (!hit) throw new FsError('ENOENT', `${where === '/' ? '' : where}/${from}`);
  if (from === to) return;
  if (clash) throw new Refusal(`'${to}' already exists in ${where}`);
  const before = read[hit.block]!;
  const after = renamedBlock(before, blockRecs[hit.block]!, hit, toB, sb.hasFiletype);
  if (seed !== null) after.writeUInt32LE(dirBlockCsum(seed, after), bs - 4);
  // Atomicity: every byte that changes, but for the checksum, lies in one 512-byte sector.
  const names = changedSectors(0, withTailOf(before, after, seed !== null), after);
  if (names.length > 1 || (names[0] && names[0].length > SECTOR))
    throw new Refusal(
      `renaming '${from}' in ${where} would change ${names.reduce((a, w) => a + w.length, 0) / SECTOR} sectors of block ${hit.block}, not one`,
    );
  const run = runs.find((r) => hit.block * bs >= r.fileOffset && hit.block * bs < r.fileOffset + r.length)!;
  dev.apply(changedSectors(run.diskOffset + hit.block * bs - run.fileOffset, before, after));
  // What a reader opening the volume now sees: the new name for the same inode, the old one gone.
  const check = openExtNative(dev.src, fsType).tree;
  const now = await check.resolve(`${where}/${to}`, false);
  if (now.node.ino !== hit.ino) throw new Refusal(`after the write '${to}' in ${where} is not inode ${hit.ino}`);
  if (
    await check.resolve(`${where}/${from}`, false).then(
      () => true,
      () => false,
    )
  )
    throw new Refusal(`after the write '${from}' is still in ${where}`);
}
