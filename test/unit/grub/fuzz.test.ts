// fast-check: the lexer, parser and evaluator never throw, never hang and stay bounded on
// random token soups, mutated real configs and random bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lex } from '../../../src/discovery/sources/grub/lexer';
import { parse } from '../../../src/discovery/sources/grub/parser';
import { DEFAULT_LIMITS, scanGrub } from '../../../src/discovery/sources/grub';
import { DATA, makeCtx, type TestCtx } from './helpers';

const LIMITS = {
  ...DEFAULT_LIMITS,
  maxSteps: 20_000,
  maxLoopIterations: 2_000,
  maxWordBytes: 4096,
  maxEnvBytes: 64 * 1024,
  maxEntries: 200,
};

const TOKENS = [
  'if',
  'then',
  'elif',
  'else',
  'fi',
  'for',
  'in',
  'do',
  'done',
  'while',
  'until',
  'function',
  'f',
  'menuentry',
  'submenu',
  'hiddenentry',
  '{',
  '}',
  ';',
  '\n',
  ' ',
  '\t',
  "'",
  '"',
  '\\',
  '$',
  '${',
  '$a',
  '${a}',
  '$1',
  '$@',
  '"$@"',
  '#',
  'a',
  'b=c',
  'set',
  'a=$a$a',
  'source',
  'configfile',
  '/boot/grub/grub.cfg',
  '/boot/grub/x.cfg',
  'linux',
  'initrd',
  '/k',
  '(hd0,gpt1)/k',
  '($root)/k',
  'search',
  '--set=root',
  '--fs-uuid',
  '-f',
  '[',
  ']',
  '-f',
  '-d',
  '=',
  '!=',
  '-eq',
  '-a',
  '-o',
  '(',
  ')',
  '!',
  '/boot/*',
  '(hd0,gpt1)/*',
  '[ab]*',
  'eval',
  'true',
  'false',
  'return',
  'break',
  'continue',
  'shift',
  'load_env',
  'save_env',
  'blscfg',
  'loopback',
  'loop',
  'chainloader',
  '+1',
  'multiboot2',
  'module2',
  'regexp',
  '--set=1:v',
  '^(a+)+$',
  'export',
  'unset',
  'f;',
  'f',
  'x',
  '>',
  'default=0',
];

let t: TestCtx;
const cfgPath = (): string => path.join(t.root, 'vda-1', 'boot', 'grub', 'grub.cfg');
beforeAll(() => {
  t = makeCtx([
    {
      device: 'vda',
      partition: 1,
      uuid: '0a0b0c0d-1111-4222-8333-444455556666',
      files: {
        'boot/grub/grub.cfg': '',
        'boot/grub/x.cfg': 'source /boot/grub/grub.cfg\nf\n',
        k: 'k',
        'loader/entries/a.conf': 'title a\nlinux /k\noptions $a $@\n',
      },
    },
  ]);
});
afterAll(() => t.cleanup());

async function evaluate(text: string): Promise<void> {
  fs.writeFileSync(cfgPath(), text);
  const t0 = Date.now();
  const s = await scanGrub(t.ctx, { limits: LIMITS });
  // Bounded: no entry or diagnostic explosion; JSON-serialisable.
  expect(s.entries.length).toBeLessThanOrEqual(LIMITS.maxEntries);
  expect(JSON.stringify(s).length).toBeLessThan(50 << 20);
  expect(Date.now() - t0).toBeLessThan(10_000);
}

const soup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 120 }).map((a) => a.join(' '));
const tightSoup = fc.array(fc.constantFrom(...TOKENS), { maxLength: 120 }).map((a) => a.join(''));

const fixtures = fs
  .readdirSync(DATA)
  .filter((f) => f.endsWith('.cfg'))
  .map((f) => fs.readFileSync(path.join(DATA, f), 'utf8'));
const mutated = fc
  .tuple(
    fc.constantFrom(...fixtures),
    fc.array(
      fc.tuple(fc.nat(), fc.nat({ max: 200 }), fc.constantFrom('delete', 'dup', 'insert'), fc.constantFrom(...TOKENS)),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([text, muts]) => {
    let s = text;
    for (const [at, len, op, tok] of muts) {
      const i = s.length ? at % s.length : 0;
      if (op === 'delete') s = s.slice(0, i) + s.slice(i + len);
      else if (op === 'dup') s = s.slice(0, i + len) + s.slice(i, i + len) + s.slice(i + len);
      else s = s.slice(0, i) + tok + s.slice(i);
    }
    return s;
  });

describe('grub front end fuzzing', () => {
  it('lexer and parser never throw on token soups and random strings', () => {
    fc.assert(
      fc.property(
        fc.oneof(soup, tightSoup, fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })),
        (src) => {
          lex(src);
          const p = parse(src);
          for (const e of p.errors) expect(e.line).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('the evaluator never throws on token soups', async () => {
    await fc.assert(fc.asyncProperty(fc.oneof(soup, tightSoup), evaluate), { numRuns: 250 });
  }, 60_000);

  it('the evaluator never throws on mutated real configs', async () => {
    await fc.assert(fc.asyncProperty(mutated, evaluate), { numRuns: 150 });
  }, 60_000);

  it('pathological inputs end in diagnostics', async () => {
    for (const src of [
      'function f { f; }; f',
      'set a=x; while true; do set a=$a$a; done',
      'source /boot/grub/grub.cfg',
      'configfile /boot/grub/x.cfg',
      'function f { f; f; }; f',
      'for i in 1 2 3 4 5 6 7 8 9 10; do for j in 1 2 3 4 5 6 7 8 9 10; do for k in 1 2 3 4 5 6 7 8 9 10; do for l in 1 2 3 4 5 6 7 8 9 10; do true; done; done; done; done',
      '{'.repeat(10000),
      'if '.repeat(10000),
    ]) {
      fs.writeFileSync(cfgPath(), src);
      const s = await scanGrub(t.ctx, { limits: LIMITS });
      expect(
        s.diagnostics.some((d) => d.severity === 'error'),
        src.slice(0, 40),
      ).toBe(true);
    }
  }, 60_000);
});
