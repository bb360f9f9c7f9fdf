// loader.conf `default` glob (docs/bls.md §11.3): sd-boot fnmatch semantics, checked against a
// table, against an independent dynamic-programming matcher, and for bounded work.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fnmatch, fnmatchCounted } from '../../../src/discovery/entries/glob';

describe('fnmatch table', () => {
  const table: [string, string, boolean][] = [
    ['fedora-*', 'fedora-6.1.conf', true],
    ['fedora-*', 'debian-6.1.conf', false],
    ['6a9857a393724b7a981ebb5b8495b9ea-*', '6a9857a393724b7a981ebb5b8495b9ea-6.8.9.conf', true],
    ['*.conf', 'a.conf', true],
    ['*.conf', 'a.efi', false],
    ['*', '', true],
    ['', '', true],
    ['', 'a', false],
    ['a', '', false],
    ['?', 'a', true],
    ['?', '', false],
    ['??', 'a', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'axxbyyc', true],
    ['a*b*c', 'axxbyycd', false],
    ['a*b*c', 'acb', false],
    ['*a', 'aaaa', true],
    ['*ab', 'aab', true],
    ['**x', 'yx', true],
    ['[abc]', 'b', true],
    ['[abc]', 'd', false],
    ['[a-c]x', 'bx', true],
    ['[a-c]x', 'dx', false],
    ['[]]', ']', true], // ']' first in a set is literal
    ['[]a]', 'a', true],
    ['[-a]', '-', true], // '-' first is literal
    ['[a-]', '-', true], // '-' last is literal
    ['[a-c-f]', 'e', false], // ranges do not chain: [a-c-f] == [-abcf]
    ['[a-c-f]', 'f', true],
    ['[a-c-f]', '-', true],
    ['[\\]]', ']', true],
    ['[a', 'a', false], // unterminated set never matches
    ['[]', ']', false],
    ['\\*', '*', true],
    ['\\*', 'a', false],
    ['a\\', 'a', false], // trailing escape
    ['\\?x', '?x', true],
    ['[*]', '*', true], // '*' inside a set is literal
    ['[*]', 'a', false],
    ['auto-*', 'auto-windows', true],
    ['@saved', '@saved', true],
    ['é?', 'éx', true],
    ['?', '😀', true],
  ];
  it.each(table)('%j ~ %j = %s', (p, t, r) => expect(fnmatch(p, t)).toBe(r));

  it('is case-sensitive (callers lower-case both sides)', () => {
    expect(fnmatch('Fedora-*', 'fedora-1.conf')).toBe(false);
  });
});

// Independent reference: patterns are built from tokens; a DP matcher runs on the tokens.
type Tok =
  | { t: 'lit'; c: string }
  | { t: 'any' }
  | { t: 'star' }
  | { t: 'set'; items: ({ c: string } | { lo: string; hi: string })[] };

function render(toks: Tok[]): string {
  return toks
    .map((k) => {
      switch (k.t) {
        case 'lit':
          return '*?[\\'.includes(k.c) ? '\\' + k.c : k.c;
        case 'any':
          return '?';
        case 'star':
          return '*';
        case 'set':
          return '[' + k.items.map((i) => ('c' in i ? i.c : `${i.lo}-${i.hi}`)).join('') + ']';
      }
    })
    .join('');
}

function tokMatches(k: Tok, ch: string): boolean {
  if (k.t === 'lit') return k.c === ch;
  if (k.t === 'any') return true;
  if (k.t === 'set') return k.items.some((i) => ('c' in i ? i.c === ch : i.lo <= ch && ch <= i.hi));
  return false;
}

function reference(toks: Tok[], text: string): boolean {
  const n = text.length;
  // dp[j] = tokens[0..i) match text[0..j)
  let dp = new Array<boolean>(n + 1).fill(false);
  dp[0] = true;
  for (const k of toks) {
    const next = new Array<boolean>(n + 1).fill(false);
    if (k.t === 'star') {
      let any = false;
      for (let j = 0; j <= n; j++) {
        any = any || dp[j]!;
        next[j] = any;
      }
    } else {
      for (let j = 1; j <= n; j++) next[j] = dp[j - 1]! && tokMatches(k, text[j - 1]!);
    }
    dp = next;
  }
  return dp[n]!;
}

const ch = fc.constantFrom('a', 'b', 'c', '-', ']', '*', '?', '[', '\\');
const setItem = fc.oneof(
  fc.constantFrom('a', 'b', 'c').map((c) => ({ c })),
  fc.tuple(fc.constantFrom('a', 'b'), fc.constantFrom('b', 'c')).map(([lo, hi]) => ({ lo, hi })),
);
const tok: fc.Arbitrary<Tok> = fc.oneof(
  { weight: 4, arbitrary: ch.map((c) => ({ t: 'lit' as const, c })) },
  { weight: 1, arbitrary: fc.constant({ t: 'any' as const }) },
  { weight: 2, arbitrary: fc.constant({ t: 'star' as const }) },
  {
    weight: 1,
    arbitrary: fc.array(setItem, { minLength: 1, maxLength: 3 }).map((items) => ({ t: 'set' as const, items })),
  },
);

describe('fnmatch properties', () => {
  it('agrees with a dynamic-programming reference', () => {
    fc.assert(
      fc.property(
        fc.array(tok, { maxLength: 8 }),
        fc.array(ch, { maxLength: 10 }).map((a) => a.join('')),
        (toks, text) => {
          expect(fnmatch(render(toks), text)).toBe(reference(toks, text));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('a pattern matches a text built from it', () => {
    fc.assert(
      fc.property(
        fc.array(tok, { maxLength: 8 }),
        fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 3 }),
        (toks, fill) => {
          // Instantiate each token with a matching character.
          const text = toks
            .map((k) =>
              k.t === 'lit'
                ? k.c
                : k.t === 'any'
                  ? 'x'
                  : k.t === 'star'
                    ? fill.join('')
                    : 'c' in k.items[0]!
                      ? k.items[0].c
                      : k.items[0]!.lo,
            )
            .join('');
          expect(fnmatch(render(toks), text)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never throws and does bounded work on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.string({ maxLength: 60 }), (p, t) => {
        const r = fnmatchCounted(p, t);
        expect(r.steps).toBeLessThanOrEqual((p.length + 2) * (t.length + 2) * 2);
      }),
      { numRuns: 3000 },
    );
  });

  it('no catastrophic backtracking on the classic pathological pattern', () => {
    const n = 2000;
    const pattern = 'a*'.repeat(50) + 'b';
    const text = 'a'.repeat(n);
    const r = fnmatchCounted(pattern, text);
    expect(r.match).toBe(false);
    // Exponential backtracking would need ~C(2000,50) steps; chunk matching is linear-ish.
    expect(r.steps).toBeLessThan(pattern.length * n * 2);
  });
});
