// readPartitionTable: which table (GPT, MBR, none) a disk has, decided as Linux and libblkid
// decide it, in a handful of reads: the first 64 KiB once (MBR, GPT header and usually its
// entries, ISO 9660 descriptors), plus the backup GPT header and any EBRs. Never throws.

import { diag, errorMessage, type Diagnostic } from '../diagnostics';
import { IoError, readClamped, type ByteSource } from '../io/source';
import type { PartitionTable } from '../model';
import { fatGeometry } from '../probe/fat';
import { hasIso9660 } from '../probe/iso9660';
import { startsWith } from '../probe/text';
import { hasGptSignature, readGpt, type GptRead } from './gpt';
import { isPlausibleMbr, mbrEntries, readMbr } from './mbr';

const HEAD = 64 * 1024;
const SECTOR_SIZES = [512, 4096];

export interface PartitionTableResult {
  readonly table: PartitionTable;
  readonly diagnostics: Diagnostic[];
}

export function readPartitionTable(disk: ByteSource): PartitionTableResult {
  const diagnostics: Diagnostic[] = [];
  try {
    return { table: detect(disk, diagnostics), diagnostics };
  } catch (e) {
    const what =
      e instanceof IoError ? 'cannot read the partition table' : 'internal error reading the partition table';
    diagnostics.push(diag('error', 'partitions', `${what}: ${errorMessage(e)}`, { device: disk.name }));
    return { table: { scheme: 'none', sectorSize: 512, partitions: [] }, diagnostics };
  }
}

function detect(disk: ByteSource, diags: Diagnostic[]): PartitionTable {
  const device = disk.name;
  const head = readClamped(disk, 0, HEAD);
  const none: PartitionTable = { scheme: 'none', sectorSize: 512, partitions: [] };
  if (head.length < 512) {
    diags.push(diag('info', 'partitions', `device is only ${disk.size} bytes: no partition table`, { device }));
    return none;
  }
  const sector0 = head.subarray(0, 512);
  const iso = hasIso9660(head);
  // A FAT, NTFS or exFAT boot sector also ends in 0x55AA; libblkid refuses the MBR reading
  // of a valid BPB, and an NTFS/exFAT boot sector's "partition entries" are boot code.
  const fat = fatGeometry(sector0) !== null || startsWith(sector0, 3, 'NTFS    ') || startsWith(sector0, 3, 'EXFAT   ');
  const mbrOk = isPlausibleMbr(sector0);
  const hasEE = mbrOk && mbrEntries(sector0).some((e) => e.type === 0xee && e.sectors !== 0);
  const lba1Sig = SECTOR_SIZES.some((ss) => head.length >= ss + 8 && hasGptSignature(head.subarray(ss, ss + 8)));
  const withIso = (t: PartitionTable): PartitionTable => (iso && t.scheme !== 'none' ? { ...t, hybridIso: true } : t);

  // GPT findings are kept aside until we know the GPT is the table (not a leftover).
  const gptDiags: Diagnostic[] = [];
  let gpt: GptRead = { kind: 'none' };
  if (hasEE || lba1Sig || (!mbrOk && !fat && !iso)) {
    for (const ss of SECTOR_SIZES) {
      const g = readGpt(disk, head, ss, gptDiags);
      if (g.kind !== 'none') gpt = g;
      if (g.kind === 'ok') break;
    }
  }

  const gptIntended = hasEE || !mbrOk || fat;
  if (gpt.kind === 'ok' && gptIntended) {
    diags.push(...gptDiags);
    if (!hasEE) {
      diags.push(
        diag('warning', 'gpt', 'valid GPT but no protective MBR (0xEE) entry; Linux would not use this GPT', {
          device,
        }),
      );
    }
    const others = hasEE ? mbrEntries(sector0).filter((e) => e.sectors !== 0 && e.type !== 0xee).length : 0;
    if (others > 0) {
      diags.push(
        diag(
          'info',
          'mbr',
          `hybrid MBR: ${others} MBR entr${others === 1 ? 'y' : 'ies'} besides the 0xEE one; the GPT is used`,
          { device },
        ),
      );
    }
    const protectiveMbr = hasEE;
    return withIso({
      scheme: 'gpt',
      sectorSize: gpt.sectorSize,
      diskGuid: gpt.diskGuid,
      partitions: gpt.partitions,
      ...(gpt.usedBackup ? { usedBackupGpt: true } : {}),
      ...(protectiveMbr ? { protectiveMbr } : {}),
    });
  }

  if (gpt.kind === 'bad') {
    // Behind a real MBR (no 0xEE entry) a broken GPT header is a leftover, not the table.
    if (gptIntended) diags.push(...gptDiags, diag('error', 'gpt', `GPT unusable: ${gpt.reason}`, { device }));
    else diags.push(diag('info', 'gpt', `stale, damaged GPT header ignored behind the MBR: ${gpt.reason}`, { device }));
  } else if (gpt.kind === 'none' && hasEE) {
    diags.push(
      diag('error', 'gpt', 'GPT unusable: protective MBR present but no GPT header at LBA 1 nor at the last LBA', {
        device,
      }),
    );
  }

  if (mbrOk && !fat) {
    const m = readMbr(disk, sector0, diags);
    if (gpt.kind === 'ok') {
      diags.push(
        diag('info', 'gpt', 'stale GPT header ignored: the MBR has no protective 0xEE entry (as Linux does)', {
          device,
        }),
      );
    }
    if (m.protective && m.partitions.length === 0) {
      // Only a protective entry and no usable GPT: nothing to offer.
      return withIso({ scheme: 'none', sectorSize: 512, partitions: [], protectiveMbr: true });
    }
    if (m.protective) {
      diags.push(diag('warning', 'mbr', 'GPT unusable: falling back to the hybrid MBR entries', { device }));
    }
    return withIso({
      scheme: 'mbr',
      sectorSize: 512,
      mbrSignature: m.signature,
      partitions: m.partitions,
      ...(m.protective ? { protectiveMbr: true } : {}),
    });
  }
  if (fat)
    diags.push(
      diag('info', 'partitions', 'no partition table: a filesystem boot sector on the whole disk', { device }),
    );
  return none;
}
