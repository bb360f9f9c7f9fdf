// Property tests: real images with random metadata bytes changed; see fuzz-helpers.ts.
import { describe, it } from 'vitest';
import { openFat } from '../../../src/discovery/fs/fat';
import { openIso9660 } from '../../../src/discovery/fs/iso9660';
import { fatImage, isoImage } from '../../fixtures/fsimages';
import { fatRegions, isoRegions, property } from './fuzz-helpers';

describe('FAT and ISO readers survive mutated metadata of real images', () => {
  it.each([12, 16, 32] as const)('FAT%i', async (bits) => {
    const img = fatImage(bits).image;
    await property(img, fatRegions(img), (s) => openFat(s), 50);
  });

  it.each(['rr-joliet', 'joliet', 'plain'] as const)('ISO 9660 (%s)', async (kind) => {
    const img = isoImage(kind).image;
    await property(img, isoRegions(img), (s) => openIso9660(s), 60);
  });
});
