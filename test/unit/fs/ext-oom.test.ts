// Own file: this test kills the ext2fs WASM module for the rest of the process on purpose.
import { expect, it } from 'vitest';
import { openExt } from '../../../src/discovery/fs/ext';
import { openExtLib } from '../../../src/discovery/fs/ext-lib';
import { libDead, libMount } from '../../../src/discovery/fs/ext-module';
import { FsError, readFileLimited } from '../../../src/discovery/fs/types';
import { FileSource } from '../../../src/discovery/io/source';
import { extImage, extSpecialImage } from '../../fixtures/fsimages';
import { errorCode, fileSha, sha256 } from './compare';
import * as path from 'node:path';

it('libext2fs running out of its heap fails the reference reader loudly and leaves tendril reading', async () => {
  const fx = extImage('ext2-1k');
  const src = FileSource.open(fx.image);
  const before = await openExtLib(src, 'ext2');
  expect(before.engine).toBe('libext2fs');
  const listed = (await before.readdir('/')).map((e) => e.name).sort();

  // Force what openExtLib refuses to do: mount a 1 TiB volume in the 16 MiB heap.
  const huge = FileSource.open(extSpecialImage('huge').image);
  const err = await libMount(huge).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FsError);
  expect((err as FsError).code).toBe('EIO');
  expect(libDead()).toMatch(/aborted/i);

  // The reference reader never answers with another reader's bytes: every call is an error now.
  expect(await errorCode(before.stat('/link-abs'))).toBe('EIO');
  expect(await errorCode(readFileLimited(before, '/big.bin', 8 << 20))).toBe('EIO');
  await before.close();
  await expect(openExtLib(src, 'ext2')).rejects.toThrow(/libext2fs unusable/);

  // tendril's own reader does not depend on it.
  const native = await openExt(src, 'ext2');
  expect(native.engine).toBe('native');
  expect((await native.readdir('/')).map((e) => e.name).sort()).toEqual(listed);
  expect(sha256(await readFileLimited(native, '/big.bin', 8 << 20))).toBe(fileSha(path.join(fx.tree, 'big.bin')));
  await native.close();
  huge.close();
  src.close();
});
