// ext2/3/4 superblock (1 KiB at offset 1024). Type rules follow libblkid so we name a
// filesystem as blkid does: ext2 = no journal and only ext2 features; ext3 = journal and only
// ext3 features; anything else with a known magic is ext4. `needs_recovery` marks it dirty
// (a journal replay would write: docs/kexec.md §5).

import type { FsProbe } from '../model';
import { isZero, uuidAt } from '../partitions/guids';
import type { ProbeContext } from './context';
import { crc32cUpdate } from './crc32c';
import { utf8Label } from './text';

const SB = 1024;
const COMPAT_HAS_JOURNAL = 0x4;
const INCOMPAT_RECOVER = 0x4;
const INCOMPAT_JOURNAL_DEV = 0x8;
const RO_COMPAT_METADATA_CSUM = 0x400;
const EXT2_RO_SUPP = 0x1 | 0x2 | 0x4; // sparse_super, large_file, btree_dir
const EXT2_INCOMPAT_SUPP = 0x2 | 0x10; // filetype, meta_bg
const EXT3_RO_SUPP = EXT2_RO_SUPP;
const EXT3_INCOMPAT_SUPP = 0x2 | INCOMPAT_RECOVER | 0x10;

// e2p's names (lib/e2p/feature.c), indexed by bit; dumpe2fs prints compat, incompat, ro_compat.
const COMPAT = [
  'dir_prealloc',
  'imagic_inodes',
  'has_journal',
  'ext_attr',
  'resize_inode',
  'dir_index',
  'lazy_bg',
  undefined,
  'snapshot_bitmap',
  'sparse_super2',
  'fast_commit',
  'stable_inodes',
  'orphan_file',
];
const INCOMPAT = [
  'compression',
  'filetype',
  'needs_recovery',
  'journal_dev',
  'meta_bg',
  undefined,
  'extent',
  '64bit',
  'mmp',
  'flex_bg',
  'ea_inode',
  undefined,
  'dirdata',
  'metadata_csum_seed',
  'large_dir',
  'inline_data',
  'encrypt',
  'casefold',
];
const RO_COMPAT = [
  'sparse_super',
  'large_file',
  undefined,
  'huge_file',
  'uninit_bg',
  'dir_nlink',
  'extra_isize',
  'snapshot',
  'quota',
  'bigalloc',
  'metadata_csum',
  'replica',
  'read-only',
  'project',
  'shared_blocks',
  'verity',
  'orphan_present',
];

/** The feature list as `dumpe2fs -h` prints it ("Filesystem features:"). */
export function extFeatureNames(compat: number, incompat: number, roCompat: number): string[] {
  const out: string[] = [];
  const add = (mask: number, names: (string | undefined)[], letter: string): void => {
    for (let bit = 0; bit < 32; bit++) {
      if (((mask >>> bit) & 1) === 0) continue;
      out.push(names[bit] ?? `FEATURE_${letter}${bit}`);
    }
  };
  add(compat, COMPAT, 'C');
  add(incompat, INCOMPAT, 'I');
  add(roCompat, RO_COMPAT, 'R');
  return out;
}

export function probeExt(ctx: ProbeContext): FsProbe | null {
  const h = ctx.head;
  if (h.length < SB + 1024 || h.readUInt16LE(SB + 0x38) !== 0xef53) return null;
  const sb = h.subarray(SB, SB + 1024);
  const logBlock = sb.readUInt32LE(0x18);
  // Name the field that is wrong, not the first one read.
  const implausible =
    logBlock > 6
      ? `s_log_block_size ${logBlock} (block size 1024 << ${logBlock}; at most 64 KiB)`
      : sb.readUInt32LE(0x20) === 0
        ? 's_blocks_per_group 0'
        : sb.readUInt32LE(0x28) === 0
          ? 's_inodes_per_group 0'
          : null;
  if (implausible) {
    ctx.note('warning', 'ext', `ext magic found but the superblock is implausible: ${implausible}`);
    return null;
  }
  const revLevel = sb.readUInt32LE(0x4c);
  const compat = revLevel === 0 ? 0 : sb.readUInt32LE(0x5c);
  const incompat = revLevel === 0 ? 0 : sb.readUInt32LE(0x60);
  const roCompat = revLevel === 0 ? 0 : sb.readUInt32LE(0x64);
  if (roCompat & RO_COMPAT_METADATA_CSUM) {
    const want = sb.readUInt32LE(0x3fc);
    const got = crc32cUpdate(0xffffffff, sb.subarray(0, 0x3fc));
    if (want !== got) {
      ctx.note(
        'warning',
        'ext',
        `superblock checksum mismatch (stored ${want.toString(16)}, computed ${got.toString(16)})`,
      );
      return null;
    }
  }
  if (incompat & INCOMPAT_JOURNAL_DEV) {
    ctx.note('info', 'ext', 'external ext3/4 journal device, not a filesystem');
    return null;
  }
  const hasJournal = (compat & COMPAT_HAS_JOURNAL) !== 0;
  let type: 'ext2' | 'ext3' | 'ext4';
  if (!hasJournal && !(roCompat & ~EXT2_RO_SUPP) && !(incompat & ~EXT2_INCOMPAT_SUPP)) type = 'ext2';
  else if (hasJournal && !(roCompat & ~EXT3_RO_SUPP) && !(incompat & ~EXT3_INCOMPAT_SUPP)) type = 'ext3';
  else if (roCompat & ~EXT3_RO_SUPP || incompat & ~EXT3_INCOMPAT_SUPP) type = 'ext4';
  else {
    // Journal-less but carrying needs_recovery: no kernel driver would accept it as is.
    ctx.note('warning', 'ext', 'ext superblock with needs_recovery but no journal');
    return null;
  }
  const dirty = (incompat & INCOMPAT_RECOVER) !== 0;
  if (dirty) ctx.note('warning', 'ext', 'needs_recovery is set (journal not replayed): mount with noload, never write');
  if ((sb.readUInt16LE(0x3a) & 1) === 0) ctx.note('info', 'ext', 'filesystem was not cleanly unmounted');
  // libblkid leaves UUID unset when it is all zeros.
  const uuid = isZero(sb, 0x68, 16) ? undefined : uuidAt(sb, 0x68);
  const label = utf8Label(sb, 0x78, 16);
  return {
    type,
    ...(uuid !== undefined ? { uuid } : {}),
    ...(label !== undefined ? { label } : {}),
    version: extFeatureNames(compat, incompat, roCompat).join(' '),
    readable: true,
    ...(dirty ? { dirty } : {}),
  };
}
