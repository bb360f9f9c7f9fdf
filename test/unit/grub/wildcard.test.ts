// Wildcard expansion (docs/grub-syslinux.md §A12): issue 16 finding 6's `for` over a glob with two
// dozen `*` against 200-byte names finishes in linear steps with fnmatch's answers.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileWildcard, matchWildcard, MAX_WILDCARD_BYTES } from '../../../src/discovery/sources/grub/match/wildcard';
import { runCfg } from './helpers';
import { fnmatchOracle } from './posix-oracle';

const STARS = '*a'.repeat(24) + '*b';
const NAMES = [
  'a'.repeat(200), // 200 a's and no b: the backtracking worst case
  'a'.repeat(199) + 'b',
  'ab'.repeat(100),
  'b'.repeat(200),
  'a'.repeat(23) + 'b'.repeat(177),
];

describe('issue 16 finding 6: a glob with two dozen stars', () => {
  it("matches 200-byte names with fnmatch's answer in at most 2 × (pattern + 1) × (name + 1) steps", () => {
    const c = compileWildcard(STARS);
    if (!c.ok) throw new Error(c.reason);
    const want = fnmatchOracle(NAMES.map((n) => ({ pattern: Buffer.from(STARS), name: Buffer.from(n) })));
    expect(want).toEqual([false, true, true, false, false]);
    NAMES.forEach((n, i) => {
      const m = matchWildcard(c.wildcard, n);
      expect(m.matched, n).toBe(want[i]);
      expect(m.steps).toBeLessThanOrEqual(2 * (STARS.length + 1) * (n.length + 1));
    });
  });
  it('a `for` over that glob lists the matching names, sorted, and reports nothing', async () => {
    const files = Object.fromEntries(NAMES.map((n) => [`isos/${n}`, 'x']));
    const s = await runCfg(`for f in /isos/${STARS}; do\n  menuentry "$f" { linux /k; }\ndone\n`, files);
    expect(s.entries.map((e) => e.title)).toEqual([`/isos/${'a'.repeat(199)}b`, `/isos/${'ab'.repeat(100)}`]);
    expect(s.diagnostics.filter((d) => d.severity !== 'info')).toEqual([]);
  });
  it('a pattern longer than the limit is left as written, with a warning', async () => {
    const long = '*x'.repeat(600);
    const s = await runCfg(`for f in /isos/${long}; do\n  menuentry "$f" { linux /k; }\ndone\n`, { 'isos/x': 'x' });
    expect(s.entries.map((e) => e.title)).toEqual([`/isos/${long}`]);
    expect(s.diagnostics.map((d) => d.message)).toContainEqual(
      expect.stringMatching(/wildcard \/isos\/\*x.*: pattern longer than 1024 bytes; left as written/),
    );
  });
});

describe('wildcards on arbitrary input', () => {
  it('any pattern and name: an answer in at most 2 × (pattern + 1) × (name + 1) steps', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.array(fc.constantFrom(...'*?[]!^-:.=ab'.split('')), { maxLength: 30 }).map((xs) => xs.join('')),
    );
    fc.assert(
      fc.property(text, fc.string({ maxLength: 40 }), (p, name) => {
        const c = compileWildcard(p);
        if (!c.ok) return Buffer.byteLength(p) > MAX_WILDCARD_BYTES;
        const m = matchWildcard(c.wildcard, name);
        expect(m.steps).toBeLessThanOrEqual(2 * (c.wildcard.length + 1) * (Buffer.byteLength(name) + 1));
        return true;
      }),
      { numRuns: 3000 },
    );
  });
  it('works on bytes, as grub does: `?` is one byte of UTF-8', () => {
    const one = compileWildcard('?');
    const two = compileWildcard('??');
    if (!one.ok || !two.ok) throw new Error('compile');
    expect(matchWildcard(one.wildcard, 'é').matched).toBe(false);
    expect(matchWildcard(two.wildcard, 'é').matched).toBe(true);
  });
});
