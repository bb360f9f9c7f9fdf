// Runs a TypeScript file (bench, tool) by bundling it with esbuild into .cache/run/ first.
import * as esbuild from 'esbuild';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node scripts/run-ts.mjs FILE.ts [args...]');
  process.exit(2);
}
const out = path.join(root, '.cache', 'run', path.basename(file).replace(/\.ts$/, '.cjs'));
fs.mkdirSync(path.dirname(out), { recursive: true });
await esbuild.build({
  entryPoints: [path.resolve(file)],
  outfile: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // blessed loads its widgets and terminfo by path: use it from node_modules unbundled.
  external: ['*.node', 'term.js', 'pty.js', 'blessed'],
  logLevel: 'warning',
});
const r = spawnSync(process.execPath, ['--expose-gc', out, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
