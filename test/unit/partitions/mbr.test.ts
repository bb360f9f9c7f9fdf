// MBR tables, superfloppies and hybrid ISOs against sfdisk -J, partx (libblkid) and blkid.
import * as fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { BufferSource, FileSource, SliceSource } from '../../../src/discovery/io/source';
import { readPartitionTable } from '../../../src/discovery/partitions/detect';
import { probeFilesystem } from '../../../src/discovery/probe';
import {
  blkidExport,
  buildGptDisk,
  buildMbrDisk,
  fsImage,
  hybridIso,
  partxList,
  patchedCopy,
  sfdiskJson,
  type FsRecipe,
} from '../../fixtures/disks';

function read(img: string): ReturnType<typeof readPartitionTable> {
  const src = FileSource.open(img);
  try {
    return readPartitionTable(src);
  } finally {
    src.close();
  }
}

let disk: string;
beforeAll(() => {
  disk = buildMbrDisk({
    diskId: 'c0ffee42',
    primaries: [
      { sizeMiB: 8, type: 'ef', bootable: true, fs: { kind: 'vfat', label: 'MBRESP', uuid: '0badcafe' } },
      { sizeMiB: 8, type: '83', fs: { kind: 'ext4', label: 'root' } },
    ],
    logical: [
      { sizeMiB: 4, type: '83', fs: { kind: 'ext3', label: 'logical5' } },
      { sizeMiB: 4, type: '82', fs: { kind: 'swap', label: 'sw6' } },
    ],
  });
});

describe('MBR', () => {
  it('reads primaries, the extended partition and logical partitions as sfdisk -J does', () => {
    const r = read(disk);
    expect(r.diagnostics).toEqual([]);
    const sf = sfdiskJson(disk);
    expect(r.table.scheme).toBe('mbr');
    expect(`0x${r.table.mbrSignature}`).toBe(sf.id);
    expect(r.table.partitions.map((p) => p.number)).toEqual(
      sf.partitions.map((p) => Number(/(\d+)$/.exec(p.node)![1])),
    );
    sf.partitions.forEach((s, i) => {
      const p = r.table.partitions[i]!;
      expect(p.start).toBe(s.start * 512);
      expect(p.size).toBe(s.size * 512);
      expect(Number(p.type)).toBe(parseInt(s.type, 16));
      expect(p.bootable).toBe(s.bootable ?? false);
      expect(p.logical ?? false).toBe(p.number >= 5);
    });
  });

  it('forms PARTUUIDs and boot flags as libblkid does (partx)', () => {
    const r = read(disk);
    const px = partxList(disk);
    expect(r.table.partitions.map((p) => p.partUuid)).toEqual(px.map((x) => x.uuid));
    expect(r.table.partitions.map((p) => (p.bootable ? '0x80' : '0x0'))).toEqual(px.map((x) => x.flags));
  });

  it('finds the filesystems in primary and logical partitions, as blkid does', () => {
    const src = FileSource.open(disk);
    try {
      for (const p of read(disk).table.partitions) {
        if (p.type === '0x05') continue;
        const want = blkidExport(disk, { offset: p.start, size: p.size });
        const got = probeFilesystem(new SliceSource(src, p.start, p.size, `p${p.number}`));
        expect([got?.type, got?.uuid, got?.label], `partition ${p.number}`).toEqual([want.TYPE, want.UUID, want.LABEL]);
      }
    } finally {
      src.close();
    }
  });

  it('stops an EBR chain that loops back, keeping what it found', () => {
    const sf = sfdiskJson(disk);
    const ext = sf.partitions.find((p) => p.type === '5')!;
    const second = sf.partitions.find((p) => p.node.endsWith('6'))!;
    // The second EBR sits 1 MiB (2048 sectors) before its data; point its link at the first EBR.
    const ebr2 = (second.start - 2048) * 512;
    const link = Buffer.alloc(16);
    link[4] = 0x05;
    link.writeUInt32LE(0, 8);
    link.writeUInt32LE(ext.size, 12);
    const img = patchedCopy(disk, [{ offset: ebr2 + 0x1be + 16, bytes: link }]);
    const r = read(img);
    expect(r.table.partitions.map((p) => p.number)).toEqual([1, 2, 3, 5, 6]);
    expect(r.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/loops back to sector \d+/)]);
  });

  it('truncates a partition that runs past the end of the disk, as Linux does', () => {
    const size = Buffer.alloc(4);
    size.writeUInt32LE(0x00ffffff);
    const img = patchedCopy(disk, [{ offset: 0x1be + 16 + 12, bytes: size }]);
    const r = read(img);
    const p2 = r.table.partitions.find((p) => p.number === 2)!;
    expect(p2.start + p2.size).toBe(fs.statSync(img).size);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(
      /partition 2 extends beyond the end of the disk; truncated/,
    );
  });

  it('rejects boot indicators other than 0x00/0x80 (not a partition table)', () => {
    const img = patchedCopy(disk, [{ offset: 0x1be, bytes: new Uint8Array([0x12]) }]);
    const r = read(img);
    expect(r.table.scheme).toBe('none');
    // libblkid agrees: no PTTYPE.
    expect(blkidExport(img).PTTYPE).toBeUndefined();
  });

  it('ignores a stale GPT header behind an MBR without a 0xEE entry (as Linux)', () => {
    const gpt = fs.readFileSync(buildGptDisk({ partitions: [{ sizeMiB: 4, type: '8300' }] }));
    const mbrSector = fs.readFileSync(disk).subarray(0, 512);
    mbrSector.copy(gpt, 0);
    const r = readPartitionTable(new BufferSource(gpt, 'stale.img'));
    expect(r.table.scheme).toBe('mbr');
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/stale GPT header ignored/);
    // A damaged leftover is only worth an info line, not an error.
    gpt[512 + 56]! ^= 0xff;
    gpt[gpt.length - 512 + 56]! ^= 0xff;
    const d = readPartitionTable(new BufferSource(gpt, 'stale.img'));
    expect(d.table.scheme).toBe('mbr');
    expect(d.diagnostics.filter((x) => x.source === 'gpt').map((x) => `${x.severity} ${x.message}`)).toEqual([
      expect.stringMatching(
        /^info stale, damaged GPT header ignored behind the MBR: primary GPT: header CRC32 mismatch/,
      ),
    ]);
  });
});

