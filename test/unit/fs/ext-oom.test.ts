// Own file: this test kills the ext2fs WASM module for the rest of the process on purpose.
import { expect, it } from 'vitest';
import { openExt } from '../../../src/discovery/fs/ext';
import { libDead, libMount } from '../../../src/discovery/fs/ext-module';
import { FsError, readFileLimited } from '../../../src/discovery/fs/types';
import { FileSource } from '../../../src/discovery/io/source';
import { extImage, extSpecialImage } from '../../fixtures/fsimages';
import { fileSha, sha256 } from './compare';
import * as path from 'node:path';

it('survives libext2fs running out of its heap: open filesystems and new ones go native', async () => {
  const fx = extImage('ext2-1k');
  const src = FileSource.open(fx.image);
  const before = await openExt(src, 'ext2');
  expect(before.engine).toBe('libext2fs');
  const listed = (await before.readdir('/')).map((e) => e.name).sort();

  // Force what openExt refuses to do: mount a 1 TiB volume in the 16 MiB heap.
  const huge = FileSource.open(extSpecialImage('huge').image);
  const err = await libMount(huge).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(FsError);
  expect((err as FsError).code).toBe('EIO');
  expect(libDead()).toMatch(/aborted/i);

  // The filesystem opened before keeps working through the native engine.
  expect((await before.readdir('/')).map((e) => e.name).sort()).toEqual(listed);
  expect(sha256(await readFileLimited(before, '/big.bin', 8 << 20))).toBe(fileSha(path.join(fx.tree, 'big.bin')));
  expect((await before.stat('/link-abs')).size).toBe(70000);
  await before.close();

  // New ones are opened natively, with a note saying why.
  const after = await openExt(src, 'ext2');
  expect(after.engine).toBe('native');
  expect(after.notes.join('\n')).toMatch(/without libext2fs/);
  expect((await after.stat('/hello.txt')).size).toBe(12);
  await after.close();
  huge.close();
  src.close();
});
