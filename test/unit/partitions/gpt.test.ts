// GPT reading against sfdisk -J (libfdisk) and partx (libblkid), on disks made by sgdisk,
// and its recovery paths on copies damaged with dd.
import * as fs from 'node:fs';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { BufferSource, FileSource, SliceSource } from '../../../src/discovery/io/source';
import type { PartitionTable } from '../../../src/discovery/model';
import { readPartitionTable } from '../../../src/discovery/partitions/detect';
import { probeFilesystem } from '../../../src/discovery/probe';
import {
  blkidExport,
  buildGptDisk,
  OverlaySource,
  partxList,
  patchedCopy,
  sfdiskAttrsToHex,
  sfdiskJson,
  type GptDiskRecipe,
} from '../../fixtures/disks';

const RECIPE: GptDiskRecipe = {
  diskGuid: '5e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b',
  partitions: [
    {
      sizeMiB: 16,
      type: 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b',
      name: 'EFI System',
      fs: { kind: 'vfat', label: 'ESP', uuid: 'e5b00001' },
    },
    {
      sizeMiB: 8,
      type: 'bc13c2ff-59e6-4262-a352-b275fd6f7172',
      name: 'XBOOTLDR',
      attributeBits: [0, 60],
      fs: { kind: 'ext4', label: 'xboot', uuid: '0b0b0b0b-1111-4222-8333-444455556666' },
    },
    {
      sizeMiB: 8,
      type: '0fc63daf-8483-4772-8e79-3d69d8477de4',
      name: 'dätä',
      partUuid: 'aabbccdd-0000-4111-8222-333344445555',
      fs: { kind: 'ext2', label: 'data' },
    },
    { sizeMiB: 4, type: '4f68bce3-e8cd-4db1-96e7-fbcaf984b709', name: 'root-x86-64', attributeBits: [63] },
    { sizeMiB: 2, type: '0657fd6d-a4ab-43c4-84e5-0933c84b4f4f', name: 'swap', fs: { kind: 'swap', label: 'sw' } },
    { sizeMiB: 2, type: 'e6d6d379-f507-44c2-a23c-238f2a3df928' },
    { sizeMiB: 2, type: 'ca7d7ccb-63ed-4c53-861c-1742536059cc', name: 'luks' },
    { sizeMiB: 2, type: 'ebd0a0a2-b9e5-4433-87c0-68b6b72699c7', name: 'Basic data partition', attributeBits: [2] },
    { sizeMiB: 1, type: '21686148-6449-6e6f-744e-656564454649', name: 'BIOS boot' },
  ],
};

let disk: string;
beforeAll(() => {
  disk = buildGptDisk(RECIPE);
});

function read(img: string): ReturnType<typeof readPartitionTable> {
  const src = FileSource.open(img);
  try {
    return readPartitionTable(src);
  } finally {
    src.close();
  }
}

/** Our table must say what sfdisk and partx say, field by field. */
function expectMatchesTools(table: PartitionTable, img: string): void {
  const sf = sfdiskJson(img);
  expect(table.scheme).toBe('gpt');
  const ss = sf.sectorsize ?? 512;
  expect(table.sectorSize).toBe(ss);
  expect(table.diskGuid).toBe(sf.id.toLowerCase());
  expect(table.partitions.map((p) => p.number)).toEqual(sf.partitions.map((p) => Number(/(\d+)$/.exec(p.node)![1])));
  sf.partitions.forEach((s, i) => {
    const p = table.partitions[i]!;
    expect(p.start).toBe(s.start * ss);
    expect(p.size).toBe(s.size * ss);
    expect(p.type).toBe(s.type.toLowerCase());
    expect(p.partUuid).toBe(s.uuid?.toLowerCase());
    expect(p.name).toBe(s.name);
    expect(p.attributes).toBe(sfdiskAttrsToHex(s.attrs));
  });
}

