// Own file: if this regresses it kills the ext2fs module for the rest of the process.
import { expect, it } from 'vitest';
import { openExtLib } from '../../../src/discovery/fs/ext-lib';
import { libDead } from '../../../src/discovery/fs/ext-module';
import { FileSource } from '../../../src/discovery/io/source';
import { extImage } from '../../fixtures/fsimages';
import * as fs from 'node:fs';
import * as path from 'node:path';

it('thousands of listings, lookups and reads leave libext2fs alive (its readdir leaks, so we do not call it)', async () => {
  const fx = extImage('ext4');
  const want = fs.statSync(path.join(fx.tree, 'loader/loader.conf')).size;
  const src = FileSource.open(fx.image);
  const fsys = await openExtLib(src, 'ext4');
  expect(fsys.engine).toBe('libext2fs');
  for (let i = 0; i < 2500; i++) {
    expect((await fsys.readdir('/loader/entries')).length).toBe(2);
    if (i % 10 === 0) {
      const h = await fsys.open('/loader/loader.conf');
      expect((await h.read(0, 100)).length).toBe(want);
      await h.close();
    }
  }
  expect(libDead()).toBeNull();
  await fsys.close();
  src.close();
}, 120_000);
