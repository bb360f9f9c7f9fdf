// A disk whose reads fail past some offset (a bad sector): errors become diagnostics that
// name the syscall and errno; nothing throws.
import { describe, expect, it } from 'vitest';
import { FileSource, IoError, type ByteSource } from '../../../src/discovery/io/source';
import { readPartitionTable } from '../../../src/discovery/partitions/detect';
import { probeFilesystemDetailed } from '../../../src/discovery/probe';
import { buildGptDisk, fsImage } from '../../fixtures/disks';

/** Fault injection over a real image: reads touching [badFrom, ∞) fail with EIO. */
class BadSectors implements ByteSource {
  constructor(
    private readonly base: ByteSource,
    private readonly badFrom: number,
  ) {}
  get name(): string {
    return 'bad.img';
  }
  get size(): number {
    return this.base.size;
  }
  readAt(buf: Uint8Array, offset: number, length: number, position: number): number {
    if (position + length > this.badFrom)
      throw new IoError('pread bad.img: EIO (Input/output error)', 'pread', 'EIO', 'bad.img');
    return this.base.readAt(buf, offset, length, position);
  }
}

describe('I/O errors', () => {
  it('a failing first read: an error diagnostic naming pread and EIO, no partitions', () => {
    const src = FileSource.open(buildGptDisk({ partitions: [{ sizeMiB: 4, type: '8300' }] }));
    try {
      const r = readPartitionTable(new BadSectors(src, 0));
      expect(r.table).toEqual({ scheme: 'none', sectorSize: 512, partitions: [] });
      expect(r.diagnostics).toEqual([
        expect.objectContaining({
          severity: 'error',
          device: 'bad.img',
          message: expect.stringMatching(/cannot read the partition table: pread bad\.img: EIO/) as unknown,
        }),
      ]);
    } finally {
      src.close();
    }
  });

  it('a bad sector under the FAT root directory: the probe reports it', () => {
    const img = fsImage({ kind: 'vfat', fatBits: 32, sizeMiB: 64, label: 'BAD' });
    const src = FileSource.open(img);
    try {
      // Past the 68 KiB head: the root directory read is the one that fails.
      const r = probeFilesystemDetailed(new BadSectors(src, 68 * 1024));
      expect(r.probe).toBeNull();
      expect(r.diagnostics.map((d) => d.message)).toEqual([expect.stringMatching(/^fat: pread bad\.img: EIO/)]);
    } finally {
      src.close();
    }
  });
});