describe('GPT', () => {
  it('reads every partition as sfdisk -J does', () => {
    const r = read(disk);
    expect(r.diagnostics).toEqual([]);
    expect(r.table.protectiveMbr).toBe(true);
    expect(r.table.usedBackupGpt).toBeUndefined();
    expectMatchesTools(r.table, disk);
  });

  it('agrees with partx (libblkid) on numbers, PARTUUIDs, names and attribute flags', () => {
    const r = read(disk);
    const px = partxList(disk);
    expect(r.table.partitions.map((p) => p.number)).toEqual(px.map((x) => x.nr));
    px.forEach((x, i) => {
      const p = r.table.partitions[i]!;
      expect(p.start).toBe(x.start * 512);
      expect(p.size).toBe(x.sectors * 512);
      expect(p.type).toBe(x.type);
      expect(p.partUuid).toBe(x.uuid);
      expect(p.name ?? '').toBe(x.name);
      expect(BigInt(`0x${p.attributes}`)).toBe(BigInt(x.flags));
    });
  });

  it('names the well-known types', () => {
    const names = read(disk).table.partitions.map((p) => p.typeName);
    expect(names).toEqual([
      'EFI System',
      'Linux extended boot',
      'Linux filesystem',
      'Linux root (x86-64)',
      'Linux swap',
      'Linux LVM',
      'Linux LUKS',
      'Microsoft basic data',
      'BIOS boot',
    ]);
  });

  it('finds the filesystems written into the partitions, as blkid does', () => {
    const src = FileSource.open(disk);
    try {
      for (const p of read(disk).table.partitions) {
        const want = blkidExport(disk, { offset: p.start, size: p.size });
        const got = probeFilesystem(new SliceSource(src, p.start, p.size, `${disk}:${p.number}`));
        expect(got?.type, `partition ${p.number}`).toBe(want.TYPE);
        expect(got?.uuid).toBe(want.UUID);
        expect(got?.label).toBe(want.LABEL);
      }
    } finally {
      src.close();
    }
  });

  it('costs a handful of reads', () => {
    const src = FileSource.open(disk);
    try {
      const counted = new OverlaySource(src);
      readPartitionTable(counted);
      // The first 64 KiB (MBR, header, entries) and the backup header.
      expect(counted.reads).toBeLessThanOrEqual(3);
    } finally {
      src.close();
    }
  });

  it('notes a hybrid MBR (sgdisk -h) and uses the GPT', () => {
    const img = buildGptDisk({
      hybridMbr: [1, 2],
      partitions: [
        { sizeMiB: 4, type: 'ef00' },
        { sizeMiB: 4, type: '8300' },
        { sizeMiB: 4, type: '8300' },
      ],
    });
    const r = read(img);
    expect(r.table.scheme).toBe('gpt');
    expect(r.table.protectiveMbr).toBe(true);
    expect(r.table.partitions).toHaveLength(3);
    expect(r.diagnostics.map((d) => `${d.severity} ${d.message}`)).toEqual([
      'info hybrid MBR: 2 MBR entries besides the 0xEE one; the GPT is used',
    ]);
    expectMatchesTools(r.table, img);
  });

  it('reads a 4096-byte-sector GPT (made on a 4K loop device)', () => {
    const img = buildGptDisk({
      sectorSize: 4096,
      partitions: [
        { sizeMiB: 8, type: 'ef00', name: 'esp' },
        { sizeMiB: 8, type: '8300', name: 'linux' },
      ],
    });
    const r = read(img);
    expect(r.diagnostics).toEqual([]);
    expect(r.table.sectorSize).toBe(4096);
    expectMatchesTools(r.table, img);
  });
});

