// Property tests: real filesystem images with random bytes changed in their first 64 KiB
// (where every superblock, BPB, descriptor and label lives) and random truncation.
// probeFilesystem must return, report problems as diagnostics (never an internal error)
// and read a bounded amount whatever the damaged fields claim.
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferSource, FileSource } from '../../../src/discovery/io/source';
import { probeFilesystemDetailed } from '../../../src/discovery/probe';
import { fsImage, OverlaySource, type FsRecipe } from '../../fixtures/disks';

const KiB = 1024;
/** Head (68 KiB) + FAT/exFAT root directory chains (8 × 256 KiB) + small reads. */
const MAX_BYTES = 68 * KiB + 8 * 256 * KiB + 2 * 256 * KiB + 64 * KiB;
const MAX_READS = 64;

const RECIPES: [string, FsRecipe][] = [
  ['FAT12', { kind: 'vfat', fatBits: 12, sizeMiB: 2, label: 'F12' }],
  ['FAT16', { kind: 'vfat', fatBits: 16, sizeMiB: 16, label: 'F16', files: { 'a/b.txt': 'x' } }],
  ['FAT32', { kind: 'vfat', fatBits: 32, sizeMiB: 64, label: 'F32' }],
  ['ext4', { kind: 'ext4', label: 'e4' }],
  ['ext2', { kind: 'ext2', label: 'e2' }],
  ['iso9660', { kind: 'iso9660', label: 'FUZZISO' }],
  ['swap', { kind: 'swap', label: 'sw' }],
  ['luks2', { kind: 'luks2', label: 'lk' }],
  ['lvm2', { kind: 'lvm2' }],
  ['ntfs', { kind: 'ntfs', label: 'nt' }],
  ['exfat', { kind: 'exfat', label: 'ex' }],
  ['btrfs', { kind: 'btrfs', label: 'bt' }],
  ['xfs', { kind: 'xfs', label: 'xf' }],
  ['f2fs', { kind: 'f2fs', label: 'f2' }],
  ['squashfs', { kind: 'squashfs', files: { x: 'y' } }],
];

const sources = new Map<string, FileSource>();
beforeAll(() => {
  for (const [name, r] of RECIPES) sources.set(name, FileSource.open(fsImage(r)));
});
afterAll(() => {
  for (const s of sources.values()) s.close();
});

describe('probeFilesystem on damaged real images', () => {
  for (const [name] of RECIPES) {
    it(`${name}: random bytes and truncation`, () => {
      const base = sources.get(name)!;
      const near = Math.min(68 * KiB, base.size);
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(
              fc.oneof(
                fc.integer({ min: 0, max: Math.min(4 * KiB, base.size) - 1 }),
                fc.integer({ min: 0, max: near - 1 }),
              ),
              fc.integer({ min: 0, max: 255 }),
            ),
            { minLength: 1, maxLength: 16 },
          ),
          fc.option(fc.integer({ min: 0, max: base.size }), { freq: 5 }),
          (muts, truncate) => {
            const o = new OverlaySource(base, new Map(muts), truncate ?? undefined, `${name}.img`);
            const r = probeFilesystemDetailed(o);
            for (const d of r.diagnostics) expect(d.message).not.toMatch(/internal error/);
            expect(o.bytesRead).toBeLessThanOrEqual(MAX_BYTES);
            expect(o.reads).toBeLessThanOrEqual(MAX_READS);
            if (r.probe) {
              expect(typeof r.probe.type).toBe('string');
              expect(r.probe.readable).toBe(['ext2', 'ext3', 'ext4', 'vfat', 'iso9660'].includes(r.probe.type));
            }
          },
        ),
        { numRuns: 150 },
      );
    });
  }

  it('random small buffers with a FAT or ext magic planted', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 70000 }), fc.integer({ min: 0, max: 3 }), (bytes, plant) => {
        const b = Uint8Array.from(bytes);
        if (plant === 1 && b.length >= 512) {
          b[0] = 0xeb;
          b[510] = 0x55;
          b[511] = 0xaa;
        } else if (plant === 2 && b.length >= 2048) {
          b[1024 + 0x38] = 0x53;
          b[1024 + 0x39] = 0xef;
        } else if (plant === 3 && b.length >= 0x8800) {
          b.set([1, 0x43, 0x44, 0x30, 0x30, 0x31], 0x8000);
        }
        const r = probeFilesystemDetailed(new BufferSource(b, 'random.img'));
        for (const d of r.diagnostics) expect(d.message).not.toMatch(/internal error/);
      }),
      { numRuns: 300 },
    );
  });
});
