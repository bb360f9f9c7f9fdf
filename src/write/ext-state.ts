// When an ext filesystem may be written behind the kernel's back (docs/writes.md §4.1): only
// when it is clean (no journal to replay, no orphans, no recorded errors), its superblock is
// intact, and every feature it uses is one whose on-disk format we know.

import { u16le, u32le } from '../util/bytes';
import { readExact } from '../discovery/io/source';
import type { ByteSource } from '../discovery/io/source';
import { crc32cUpdate } from '../discovery/probe/crc32c';
import { type ExtSuper, parseSuper } from '../discovery/fs/ext-layout';
import { Refusal } from './types';

// Features by name (the kernel's fs/ext4/ext4.h), all of which keep directory blocks and file
// data in the layout the writers understand.
const INCOMPAT_KNOWN =
  0x2 /* filetype */ |
  0x4 /* recover */ |
  0x10 /* meta_bg */ |
  0x40 /* extents */ |
  0x80 /* 64bit */ |
  0x200 /* flex_bg */ |
  0x400 /* ea_inode */ |
  0x2000 /* csum_seed */ |
  0x4000 /* largedir */ |
  0x8000 /* inline_data */ |
  0x10000 /* encrypt */ |
  0x20000; /* casefold */
const INCOMPAT_RECOVER = 0x4;
const INCOMPAT_MMP = 0x100;
const RO_COMPAT_KNOWN =
  0x1 | 0x2 | 0x4 | 0x8 | 0x10 | 0x20 | 0x40 | 0x100 | 0x200 | 0x400 | 0x2000 | 0x4000 | 0x8000 | 0x10000;
const RO_COMPAT_METADATA_CSUM = 0x400;
const RO_COMPAT_READONLY = 0x1000;
const RO_COMPAT_ORPHAN_PRESENT = 0x10000;
const STATE_VALID = 0x1;
const STATE_ERROR = 0x2;

const hex = (n: number): string => `0x${n.toString(16)}`;

/** The superblock of a filesystem that may be written in place, or a Refusal saying why not. */
export function writableExtSuper(src: ByteSource): ExtSuper {
  const raw = readExact(src, 1024, 1024);
  const sb = parseSuper(raw, src.size, src.name);
  const name = src.name;
  if (sb.incompat & INCOMPAT_RECOVER)
    throw new Refusal(`${name}: the journal needs recovery (needs_recovery); only the kernel or e2fsck may replay it`);
  if (sb.incompat & INCOMPAT_MMP)
    throw new Refusal(`${name}: multi-mount protection is on (another host may have it mounted)`);
  if (sb.incompat & ~INCOMPAT_KNOWN) throw new Refusal(`${name}: unknown incompat features ${hex(sb.incompat)}`);
  if (sb.roCompat & RO_COMPAT_READONLY) throw new Refusal(`${name}: the filesystem is marked read-only`);
  if (sb.roCompat & ~RO_COMPAT_KNOWN) throw new Refusal(`${name}: unknown ro_compat features ${hex(sb.roCompat)}`);
  const state = u16le(raw, 58);
  if (!(state & STATE_VALID))
    throw new Refusal(`${name}: not cleanly unmounted (s_state ${hex(state)}); run e2fsck first`);
  if (state & STATE_ERROR || u32le(raw, 0x194) !== 0)
    throw new Refusal(`${name}: the kernel recorded errors on it (s_state ${hex(state)}); run e2fsck first`);
  if (u32le(raw, 0xe8) !== 0 || sb.roCompat & RO_COMPAT_ORPHAN_PRESENT)
    throw new Refusal(`${name}: orphan inodes are waiting to be released (a recovery is due)`);
  if (sb.roCompat & RO_COMPAT_METADATA_CSUM) {
    if (sb.csumSeed === null)
      throw new Refusal(`${name}: metadata_csum on a filesystem made by a non-Linux system; not written`);
    const want = u32le(raw, 0x3fc);
    const got = crc32cUpdate(0xffffffff, raw.subarray(0, 0x3fc));
    if (want !== got)
      throw new Refusal(`${name}: superblock checksum mismatch (stored ${hex(want)}, computed ${hex(got)})`);
  }
  return sb;
}
