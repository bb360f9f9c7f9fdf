// Reading tables and probing every partition leaves the images byte-for-byte unchanged.
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FileSource, SliceSource } from '../../../src/discovery/io/source';
import { readPartitionTable } from '../../../src/discovery/partitions/detect';
import { probeFilesystem } from '../../../src/discovery/probe';
import { buildGptDisk, buildMbrDisk, fsImage, hybridIso, sha256File } from '../../fixtures/disks';

describe('read-only', () => {
  it('a full read of the fixtures keeps their sha256 and mtime', () => {
    const images = [
      buildGptDisk({
        partitions: [
          { sizeMiB: 16, type: 'ef00', fs: { kind: 'vfat', label: 'RO_ESP' } },
          { sizeMiB: 8, type: '8300', fs: { kind: 'ext4', label: 'ro', debugfs: ['feature needs_recovery'] } },
          { sizeMiB: 2, type: '8200', fs: { kind: 'swap' } },
        ],
      }),
      buildMbrDisk({
        primaries: [{ sizeMiB: 8, type: 'c', fs: { kind: 'vfat', fatBits: 16, label: 'RO' } }],
        logical: [{ sizeMiB: 4, type: '83', fs: { kind: 'ext2' } }],
      }),
      hybridIso('mbr', 'RO_ISO'),
      fsImage({ kind: 'vfat', fatBits: 32, sizeMiB: 64, label: 'RO32' }),
      fsImage({ kind: 'iso9660', label: 'RO' }),
    ];
    for (const img of images) {
      const before = { sum: sha256File(img), mtime: fs.statSync(img).mtimeMs };
      const src = FileSource.open(img);
      try {
        const { table } = readPartitionTable(src);
        expect(probeFilesystem(src) !== null || table.partitions.length > 0).toBe(true);
        for (const p of table.partitions) probeFilesystem(new SliceSource(src, p.start, p.size, `p${p.number}`));
      } finally {
        src.close();
      }
      expect({ sum: sha256File(img), mtime: fs.statSync(img).mtimeMs }).toEqual(before);
    }
  });
});
