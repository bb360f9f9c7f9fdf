// One ext directory read lazily, block by block, as the kernel's linear readdir does (the
// layout is the kernel's Documentation/filesystems/ext4/directory.rst): a listing of k names
// or a lookup of a name near the start reads only the blocks up to there, and every name
// parsed is indexed, so later lookups in the same directory are map hits. htree index blocks
// hold no names (their first record spans the block) and are passed over, so a linear scan
// sees every name of an indexed directory too.
//
// One bad record hides only itself: a leaf block whose checksum fails (metadata_csum) keeps
// its names, marked with the reason, so each of them fails alone when used and the names in
// the other blocks still work; a record whose length is impossible ends its block, as it
// ends the kernel's parse of it.

import { u16le, u32le, u8 } from '../../util/bytes';
import { crc32cUpdate } from '../probe/crc32c';
import { type ExtInode, type ExtLayout, INODE_FLAG_INDEX, INODE_FLAG_INLINE_DATA } from './ext-layout';
import { FsError } from './types';
import { type Run, readRuns } from './walk';

/** The most names one directory may hold; a listing or lookup past them is EFBIG. */
export const MAX_DIR_ENTRIES = 100_000;
/** The most directory bytes read (32 MiB: 100,000 names of 255 bytes fit). */
export const MAX_DIR_BYTES = 32 * 1024 * 1024;

/** A directory record: name, inode number, file type byte; `bad` says why it cannot be used. */
export interface ExtDirent {
  readonly name: string;
  readonly ino: number;
  readonly fileType: number;
  readonly bad?: string;
}

const FT_DIR_CSUM = 0xde;
const TAIL = 12;
const utf8 = new TextDecoder('utf-8');

/** rec_len as stored; 64 KiB blocks encode the full block as 0 or 65535. */
export function recLenOf(b: Uint8Array, off: number, blockSize: number): number {
  const len = u16le(b, off + 4);
  if (blockSize < 65536) return len;
  if (len === 65535 || len === 0) return blockSize;
  return (len & 65532) | ((len & 3) << 16);
}

/**
 * Parse the records of one block (or of inline data) into `out`, skipping '.', '..', unused
 * records and names no path could reach; stops at the first record whose length is impossible.
 */
