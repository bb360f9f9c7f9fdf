// ext2/3/4 on-disk layout read directly from the ByteSource (the kernel's
// Documentation/filesystems/ext4/ describes it): superblock, group descriptors, inodes, and a
// file's block mapping (extent tree or ext2/3 block map) turned into runs of contiguous bytes,
// read with one readAt per extent. With metadata_csum, inodes and extent blocks are checked
// against their CRC32C as the kernel checks them: a block that fails is an error of that one
// file, never data.

import { u16le, u32le } from '../../util/bytes';
import type { ByteSource } from '../io/source';
import { readExact } from '../io/source';
import { crc32cUpdate } from '../probe/crc32c';
import { FsError } from './types';
import type { Run } from './walk';

const INCOMPAT_COMPRESSION = 0x1;
const INCOMPAT_FILETYPE = 0x2;
const INCOMPAT_RECOVER = 0x4;
const INCOMPAT_JOURNAL_DEV = 0x8;
const INCOMPAT_META_BG = 0x10;
const INCOMPAT_64BIT = 0x80;
const INCOMPAT_DIRDATA = 0x1000;
const INCOMPAT_CSUM_SEED = 0x2000;
const RO_COMPAT_SPARSE_SUPER = 0x1;
const RO_COMPAT_METADATA_CSUM = 0x400;
const COMPAT_SPARSE_SUPER2 = 0x200;
const EXT4_OS_LINUX = 0;
const GOOD_OLD_INODE_SIZE = 128;

export const INODE_FLAG_INDEX = 0x1000;
export const INODE_FLAG_EXTENTS = 0x80000;
export const INODE_FLAG_INLINE_DATA = 0x10000000;

/** Most extents/blocks we map for one file; beyond that the caller falls back or refuses. */
const MAX_MAPPED_RUNS = 200_000;
const MAX_EXTENT_DEPTH = 5;
/** Bounds the work of mapping one (possibly corrupt) file: tree nodes and map entries read. */
const MAX_MAP_NODES = 20_000;
const MAX_MAP_ENTRIES = 16 * 1024 * 1024;

export interface ExtSuper {
  readonly blockSize: number;
  readonly blocksCount: number;
  readonly inodesCount: number;
  readonly firstDataBlock: number;
  readonly blocksPerGroup: number;
  readonly inodesPerGroup: number;
  readonly inodeSize: number;
  readonly descSize: number;
  readonly groupCount: number;
  readonly incompat: number;
  readonly roCompat: number;
  readonly compat: number;
  readonly firstMetaBg: number;
  readonly backupBgs: readonly [number, number];
  readonly hasFiletype: boolean;
  /** The journal needs recovery: data may be stale (we do not replay it). */
  readonly needsRecovery: boolean;
  readonly label: string;
  /** metadata_csum on a Linux-made volume: the CRC32C seed of the filesystem, else null (nothing to check). */
  readonly csumSeed: number | null;
}

function le32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

