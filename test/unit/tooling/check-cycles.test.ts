// scripts/check-cycles.mjs (part of `npm run lint`) on small trees: a cycle made only of
// `import type` counts, as do re-exports and require(); an acyclic tree passes.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = path.join(__dirname, '..', '..', '..', 'scripts', 'check-cycles.mjs');
const dirs: string[] = [];

function run(files: Record<string, string>): { code: number | null; out: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-cycles-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'commonjs' } }));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, 'src', name)), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', name), text);
  }
  const r = spawnSync(process.execPath, [SCRIPT, 'src'], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, out: r.stdout + r.stderr };
}

afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('check-cycles', () => {
  it('passes an acyclic tree', () => {
    const r = run({ 'a.ts': "import { b } from './b';\nexport const a = b;", 'b.ts': 'export const b = 1;' });
    expect(r.out).toContain('0 cycle(s)');
    expect(r.code).toBe(0);
  });

  it('fails on a cycle of type-only imports and names both files', () => {
    const r = run({
      'a.ts': "import type { B } from './b';\nexport interface A { b?: B }",
      'b.ts': "import type { A } from './a';\nexport interface B { a?: A }",
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain('src/a.ts -> src/b.ts');
    expect(r.out).toContain('src/b.ts -> src/a.ts');
  });

  it('follows re-exports, require() and subdirectories', () => {
    const r = run({
      'x/index.ts': "export * from './y';",
      'x/y.ts': "const z = require('../z');\nexport const y = z;",
      'z.ts': "import { y } from './x';\nexport const zz = y;",
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain('import cycle among 3 file(s)');
  });
});
