// fast-check: random and mutated SYSLINUX configs (with includes) never throw, every
// diagnostic from the parser names a file, and the work is bounded by the parser limits.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../../src/discovery/sources/syslinux';
import { LIMITS, parseSyslinux, type ReadResult } from '../../../src/discovery/sources/syslinux/parser';
import { makeCtx, type TestCtx } from '../sprout/tree';

let t: TestCtx;
beforeAll(() => {
  t = makeCtx([{ fsId: 'sdb:1', files: { vmlinuz: { real: 'kernel' }, 'a,b': 'x', 'x.gz': 'x' } }]);
});
afterAll(() => t.cleanup());

const DATA = path.join(__dirname, '../../data/syslinux');
const fixtures = [
  'debian-live/isolinux/live.cfg',
  'debian-live/isolinux/menu.cfg',
  'fedora-dvd/isolinux/isolinux.cfg',
  'fedora-arm/extlinux/extlinux.conf',
].map((f) => fs.readFileSync(path.join(DATA, f), 'utf8'));

const directive = fc.constantFrom(
  'LABEL',
  'KERNEL',
  'LINUX',
  'INITRD',
  'APPEND',
  'APPEND -',
  'DEFAULT',
  'ONTIMEOUT',
  'TIMEOUT',
  'MENU LABEL',
  'MENU DEFAULT',
  'MENU BEGIN',
  'MENU END',
  'MENU EXIT',
  'MENU HIDE',
  'INCLUDE',
  'MENU INCLUDE',
  'CONFIG',
  'FDT',
  'FDTOVERLAYS',
  'LOCALBOOT',
  'COM32',
  'TEXT HELP',
  'ENDTEXT',
  'UI',
  '#',
);
const arg = fc.constantFrom(
  'a.cfg',
  'b.cfg',
  '/a.cfg',
  '../x',
  'vmlinuz',
  'mboot.c32',
  'x --- y --- z',
  'initrd=a,b',
  '0',
  '-1',
  '',
  '^L^',
  'a,b,,c',
);
const line = fc.tuple(directive, arg).map(([d, a]) => `${d} ${a}`);
const config = fc.array(line, { maxLength: 40 }).map((ls) => ls.join('\n'));

async function parseAll(files: Record<string, string>) {
  let reads = 0;
  const reader = async (p: string): Promise<ReadResult> => {
    reads++;
    const text = files[p];
    return text === undefined ? { error: 'ENOENT', missing: true } : { text };
  };
  const cfg = await parseSyslinux('/syslinux.cfg', reader);
  expect(reads).toBeLessThanOrEqual(LIMITS.files * LIMITS.restarts + LIMITS.restarts);
  expect(cfg.labels.length).toBeLessThanOrEqual(LIMITS.labels);
  for (const d of cfg.diagnostics) expect(typeof d.message).toBe('string');
  const r = await evaluate(cfg, t.ctx.filesystems[0]!, '/syslinux.cfg');
  expect(new Set(r.entries.map((e) => e.sourceId)).size).toBe(r.entries.length);
  for (const e of r.entries) for (const d of e.diagnostics) expect(d.file).toBeTruthy();
  return cfg;
}

const mutate = (s: string) =>
  fc.array(fc.tuple(fc.nat(), fc.nat(8), fc.string({ maxLength: 8 })), { maxLength: 8 }).map((ops) => {
    let out = s;
    for (const [pos, del, ins] of ops) {
      const p = pos % (out.length + 1);
      out = out.slice(0, p) + ins + out.slice(p + del);
    }
    return out;
  });

describe('syslinux fuzzing', () => {
  it('random text never throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 400 }), async (s) => void (await parseAll({ '/syslinux.cfg': s }))),
      { numRuns: 300 },
    );
  });
  it('directive soup across three mutually including files stays bounded', async () => {
    await fc.assert(
      fc.asyncProperty(
        config,
        config,
        config,
        async (a, b, c) => void (await parseAll({ '/syslinux.cfg': a, '/a.cfg': b, '/b.cfg': c })),
      ),
      { numRuns: 300 },
    );
  });
  it('mutated distribution configs never throw', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...fixtures).chain(mutate),
        async (s) => void (await parseAll({ '/syslinux.cfg': s })),
      ),
      { numRuns: 200 },
    );
  });
  it('a huge line is truncated with a warning', async () => {
    const cfg = await parseAll({ '/syslinux.cfg': `APPEND ${'x'.repeat(100_000)}\n` });
    expect(cfg.globalAppend?.length).toBeLessThan(LIMITS.lineLength);
    expect(cfg.diagnostics[0]).toMatchObject({ severity: 'warning', line: 1 });
  });
});