describe('superfloppies: a filesystem on the whole disk', () => {
  const cases: [string, FsRecipe][] = [
    ['FAT12', { kind: 'vfat', fatBits: 12, sizeMiB: 2, label: 'FLOPPY' }],
    ['FAT16', { kind: 'vfat', fatBits: 16, sizeMiB: 16, label: 'STICK16' }],
    ['FAT32', { kind: 'vfat', fatBits: 32, sizeMiB: 64, label: 'STICK32' }],
    ['ext4', { kind: 'ext4', label: 'wholedisk' }],
    ['iso9660', { kind: 'iso9660', label: 'PLAINISO' }],
    ['ntfs', { kind: 'ntfs', label: 'WHOLE' }],
    ['exfat', { kind: 'exfat', label: 'WHOLE' }],
  ];
  for (const [name, recipe] of cases) {
    it(`${name}: no partition table, the filesystem probes at offset 0`, () => {
      const img = fsImage(recipe);
      const r = read(img);
      expect(r.table.scheme).toBe('none');
      expect(r.table.partitions).toEqual([]);
      expect(r.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
      const src = FileSource.open(img);
      try {
        const want = blkidExport(img);
        expect(probeFilesystem(src)?.type).toBe(want.TYPE);
      } finally {
        src.close();
      }
    });
  }

  it('a FAT boot sector ends in 0x55AA yet is not read as an MBR (blkid agrees)', () => {
    const img = fsImage({ kind: 'vfat', fatBits: 16, sizeMiB: 16, label: 'STICK16' });
    const b = fs.readFileSync(img).subarray(0, 512);
    expect([b[510], b[511]]).toEqual([0x55, 0xaa]);
    expect(blkidExport(img).PTTYPE).toBeUndefined();
  });
});

describe('hybrid ISO images (xorriso)', () => {
  for (const kind of ['mbr', 'gpt'] as const) {
    it(`${kind} flavour: hybridIso, the partitions sfdisk sees, an ESP inside, ISO 9660 on the whole disk`, () => {
      const img = hybridIso(kind, `HYB_${kind.toUpperCase()}`);
      const r = read(img);
      expect(r.table.hybridIso).toBe(true);
      expect(r.table.scheme).toBe(kind);
      const sf = sfdiskJson(img);
      expect(r.table.partitions.map((p) => [p.start, p.size])).toEqual(
        sf.partitions.map((s) => [s.start * 512, s.size * 512]),
      );
      const src = FileSource.open(img);
      try {
        const esp = r.table.partitions.find((p) => p.type === '0xef' || p.typeName === 'EFI System')!;
        const fat = probeFilesystem(new SliceSource(src, esp.start, esp.size, 'esp'));
        expect(fat).toMatchObject({ type: 'vfat', label: 'ISOESP', uuid: '1234-ABCD' });
        const want = blkidExport(img);
        expect(probeFilesystem(src)).toMatchObject({ type: 'iso9660', label: want.LABEL, uuid: want.UUID });
      } finally {
        src.close();
      }
    });
  }
});