/** Parse and validate the primary superblock (bytes 1024..2047 of the volume). */
export function parseSuper(sb: Uint8Array, volumeSize: number, name: string): ExtSuper {
  const bad = (why: string): FsError => new FsError('EINVAL', name, `not a valid ext2/3/4 filesystem: ${why}`);
  if (sb.length < 1024) throw bad('superblock too short');
  if (u16le(sb, 56) !== 0xef53) throw bad('bad magic number in superblock (EXT2_ET_BAD_MAGIC)');
  const logBs = u32le(sb, 24);
  if (logBs > 6) throw bad(`block size 1024<<${logBs}`);
  const blockSize = 1024 << logBs;
  const incompat = u32le(sb, 96);
  const roCompat = u32le(sb, 100);
  const compat = u32le(sb, 92);
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const blocksCount = u32le(sb, 4) + (is64 ? u32le(sb, 0x150) * 0x100000000 : 0);
  const inodesCount = u32le(sb, 0);
  const firstDataBlock = u32le(sb, 20);
  const blocksPerGroup = u32le(sb, 32);
  const inodesPerGroup = u32le(sb, 40);
  const rev = u32le(sb, 76);
  const inodeSize = rev === 0 ? 128 : u16le(sb, 88);
  const descSize = is64 ? u16le(sb, 254) : 32;
  if (incompat & INCOMPAT_JOURNAL_DEV) throw bad('this is an external journal device');
  if (incompat & (INCOMPAT_COMPRESSION | INCOMPAT_DIRDATA))
    throw bad(`unsupported incompat features 0x${incompat.toString(16)}`);
  if (blocksCount === 0 || !Number.isSafeInteger(blocksCount)) throw bad(`blocks count ${blocksCount}`);
  if (blocksPerGroup < 8 || blocksPerGroup > blockSize * 8) throw bad(`blocks per group ${blocksPerGroup}`);
  if (inodesPerGroup === 0 || inodesPerGroup > blockSize * 8) throw bad(`inodes per group ${inodesPerGroup}`);
  if (inodeSize < 128 || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0)
    throw bad(`inode size ${inodeSize}`);
  if (is64 ? descSize < 64 || descSize > 1024 || (descSize & (descSize - 1)) !== 0 : false)
    throw bad(`descriptor size ${descSize}`);
  if (firstDataBlock >= blocksCount || firstDataBlock > 1) throw bad(`first data block ${firstDataBlock}`);
  const groupCount = Math.ceil((blocksCount - firstDataBlock) / blocksPerGroup);
  if (inodesCount === 0 || inodesCount > groupCount * inodesPerGroup) throw bad(`inodes count ${inodesCount}`);
  // A filesystem much larger than its device is corrupt (or the wrong partition).
  if (blocksCount * blockSize > volumeSize + blockSize * blocksPerGroup) {
    throw bad(`${blocksCount} blocks of ${blockSize} bytes do not fit the ${volumeSize}-byte device`);
  }
  const label = Buffer.from(sb.subarray(120, 136)).toString('utf8').replace(/\0.*$/s, '');
  // The kernel checks checksums only of volumes a Linux system made (s_creator_os 0).
  const csummed = (roCompat & RO_COMPAT_METADATA_CSUM) !== 0 && u32le(sb, 72) === EXT4_OS_LINUX;
  const csumSeed = !csummed
    ? null
    : incompat & INCOMPAT_CSUM_SEED
      ? u32le(sb, 0x270)
      : crc32cUpdate(0xffffffff, sb.subarray(0x68, 0x78));
  return {
    blockSize,
    blocksCount,
    inodesCount,
    firstDataBlock,
    blocksPerGroup,
    inodesPerGroup,
    inodeSize,
    descSize,
    groupCount,
    incompat,
    roCompat,
    compat,
    firstMetaBg: u32le(sb, 260),
    backupBgs: [u32le(sb, 0x24c), u32le(sb, 0x250)],
    hasFiletype: (incompat & INCOMPAT_FILETYPE) !== 0,
    needsRecovery: (incompat & INCOMPAT_RECOVER) !== 0,
    label,
    csumSeed,
  };
}

export interface ExtInode {
  readonly ino: number;
  readonly mode: number;
  readonly size: number;
  readonly flags: number;
  readonly mtimeMs: number;
  readonly linksCount: number;
  /** The 60-byte i_block area: extent root, block map, fast symlink or inline data. */
  readonly iBlock: Uint8Array;
  /** Seed of this inode's extent and directory block checksums (metadata_csum), else null. */
  readonly csumSeed: number | null;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/**
 * The kernel's ext4_inode_csum_verify: CRC32C over the inode with its checksum fields as
 * zeros, seeded with the filesystem seed, the inode number and its generation; only the low
 * 16 bits count when the inode has no room for the high half.
 */
function checkInodeCsum(raw: Buffer, ino: number, seed: number, path: string): void {
  const zero = new Uint8Array(2);
  let c = crc32cUpdate(seed, raw.subarray(0, 0x7c));
  c = crc32cUpdate(c, zero);
  c = crc32cUpdate(c, raw.subarray(0x7e, GOOD_OLD_INODE_SIZE));
  let want = u16le(raw, 0x7c);
  let full = false;
  if (raw.length > GOOD_OLD_INODE_SIZE) {
    const extra = u16le(raw, 0x80);
    if (extra % 4 !== 0 || GOOD_OLD_INODE_SIZE + extra > raw.length)
      throw new FsError('EIO', path, `inode ${ino} has a bad extra size ${extra}`);
    c = crc32cUpdate(c, raw.subarray(GOOD_OLD_INODE_SIZE, 0x82));
    let offset = 0x82;
    if (GOOD_OLD_INODE_SIZE + extra >= 0x84) {
      c = crc32cUpdate(c, zero);
      offset = 0x84;
      want += u16le(raw, 0x82) * 0x10000;
      full = true;
    }
    c = crc32cUpdate(c, raw.subarray(offset));
  }
  const got = full ? c >>> 0 : c & 0xffff;
  if (got !== want)
    throw new FsError('EIO', path, `inode ${ino} checksum mismatch (stored ${hex(want)}, computed ${hex(got)})`);
}

function isPowerOf(n: number, b: number): boolean {
  while (n > 1 && n % b === 0) n /= b;
  return n === 1;
}

/** Reads inodes and maps file blocks for one mounted volume. */
export class ExtLayout {
  private readonly descCache = new Map<number, Buffer>();