export function parseDirBlock(
  b: Uint8Array,
  hasFiletype: boolean,
  blockSize: number,
  out: ExtDirent[],
  bad?: string,
): void {
  let off = 0;
  while (off + 8 <= b.length) {
    const ino = u32le(b, off);
    const recLen = recLenOf(b, off, blockSize);
    const nameLen = hasFiletype ? u8(b, off + 6) : u16le(b, off + 6);
    if (recLen < 8 || recLen % 4 !== 0 || off + recLen > b.length || 8 + nameLen > recLen) return;
    if (ino !== 0 && nameLen > 0) {
      const name = utf8.decode(b.subarray(off + 8, off + 8 + nameLen));
      const fileType = hasFiletype ? u8(b, off + 7) : 0;
      if (name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0'))
        out.push(bad === undefined ? { name, ino, fileType } : { name, ino, fileType, bad });
    }
    off += recLen;
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** metadata_csum: the block ends in the 12-byte checksum record (ext4_dir_entry_tail). */
export function hasCsumTail(b: Uint8Array): boolean {
  const t = b.length - TAIL;
  return u32le(b, t) === 0 && u16le(b, t + 4) === TAIL && u8(b, t + 6) === 0 && u8(b, t + 7) === FT_DIR_CSUM;
}

/** The CRC32C a leaf block's tail must hold: over the block up to the tail, seeded per inode. */
export function dirBlockCsum(inodeSeed: number, b: Uint8Array): number {
  return crc32cUpdate(inodeSeed, b.subarray(0, b.length - TAIL));
}

export class ExtDir {
  /** Names parsed so far, in on-disk order (first of each name only). */
  readonly names: ExtDirent[] = [];
  private readonly byName = new Map<string, ExtDirent>();
  private readonly runs: Run[] | null;
  private readonly blocks: number;
  private next = 0;
  /** Set once names exist past what we read: why a listing or lookup cannot be complete. */
  private overflow: string | null = null;
  /** Directory blocks read so far (tests and the bench count them). */
  blocksRead = 0;

  constructor(
    private readonly layout: ExtLayout,
    private readonly inode: ExtInode,
    private readonly path: string,
  ) {
    const { blockSize, hasFiletype } = layout.sb;
    if (inode.flags & INODE_FLAG_INLINE_DATA) {
      // Inline directory: the parent's inode number, then records, all inside i_block.
      if (inode.size > 60) throw new FsError('EIO', path, 'inline data beyond i_block is not supported');
      const raw: ExtDirent[] = [];
      parseDirBlock(inode.iBlock.subarray(4, Math.max(4, inode.size)), hasFiletype, blockSize, raw);
      this.runs = null;
      this.blocks = 0;
      for (const d of raw) this.add(d);
      return;
    }
    this.runs = layout.mapFile(inode, path, MAX_DIR_BYTES);
    this.blocks = Math.ceil(Math.min(inode.size, MAX_DIR_BYTES) / blockSize);
  }

  /** Every block has been parsed, or names exist past the caps. */
  get complete(): boolean {
    return this.next >= this.blocks || this.overflow !== null;
  }

  private add(d: ExtDirent): void {
    if (this.byName.has(d.name)) return;
    if (this.names.length >= MAX_DIR_ENTRIES) {
      this.overflow = `more than ${MAX_DIR_ENTRIES} entries`;
      return;
    }
    this.byName.set(d.name, d);
    this.names.push(d);
  }

  /** Parse one more block; false when there is none. */
  private more(): boolean {
    if (this.complete || !this.runs) return false;
    const { blockSize, hasFiletype, csumSeed } = this.layout.sb;
    const i = this.next++;
    this.blocksRead++;
    const b = readRuns(this.layout.src, this.runs, i * blockSize, blockSize, this.path);
    const raw: ExtDirent[] = [];
    parseDirBlock(b, hasFiletype, blockSize, raw, csumSeed === null ? undefined : this.checkBlock(b, i));
    for (const d of raw) this.add(d);
    if (this.next >= this.blocks && this.inode.size > MAX_DIR_BYTES && this.overflow === null)
      this.overflow = `directory of ${this.inode.size} bytes; only the first ${MAX_DIR_BYTES} are read`;
    return true;
  }

  /** metadata_csum: why leaf block `i` cannot be trusted, or undefined when it can. */
  private checkBlock(b: Uint8Array, i: number): string | undefined {
    const seed = this.inode.csumSeed;
    if (seed === null) return undefined;
    if (hasCsumTail(b)) {
      const want = u32le(b, b.length - 4);
      const got = dirBlockCsum(seed, b);
      if (want === got) return undefined;
      return `block ${i} of directory ${this.path} fails its checksum (stored ${hex(want)}, computed ${hex(got)})`;
    }
    // htree index blocks carry their checksum elsewhere and hold no names.
    const firstSpansBlock = u32le(b, 0) === 0 && recLenOf(b, 0, b.length) === b.length;
    if (this.inode.flags & INODE_FLAG_INDEX && (i === 0 || firstSpansBlock)) return undefined;
    return `block ${i} of directory ${this.path} has no checksum (metadata_csum needs one in every block)`;
  }

  /**
   * The first `limit` names, reading only the blocks they need. EFBIG when the directory has
   * more names than we read and the caller asked for more than MAX_DIR_ENTRIES.
   */
  take(limit: number): readonly ExtDirent[] {
    while (this.names.length < limit && this.more()) {
      /* read on */
    }
    if (this.names.length < limit && this.overflow !== null) throw new FsError('EFBIG', this.path, this.overflow);
    return this.names.length <= limit ? this.names : this.names.slice(0, limit);
  }

  /** The record called `name`, reading on until it is found; null when the directory has none. */
  find(name: string): ExtDirent | null {
    for (;;) {
      const hit = this.byName.get(name);
      if (hit) return hit;
      if (!this.more()) break;
    }
    if (this.overflow !== null)
      throw new FsError('EFBIG', this.path, `${this.overflow}; '${name}' is not among those read`);
    return null;
  }
}
