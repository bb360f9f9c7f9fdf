// Import-cycle check (part of `npm run lint`). Every module edge counts: value imports,
// `import type`, `export ... from`, `import()` and `require()` — a cycle made only of type
// imports still ties the modules' designs together. Resolution is TypeScript's own, with
// tsconfig.json's options; only files inside the given roots are nodes.
// Usage: node scripts/check-cycles.mjs [DIR...]   (default: src test bench initramfs scripts)
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const root = process.cwd();
const dirs = process.argv.slice(2);
const roots = (dirs.length ? dirs : ['src', 'test', 'bench', 'initramfs', 'scripts']).map((d) => path.resolve(root, d));
const EXT = /\.(ts|mts|cts|mjs|cjs|js)$/;

function walk(dir, out) {
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules' && e.name !== 'data') walk(p, out);
    } else if (EXT.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const cfgPath = ts.findConfigFile(root, ts.sys.fileExists, 'tsconfig.json');
const options = cfgPath
  ? ts.parseJsonConfigFileContent(ts.readConfigFile(cfgPath, ts.sys.readFile).config, ts.sys, root).options
  : {};
options.allowJs = true;

const files = roots.flatMap((r) => walk(r, []));
const nodes = new Set(files);
const edges = new Map();
for (const f of files) {
  const info = ts.preProcessFile(fs.readFileSync(f, 'utf8'), true, true);
  const out = new Set();
  for (const ref of info.importedFiles) {
    const r = ts.resolveModuleName(ref.fileName, f, options, ts.sys).resolvedModule;
    if (r && !r.isExternalLibraryImport && nodes.has(path.resolve(r.resolvedFileName)))
      out.add(path.resolve(r.resolvedFileName));
  }
  edges.set(f, [...out].sort());
}

// Tarjan's strongly connected components; any component of 2+ files (or a self-import) is a cycle.
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const on = new Set();
const cycles = [];
function strong(v) {
  idx.set(v, index);
  low.set(v, index++);
  stack.push(v);
  on.add(v);
  for (const w of edges.get(v)) {
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      on.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || edges.get(v).includes(v)) cycles.push(comp.sort());
  }
}
for (const f of [...files].sort()) if (!idx.has(f)) strong(f);

const rel = (f) => path.relative(root, f);
for (const comp of cycles) {
  const set = new Set(comp);
  console.error(`import cycle among ${comp.length} file(s):`);
  for (const f of comp)
    console.error(
      `  ${rel(f)} -> ${edges
        .get(f)
        .filter((w) => set.has(w))
        .map(rel)
        .join(', ')}`,
    );
}
console.log(`check-cycles: ${files.length} files, ${cycles.length} cycle(s)`);
process.exit(cycles.length ? 1 : 0);
