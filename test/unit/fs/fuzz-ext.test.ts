// Property tests: real images with random metadata bytes changed; see fuzz-helpers.ts.
import { describe, it } from 'vitest';
import { openExt } from '../../../src/discovery/fs/ext';
import { openExtLib } from '../../../src/discovery/fs/ext-lib';
import { extImage, extSpecialImage } from '../../fixtures/fsimages';
import { extRegions, property } from './fuzz-helpers';

describe('ext readers survive mutated metadata of real images', () => {
  it.each(['ext4', 'ext2-1k', 'ext3'] as const)('%s, native reader', async (kind) => {
    const img = extImage(kind).image;
    await property(img, extRegions(img), (s) => openExt(s, 'ext4'), 40);
  });

  it.each(['meta_bg', 'inline'] as const)('ext4 with %s, native reader', async (kind) => {
    const img = extSpecialImage(kind).image;
    await property(img, extRegions(img), (s) => openExt(s, 'ext4'), 30);
  });

  it('ext4 through the libext2fs reference reader (the cross-check must survive what it checks)', async () => {
    const img = extImage('ext4').image;
    await property(img, extRegions(img), (s) => openExtLib(s, 'ext4'), 25);
  });
});