describe('GPT damage', () => {
  const ss = 512;
  let intact: PartitionTable;
  let lastLba: number;
  beforeAll(() => {
    intact = read(disk).table;
    lastLba = fs.statSync(disk).size / ss - 1;
  });

  it('uses the backup when the primary header is zeroed, and says why', () => {
    const img = patchedCopy(disk, [{ offset: ss, zeros: ss }]);
    const r = read(img);
    expect(r.table.usedBackupGpt).toBe(true);
    expect(r.table.partitions).toEqual(intact.partitions);
    expect(r.table.diskGuid).toBe(intact.diskGuid);
    const w = r.diagnostics.filter((d) => d.severity === 'warning');
    expect(w).toHaveLength(1);
    expect(w[0]!.message).toMatch(/primary GPT damaged: primary header missing/);
    expect(w[0]!.device).toBe(img);
    // sfdisk recovers the same table from the backup.
    expectMatchesTools(r.table, img);
  });

  it('uses the backup when the primary entry array is corrupted', () => {
    const img = patchedCopy(disk, [{ offset: 2 * ss + 60, bytes: 'XX' }]);
    const r = read(img);
    expect(r.table.usedBackupGpt).toBe(true);
    expect(r.table.partitions).toEqual(intact.partitions);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/entry array CRC32 mismatch/);
  });

  it('uses the backup when the primary header CRC is wrong', () => {
    const img = patchedCopy(disk, [{ offset: ss + 56, bytes: new Uint8Array([0xff]) }]);
    const r = read(img);
    expect(r.table.usedBackupGpt).toBe(true);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/header CRC32 mismatch/);
  });

  it('reports a damaged backup header but keeps the primary', () => {
    const img = patchedCopy(disk, [{ offset: lastLba * ss, zeros: ss }]);
    const r = read(img);
    expect(r.table.usedBackupGpt).toBeUndefined();
    expect(r.table.partitions).toEqual(intact.partitions);
    expect(r.diagnostics.map((d) => `${d.severity} ${d.message}`)).toEqual([
      expect.stringMatching(/^warning backup GPT header damaged: no "EFI PART"/),
    ]);
  });

  it('gives an error and no partitions when both headers are gone', () => {
    const img = patchedCopy(disk, [
      { offset: ss, zeros: ss },
      { offset: lastLba * ss, zeros: ss },
    ]);
    const r = read(img);
    expect(r.table.scheme).toBe('none');
    expect(r.table.partitions).toEqual([]);
    expect(r.table.protectiveMbr).toBe(true);
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/GPT unusable: protective MBR present but no GPT header/);
  });

  it('gives an error naming both reasons when both headers are corrupt', () => {
    const img = patchedCopy(disk, [
      { offset: ss + 56, bytes: new Uint8Array([0xff]) },
      { offset: lastLba * ss + 56, bytes: new Uint8Array([0xff]) },
    ]);
    const r = read(img);
    expect(r.table.scheme).toBe('none');
    const errors = r.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => d.message)).toEqual([
      expect.stringMatching(/^GPT unusable: primary GPT: header CRC32 mismatch .*; backup GPT: header CRC32 mismatch/),
    ]);
  });

  it('uses a GPT without a protective MBR, with a warning', () => {
    const img = patchedCopy(disk, [{ offset: 0, zeros: ss }]);
    const r = read(img);
    expect(r.table.scheme).toBe('gpt');
    expect(r.table.protectiveMbr).toBeUndefined();
    expect(r.table.partitions).toEqual(intact.partitions);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/no protective MBR/);
  });

  // In-memory edits that keep the CRCs valid (recomputed with zlib's CRC-32, not ours) so the
  // header passes and the entry checks are what is exercised.
  function rewritePrimary(edit: (header: Buffer, entries: Buffer) => void): BufferSource {
    const buf = fs.readFileSync(disk);
    const header = buf.subarray(ss, 2 * ss);
    const count = header.readUInt32LE(80);
    const size = header.readUInt32LE(84);
    const entries = buf.subarray(2 * ss, 2 * ss + count * size);
    edit(header, entries);
    const n = header.readUInt32LE(80) * header.readUInt32LE(84);
    header.writeUInt32LE(zlibCrc32(buf.subarray(2 * ss, 2 * ss + Math.min(n, buf.length - 2 * ss))), 88);
    header.writeUInt32LE(0, 16);
    header.writeUInt32LE(zlibCrc32(header.subarray(0, header.readUInt32LE(12))), 16);
    return new BufferSource(buf, 'edited.img');
  }

  it('skips an entry that ends beyond the disk, with a warning', () => {
    const src = rewritePrimary((_h, e) => e.writeBigUInt64LE(BigInt(lastLba + 100), 2 * 128 + 40));
    const r = readPartitionTable(src);
    expect(r.table.usedBackupGpt).toBeUndefined();
    expect(r.table.partitions.map((p) => p.number)).toEqual(
      intact.partitions.map((p) => p.number).filter((n) => n !== 3),
    );
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/partition 3: ends at LBA \d+, beyond the disk/);
  });

  it('skips an entry whose first LBA is after its last', () => {
    const src = rewritePrimary((_h, e) => e.writeBigUInt64LE(1n, 0 * 128 + 40));
    const r = readPartitionTable(src);
    expect(r.table.partitions.map((p) => p.number)).not.toContain(1);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/partition 1: first LBA \d+ after last LBA 1/);
  });

  it('refuses an entry array beyond the size limit and falls back to the backup', () => {
    const src = rewritePrimary((h) => h.writeUInt32LE(1 << 20, 80));
    const r = readPartitionTable(src);
    expect(r.table.usedBackupGpt).toBe(true);
    expect(r.table.partitions).toEqual(intact.partitions);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/exceeds the 1048576-byte limit/);
  });

  it('refuses an entry size that is not a multiple of 128', () => {
    const src = rewritePrimary((h) => h.writeUInt32LE(130, 84));
    const r = readPartitionTable(src);
    expect(r.table.usedBackupGpt).toBe(true);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/entry size 130 is not a multiple of 128/);
  });

  it('reports the backup location when the image sits on a larger disk', () => {
    const buf = Buffer.concat([fs.readFileSync(disk), Buffer.alloc(1024 * 1024)]);
    const r = readPartitionTable(new BufferSource(buf, 'grown.img'));
    expect(r.table.partitions).toEqual(intact.partitions);
    expect(r.diagnostics.map((d) => `${d.severity} ${d.message}`)).toEqual([
      expect.stringMatching(/^info backup GPT header expected at LBA \d+, the disk's last LBA is \d+/),
    ]);
  });
});
