// The wildcard matcher against glibc's fnmatch(3) with FNM_NOESCAPE in the C locale
// (posix-oracle.ts), on hand-picked and generated patterns and names (docs/grub-syslinux.md §A12).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileWildcard, matchWildcard } from '../../../src/discovery/sources/grub/match/wildcard';
import { fnmatchOracle, oracleSeed } from './posix-oracle';

const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');
/** Names and patterns are ASCII or single latin1 bytes; compare as the matcher sees them (UTF-8 of latin1 text is not those bytes), so keep to ASCII here. */
function ours(pattern: string, name: string): boolean {
  const c = compileWildcard(pattern);
  if (!c.ok) throw new Error(c.reason);
  return matchWildcard(c.wildcard, name).matched;
}

function compare(cases: readonly (readonly [string, string])[]): string[] {
  const want = fnmatchOracle(cases.map(([p, n]) => ({ pattern: bytes(p), name: bytes(n) })));
  const bad: string[] = [];
  cases.forEach(([p, n], i) => {
    const got = ours(p, n);
    if (got !== want[i]) bad.push(`${JSON.stringify(p)} ~ ${JSON.stringify(n)}: ours ${got} fnmatch ${want[i]}`);
  });
  return bad.sort((a, b) => a.length - b.length);
}

const EDGE: readonly (readonly [string, string])[] = [
  ['[ab]', 'a'],
  ['[!a]', 'b'],
  ['[^a]', 'b'],
  ['[]a]', ']'],
  ['[!]a]', 'b'],
  ['[a-]', '-'],
  ['[a', '[a'],
  ['[a', 'a'],
  ['[z-a]', 'a'],
  ['[z-a]', 'z'],
  ['[[:alpha:]]', 'a'],
  ['[[:foo:]]', 'a'],
  ['[[:foo:]]', '[[:foo:]]'],
  ['[[:alpha:]', '['],
  ['[[:alpha:]', '[a'],
  ['[[.a.]]', 'a'],
  ['[[=a=]]', 'a'],
  ['[[.-.]]', '-'],
  ['[a-c-e]', 'd'],
  ['[a-c-e]', '-'],
  ['[a-c-e]', 'e'],
  ['[\\]', '\\'],
  ['\\*', '\\x'],
  ['\\*', '*'],
  ['*a*', 'bab'],
  ['[[.hy.]]', 'h'],
  ['[[=ab=]]', 'a'],
  ['[[:alpha:]-z]', '-'],
  ['[a-[:alpha:]]', 'b'],
  ['[a-[:alpha:]]', '['],
  ['[--0]', '/'],
  ['[]-a]', '^'],
  ['[]', ']'],
  ['[]', '[]'],
  ['[]]', ']'],
  ['[!]', '!'],
  ['[!]', '[!]'],
  ['[!]]', 'a'],
  ['[[]', '['],
  ['a[', 'a['],
  ['[[:]', ':'],
  ['[[:a]', 'a'],
  ['[[.]', '.'],
  ['[[.].]]', ']'],
  ['[x[.].]]', ']'],
  ['[[:abcdefghi]', 'a'],
  ['[[.a.]-]', 'a'],
  ['[[.a.]-]', '-'],
  ['[a[', 'a'],
  ['[[a', '[a'],
  ['[b[a', '[a'],
  ['[[a', '[[a'],
  ['[b[a', '[b[a'],
  ['[[[:foo:]', '[['],
  ['[[:foo:]', '[f'],
  ['[[.ab.]', '[.'],
  ['[a-', '[a-'],
  ['[!a', '[!a'],
  ['[!a', 'b'],
  ['[[=a=]', '[='],
  ['[[=a=]', 'a'],
  ['[[:alpha:]', '[a'],
  ['[a[:foo:]]', 'a'],
  ['[[:foo:]a]', 'a'],
  ['[a[.xy.]]', 'a'],
  ['[[.xy.]a]', 'a'],
  ['[a[=b]', 'a'],
  ['[a[=b=]', 'a'],
  ['.*', '.x'],
  ['*', '.x'],
  ['*.iso', 'x.iso'],
  ['vmlinuz-*', 'vmlinuz-6.1.0-13-amd64'],
  ['?', ''],
  ['', ''],
  ['*', ''],
];

describe('wildcards against glibc fnmatch(FNM_NOESCAPE)', () => {
  it('edge cases of bracket expressions', () => {
    const bad = compare(EDGE);
    expect(bad, bad.slice(0, 12).join('\n')).toEqual([]);
  });
  it('generated patterns and names', () => {
    const seed = oracleSeed();
    const piece = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('a', 'b', '-', '.', '*', '?') },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          '[ab]',
          '[!a]',
          '[^-]',
          '[a-c]',
          '[]a]',
          '[[:alpha:]]',
          '[[:digit:]-]',
          '[[.a.]b]',
          '[[=b=]]',
        ),
      },
      { weight: 1, arbitrary: fc.constantFrom('[', ']', '!', '^', ':', '=', '[:', '[.', '[=', ':]', '.]', '=]') },
    );
    const pattern = fc.array(piece, { maxLength: 8 }).map((xs) => xs.join(''));
    const name = fc.stringMatching(/^[ab.\-[\]!:=1]{0,8}$/);
    const cases = fc.sample(fc.tuple(pattern, name), { numRuns: 6000, seed });
    const bad = compare(cases);
    expect(bad, `seed ${seed}, ${bad.length} of ${cases.length}\n${bad.slice(0, 12).join('\n')}`).toEqual([]);
  });
});