  constructor(
    readonly src: ByteSource,
    readonly sb: ExtSuper,
  ) {}

  private groupHasSuper(g: number): boolean {
    if (g === 0) return true;
    if (this.sb.compat & COMPAT_SPARSE_SUPER2) return g === this.sb.backupBgs[0] || g === this.sb.backupBgs[1];
    if (!(this.sb.roCompat & RO_COMPAT_SPARSE_SUPER)) return true;
    return g === 1 || isPowerOf(g, 3) || isPowerOf(g, 5) || isPowerOf(g, 7);
  }

  /** Block number holding the descriptor of group `g` (classic layout or meta_bg). */
  private descBlock(g: number): number {
    const { blockSize, descSize, firstDataBlock, blocksPerGroup, firstMetaBg } = this.sb;
    const perBlock = blockSize / descSize;
    const metaGroup = Math.floor(g / perBlock);
    if (!(this.sb.incompat & INCOMPAT_META_BG) || metaGroup < firstMetaBg) return firstDataBlock + 1 + metaGroup;
    const first = metaGroup * perBlock;
    return firstDataBlock + first * blocksPerGroup + (this.groupHasSuper(first) ? 1 : 0);
  }

  private inodeTable(g: number, path: string): number {
    const { blockSize, descSize } = this.sb;
    const blk = this.descBlock(g);
    let buf = this.descCache.get(blk);
    if (!buf) {
      if (blk >= this.sb.blocksCount)
        throw new FsError('EIO', path, `descriptor of group ${g} at block ${blk}, beyond the filesystem`);
      buf = this.readBlocks(blk, 1, path);
      if (this.descCache.size > 256) this.descCache.clear();
      this.descCache.set(blk, buf);
    }
    const off = (g % (blockSize / descSize)) * descSize;
    const lo = u32le(buf, off + 8);
    const hi = descSize >= 64 ? u32le(buf, off + 0x28) : 0;
    const table = lo + hi * 0x100000000;
    const tableBlocks = Math.ceil((this.sb.inodesPerGroup * this.sb.inodeSize) / blockSize);
    if (table === 0) throw new FsError('EIO', path, `group ${g} descriptor has no inode table (block 0)`);
    if (table + tableBlocks > this.sb.blocksCount)
      throw new FsError(
        'EIO',
        path,
        `inode table of group ${g} at block ${table} (${tableBlocks} blocks) lies beyond the filesystem's ${this.sb.blocksCount} blocks`,
      );
    return table;
  }

  readBlocks(block: number, count: number, path: string): Buffer {
    if (block < 0 || block + count > this.sb.blocksCount) {
      throw new FsError('EIO', path, `block ${block}+${count} outside the filesystem (${this.sb.blocksCount} blocks)`);
    }
    return readExact(this.src, block * this.sb.blockSize, count * this.sb.blockSize);
  }

