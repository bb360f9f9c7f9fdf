// Bundles src/cli.ts into dist/tendril.js (one CJS file for node20) with the fixes
// docs/packages.md documents for ext2fs and blessed, and copies blessed's terminfo next to it.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
fs.mkdirSync(dist, { recursive: true });

const fixPlugin = {
  name: 'tendril-fixes',
  setup(build) {
    // ext2fs lib/fs.js reassigns two const bindings; esbuild refuses to bundle that.
    build.onLoad({ filter: /ext2fs[\\/]lib[\\/]fs\.js$/ }, async (args) => {
      let src = await fs.promises.readFile(args.path, 'utf8');
      src = src.replace(/\bconst(\s+\{?\s*(?:path|end)\b)/g, 'let$1');
      src = src.replace(/\bconst\s+path\s*=/g, 'let path =');
      return { contents: src, loader: 'js' };
    });
    // blessed: dynamic widget require needs '.js'; terminfo path must point next to the bundle.
    build.onLoad({ filter: /blessed[\\/]lib[\\/]widget\.js$/ }, async (args) => {
      let src = await fs.promises.readFile(args.path, 'utf8');
      src = src.replace("require('./widgets/' + file)", "require('./widgets/' + file + '.js')");
      return { contents: src, loader: 'js' };
    });
    build.onLoad({ filter: /blessed[\\/]lib[\\/]tput\.js$/ }, async (args) => {
      let src = await fs.promises.readFile(args.path, 'utf8');
      src = src.split("__dirname + '/../usr/").join("__dirname + '/blessed-usr/");
      return { contents: src, loader: 'js' };
    });
  },
};

const result = await esbuild.build({
  entryPoints: [path.join(root, 'src', 'cli.ts')],
  outfile: path.join(dist, 'tendril.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: false,
  minify: false,
  legalComments: 'none',
  external: ['term.js', 'pty.js', '*.node'],
  plugins: [fixPlugin],
  logLevel: 'warning',
  metafile: true,
});

const usrSrc = path.join(root, 'node_modules', 'blessed', 'usr');
const usrDst = path.join(dist, 'blessed-usr');
if (fs.existsSync(usrSrc)) {
  fs.mkdirSync(usrDst, { recursive: true });
  for (const f of ['xterm', 'xterm-256color', 'linux', 'windows-ansi', 'xterm.termcap', 'xterm.terminfo']) {
    const s = path.join(usrSrc, f);
    if (fs.existsSync(s)) fs.copyFileSync(s, path.join(usrDst, f));
  }
}
fs.writeFileSync(path.join(dist, 'meta.json'), JSON.stringify(result.metafile));
