// fast-check: random, mutated and structured sprout configs never throw out of the loader or
// the evaluator, and what comes out is bounded (entries, value lengths).
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Diagnostic } from '../../../src/discovery/diagnostics';
import { mergeDocuments } from '../../../src/discovery/sources/sprout/dropins';
import { evaluateSprout, MAX_ENTRIES } from '../../../src/discovery/sources/sprout/evaluate';
import { STAMP_LIMITS } from '../../../src/discovery/sources/sprout/stamp';
import { esp, LINUX_TYPE, makeCtx, type TestCtx } from './tree';
import { targetOf } from '../../fixtures/status';

const DATA = path.join(__dirname, '../../data/sprout');
const examples = fs
  .readdirSync(DATA)
  .filter((f) => f.endsWith('.toml'))
  .map((f) => fs.readFileSync(path.join(DATA, f), 'utf8'));

let t: TestCtx;
beforeAll(() => {
  t = makeCtx([
    esp({
      vmlinuz: { real: 'kernel' },
      'EFI/edera/xen.efi': { real: 'efi' },
      'loader/entries/a.conf': 'linux /vmlinuz\n',
    }),
    { fsId: 'vda:2', partType: LINUX_TYPE, files: { 'boot/vmlinuz-1': { real: 'kernel' }, 'boot/initrd.img-1': 'i' } },
  ]);
});
afterAll(() => t.cleanup());

async function evaluate(texts: string[]): Promise<void> {
  const ds: Diagnostic[] = [];
  const merged = mergeDocuments(
    texts.map((text, i) => ({ file: i ? `/sprout.d/${i}.toml` : '/sprout.toml', text })),
    'vda:1',
    ds,
  );
  if (!merged) {
    expect(ds.some((d) => d.severity === 'error' && d.file)).toBe(true);
    return;
  }
  const r = await evaluateSprout(merged, t.ctx.filesystems[0]!, t.ctx);
  expect(r.entries.length).toBeLessThanOrEqual(MAX_ENTRIES);
  for (const e of r.entries) {
    expect(e.title.length).toBeLessThanOrEqual(STAMP_LIMITS.valueBytes);
    const t = targetOf(e);
    if (t?.kind === 'linux') expect(t.cmdline.length).toBeLessThanOrEqual(STAMP_LIMITS.valueBytes);
  }
  for (const d of [...r.diagnostics, ...r.entries.flatMap((e) => e.diagnostics)])
    expect(typeof d.message).toBe('string');
}

const mutate = (s: string) =>
  fc.array(fc.tuple(fc.nat(), fc.nat(4), fc.string({ maxLength: 6 })), { maxLength: 6 }).map((ops) => {
    let out = s;
    for (const [pos, del, ins] of ops) {
      const p = pos % (out.length + 1);
      out = out.slice(0, p) + ins + out.slice(p + del);
    }
    return out;
  });

const key = fc.constantFrom('a', 'b', 'ab', 'x-y', 'k.v', 'boot', 'options', 'title');
const valueText = fc
  .array(
    fc.oneof(
      key.map((k) => `$${k}`),
      fc.constantFrom('x', '\\\\', '/', ' ', '$', 'initrd=\\\\vmlinuz'),
    ),
    { maxLength: 6 },
  )
  .map((a) => a.join(''));
const tomlStr = (s: string) => `"${s.replace(/"/g, '')}"`;

const structured = fc
  .record({
    values: fc.dictionary(key, valueText, { maxKeys: 6 }),
    matrix: fc.dictionary(key, fc.array(valueText, { maxLength: 4 }), { maxKeys: 4 }),
    list: fc.array(fc.dictionary(key, valueText, { maxKeys: 3 }), { maxLength: 4 }),
    path: valueText,
    options: fc.array(valueText, { maxLength: 3 }),
    def: fc.option(fc.constantFrom('a*', 'm-1', '*', 'e'), { nil: undefined }),
    timeout: fc.integer({ min: -2, max: 20 }),
  })
  .map((c) => {
    const lines = ['version = 1', '[options]', `menu-timeout = ${c.timeout}`];
    if (c.def) lines.push(`default-entry = ${tomlStr(c.def)}`);
    lines.push('[values]', ...Object.entries(c.values).map(([k, v]) => `"${k}" = ${tomlStr(v)}`));
    lines.push('[extractors.boot.filesystem-device-match]', 'has-item = "\\\\boot"');
    lines.push(
      '[actions.go]',
      `chainload.path = ${tomlStr(c.path)}`,
      `chainload.options = [${c.options.map(tomlStr).join(', ')}]`,
    );
    lines.push('[entries.e]', 'title = "$a $b"', 'actions = ["go"]');
    lines.push('[generators.m.matrix]', 'entry.title = "$a"', 'entry.actions = ["go"]');
    for (const [k, v] of Object.entries(c.matrix)) lines.push(`values."${k}" = [${v.map(tomlStr).join(', ')}]`);
    lines.push('[generators.l.list]', 'entry.title = "$ab"', 'entry.actions = ["go"]');
    lines.push(
      `values = [${c.list
        .map(
          (m) =>
            `{ ${Object.entries(m)
              .map(([k, v]) => `"${k}" = ${tomlStr(v)}`)
              .join(', ')} }`,
        )
        .join(', ')}]`,
    );
    return lines.join('\n') + '\n';
  });

describe('sprout fuzzing', () => {
  it('random text never throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 300 }), async (s) => evaluate([s])),
      { numRuns: 300 },
    );
  });
  it('mutated docs/sprout.md §16 examples (with a mutated drop-in) never throw', async () => {
    const arb = fc
      .constantFrom(...examples)
      .chain((ex) => fc.tuple(mutate(ex), mutate('[values]\ncmdline = "x"\n[mask]\nentries = ["stable"]\n')));
    await fc.assert(
      fc.asyncProperty(arb, async ([a, b]) => evaluate([a, b])),
      { numRuns: 200 },
    );
  });
  it('structured configs with cross-referencing values stay bounded', async () => {
    await fc.assert(
      fc.asyncProperty(structured, async (s) => evaluate([s])),
      { numRuns: 200 },
    );
  });
  it('absurd nesting ([a.a.a…] 300,000 levels deep) is refused with an error, not a stack overflow', async () => {
    const ds: Diagnostic[] = [];
    expect(
      mergeDocuments([{ file: '/sprout.toml', text: `[${'a.'.repeat(300_000)}a]\nx = 1\n` }], 'vda:1', ds),
    ).toBeUndefined();
    expect(ds[0]?.message).toMatch(/nested deeper than 32 levels/);
  });
  it('a self-doubling value and a 100×100 matrix end quickly in bounded output', async () => {
    const big = `[values]\nx = "a$x$x"\n[generators.m.matrix]\nentry.title = "$x $p $q"\nvalues.p = [${Array.from({ length: 100 }, (_, i) => `"${i}"`).join(',')}]\nvalues.q = [${Array.from({ length: 100 }, (_, i) => `"${i}"`).join(',')}]\n`;
    await evaluate([big]);
  });
});