  /** Read and check inode `ino` (its CRC32C with metadata_csum). Throws FsError EIO naming the inode. */
  readInode(ino: number, path: string): ExtInode {
    const { inodesPerGroup, inodeSize, blockSize, inodesCount } = this.sb;
    if (!Number.isSafeInteger(ino) || ino < 1 || ino > inodesCount)
      throw new FsError('EIO', path, `inode number ${ino} out of range (the filesystem has inodes 1..${inodesCount})`);
    const g = Math.floor((ino - 1) / inodesPerGroup);
    const idx = (ino - 1) % inodesPerGroup;
    const table = this.inodeTable(g, path);
    const byteOff = idx * inodeSize;
    const block = table + Math.floor(byteOff / blockSize);
    const raw = readExact(this.src, block * blockSize + (byteOff % blockSize), inodeSize);
    const mode = u16le(raw, 0);
    const size = u32le(raw, 4) + u32le(raw, 108) * 0x100000000;
    if (!Number.isSafeInteger(size)) throw new FsError('EIO', path, `inode ${ino} size too large`);
    let csumSeed: number | null = null;
    if (this.sb.csumSeed !== null) {
      csumSeed = crc32cUpdate(crc32cUpdate(this.sb.csumSeed, le32(ino)), raw.subarray(0x64, 0x68));
      checkInodeCsum(raw, ino, csumSeed, path);
    }
    return {
      ino,
      mode,
      size,
      flags: u32le(raw, 0x20),
      mtimeMs: u32le(raw, 0x10) * 1000,
      linksCount: u16le(raw, 0x1a),
      iBlock: raw.subarray(0x28, 0x28 + 60),
      csumSeed,
    };
  }

  /**
   * Map a file's bytes to runs (holes and unwritten extents as diskOffset -1), covering
   * exactly [0, size). Throws FsError for inline data and for corrupt or huge mappings.
   */
  mapFile(inode: ExtInode, path: string, maxBytes = inode.size): Run[] {
    if (inode.flags & INODE_FLAG_INLINE_DATA) throw new FsError('EIO', path, 'inline data is not mapped');
    const bs = this.sb.blockSize;
    const mapped = Math.min(inode.size, maxBytes);
    const nBlocks = Math.ceil(mapped / bs);
    const pieces: Array<[number, number, number]> = []; // [logical block, physical block or -1, count]
    const budget = { nodes: 0 };
    if (inode.flags & INODE_FLAG_EXTENTS) this.walkExtents(inode, inode.iBlock, nBlocks, pieces, path, -1, budget);
    else this.walkBlockMap(inode.iBlock, nBlocks, pieces, path);
    pieces.sort((a, b) => a[0] - b[0]);
    const runs: Run[] = [];
    let next = 0; // next logical block to cover
    const push = (logical: number, phys: number, count: number): void => {
      const fileOffset = logical * bs;
      const length = Math.min(count * bs, mapped - fileOffset);
      if (length <= 0) return;
      const prev = runs[runs.length - 1];
      if (
        prev &&
        prev.diskOffset >= 0 &&
        phys >= 0 &&
        prev.diskOffset + prev.length === phys * bs &&
        prev.fileOffset + prev.length === fileOffset
      ) {
        runs[runs.length - 1] = {
          fileOffset: prev.fileOffset,
          diskOffset: prev.diskOffset,
          length: prev.length + length,
        };
      } else if (prev && prev.diskOffset < 0 && phys < 0) {
        runs[runs.length - 1] = { fileOffset: prev.fileOffset, diskOffset: -1, length: prev.length + length };
      } else {
        runs.push({ fileOffset, diskOffset: phys < 0 ? -1 : phys * bs, length });
      }
      if (runs.length > MAX_MAPPED_RUNS) throw new FsError('EFBIG', path, `more than ${MAX_MAPPED_RUNS} extents`);
    };
    for (const [logical, phys, count] of pieces) {
      if (logical >= nBlocks) break;
      if (logical < next) throw new FsError('EIO', path, `overlapping extents at block ${logical}`);
      if (logical > next) push(next, -1, logical - next);
      const c = Math.min(count, nBlocks - logical);
      if (phys >= 0 && phys + c > this.sb.blocksCount)
        throw new FsError('EIO', path, `extent ${phys}+${c} outside the filesystem`);
      push(logical, phys, c);
      next = logical + c;
    }
    if (next < nBlocks) push(next, -1, nBlocks - next);
    return runs;
  }

