// tendril reads ext volumes with its own reader only (src/discovery/fs/ext.ts says why): the
// libext2fs reference reader and the WASM package behind it are for the tests and benchmarks,
// and must not be reachable from the command line's entry point.

import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { expect, it } from 'vitest';

it('the bundle holds no libext2fs: neither the ext2fs package nor the reference reader', async () => {
  const root = path.join(__dirname, '..', '..', '..');
  const r = await esbuild.build({
    entryPoints: [path.join(root, 'src', 'cli.ts')],
    bundle: true,
    write: false,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['term.js', 'pty.js', '*.node'],
    metafile: true,
    logLevel: 'silent',
  });
  const inputs = Object.keys(r.metafile.inputs);
  expect(inputs.some((p) => p.startsWith('src/discovery/fs/ext-native.ts'))).toBe(true);
  expect(inputs.filter((p) => /ext2fs|ext-lib\.ts|ext-module\.ts/.test(p))).toEqual([]);
}, 60_000);
