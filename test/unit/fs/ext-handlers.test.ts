// Own file, so the ext2fs module is loaded for the first time inside this test.
import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { openExtLib } from '../../../src/discovery/fs/ext-lib';
import { FileSource } from '../../../src/discovery/io/source';
import { extImage } from '../../fixtures/fsimages';

it('removes the process-wide handlers the emscripten glue installs when loaded', async () => {
  // The glue really does install them (this is what we undo).
  const glue = execFileSync(process.execPath, [
    '-e',
    "require('ext2fs/lib/libext2fs'); console.log(process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection'))",
  ]).toString();
  expect(glue.trim()).toBe('1 1');
  const before = [process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')];
  const src = FileSource.open(extImage('ext2-1k').image);
  const fsys = await openExtLib(src, 'ext2');
  expect(fsys.engine).toBe('libext2fs');
  await fsys.readdir('/');
  await fsys.close();
  src.close();
  expect([process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection')]).toEqual(before);
});