  /**
   * One node of an extent tree: the root in i_block (`expectDepth` -1: any depth up to the
   * limit) or a block, whose header must say one level less than its parent (as the kernel's
   * ext4_ext_check demands: an index block that points at itself or above is corrupt) and
   * whose tail must hold its CRC32C with metadata_csum.
   */
  private walkExtents(
    inode: ExtInode,
    node: Uint8Array,
    nBlocks: number,
    out: Array<[number, number, number]>,
    path: string,
    expectDepth: number,
    budget: { nodes: number },
    block?: number,
  ): void {
    if (++budget.nodes > MAX_MAP_NODES)
      throw new FsError('EFBIG', path, `extent tree larger than ${MAX_MAP_NODES} nodes`);
    const where = block === undefined ? `inode ${inode.ino}'s extent root` : `extent block ${block}`;
    if (u16le(node, 0) !== 0xf30a) throw new FsError('EIO', path, `bad extent header magic in ${where}`);
    const entries = u16le(node, 2);
    const max = u16le(node, 4);
    const depth = u16le(node, 6);
    if (entries > max || 12 + max * 12 > node.length)
      throw new FsError('EIO', path, `${where} holds ${entries} of at most ${max} entries, more than fit`);
    if (expectDepth < 0 ? depth > MAX_EXTENT_DEPTH : depth !== expectDepth)
      throw new FsError(
        'EIO',
        path,
        expectDepth < 0
          ? `extent tree depth ${depth} (at most ${MAX_EXTENT_DEPTH})`
          : `${where} says depth ${depth} where its parent index needs ${expectDepth} (a loop or a misplaced block)`,
      );
    if (block !== undefined && inode.csumSeed !== null) {
      const tail = 12 + max * 12;
      if (tail + 4 > node.length) throw new FsError('EIO', path, `${where} has no room for its checksum`);
      const want = u32le(node, tail);
      const got = crc32cUpdate(inode.csumSeed, node.subarray(0, tail));
      if (want !== got)
        throw new FsError('EIO', path, `${where} checksum mismatch (stored ${hex(want)}, computed ${hex(got)})`);
    }
    for (let i = 0; i < entries; i++) {
      const e = 12 + i * 12;
      const logical = u32le(node, e);
      if (logical >= nBlocks) break;
      if (depth === 0) {
        let len = u16le(node, e + 4);
        const unwritten = len > 32768;
        if (unwritten) len -= 32768;
        const phys = u32le(node, e + 8) + u16le(node, e + 6) * 0x100000000;
        out.push([logical, unwritten ? -1 : phys, len]);
      } else {
        const child = u32le(node, e + 4) + u16le(node, e + 8) * 0x100000000;
        const data = this.readBlocks(child, 1, path);
        this.walkExtents(inode, data, nBlocks, out, path, depth - 1, budget, child);
      }
      if (out.length > MAX_MAPPED_RUNS) throw new FsError('EFBIG', path, `more than ${MAX_MAPPED_RUNS} extents`);
    }
  }

  /** ext2/3: 12 direct blocks, then single, double and triple indirect blocks. */
  private walkBlockMap(iBlock: Uint8Array, nBlocks: number, out: Array<[number, number, number]>, path: string): void {
    const per = this.sb.blockSize / 4;
    let logical = 0;
    let work = 0;
    const emit = (phys: number): void => {
      if (++work > MAX_MAP_ENTRIES)
        throw new FsError('EFBIG', path, `block map larger than ${MAX_MAP_ENTRIES} entries`);
      const last = out[out.length - 1];
      if (phys !== 0) {
        if (last && last[1] >= 0 && last[0] + last[2] === logical && last[1] + last[2] === phys) last[2]++;
        else out.push([logical, phys, 1]);
      }
      logical++;
      if (out.length > MAX_MAPPED_RUNS) throw new FsError('EFBIG', path, `more than ${MAX_MAPPED_RUNS} runs`);
    };
    const indirect = (blk: number, level: number): void => {
      const span = per ** level;
      if (blk === 0) {
        logical += span; // a hole covering the whole subtree
        return;
      }
      if (++work > MAX_MAP_ENTRIES) throw new FsError('EFBIG', path, 'block map too large');
      const data = this.readBlocks(blk, 1, path);
      for (let i = 0; i < per && logical < nBlocks; i++) {
        const child = u32le(data, i * 4);
        if (level === 1) emit(child);
        else indirect(child, level - 1);
      }
    };
    for (let i = 0; i < 12 && logical < nBlocks; i++) emit(u32le(iBlock, i * 4));
    for (let level = 1; level <= 3 && logical < nBlocks; level++) indirect(u32le(iBlock, (11 + level) * 4), level);
  }
}
