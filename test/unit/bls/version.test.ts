// Every version-comparison vector of docs/bls.md §8.3, table-driven, plus order-law properties.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { verscmp } from '../../../src/discovery/entries/version';

const sign = (s: '<' | '==' | '>'): -1 | 0 | 1 => (s === '<' ? -1 : s === '>' ? 1 : 0);
const flip = (r: -1 | 0 | 1): -1 | 0 | 1 => (r === 0 ? 0 : r === 1 ? -1 : 1);

function checkPair(a: string | undefined, b: string | undefined, r: -1 | 0 | 1): void {
  expect(verscmp(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(r);
  expect(verscmp(b, a), `${JSON.stringify(b)} vs ${JSON.stringify(a)}`).toBe(flip(r));
}

function checkStrictChain(chain: string[]): void {
  for (let i = 0; i < chain.length; i++) {
    expect(verscmp(chain[i], chain[i]), `${chain[i]} == itself`).toBe(0);
    for (let j = i + 1; j < chain.length; j++) checkPair(chain[i], chain[j], -1);
  }
}

describe('UAPI.10 examples', () => {
  const table: [string, string, '<' | '==' | '>'][] = [
    ['11', '11', '=='],
    ['systemd-123', 'systemd-123', '=='],
    ['bar-123', 'foo-123', '<'],
    ['123a', '123', '>'],
    ['123.a', '123', '>'],
    ['123.a', '123.b', '<'],
    ['123a', '123.a', '>'],
    ['11α', '11β', '=='],
    ['B', 'a', '<'],
    ['', '0', '<'],
    ['0.', '0', '>'],
    ['0.0', '0', '>'],
    ['0', '~', '>'],
    ['', '~', '>'],
    ['1_', '1', '=='],
    ['_1', '1', '=='],
    ['1_', '1.2', '<'],
    ['1_2_3', '1.3.3', '>'],
    ['1+', '1', '=='],
    ['+1', '1', '=='],
    ['1+', '1.2', '<'],
    ['1+2+3', '1.3.3', '>'],
  ];
  it.each(table)('%j vs %j is %s', (a, b, r) => checkPair(a, b, sign(r)));

  it('strict chain from the spec', () => {
    checkStrictChain([
      '122.1',
      '123~rc1-1',
      '123',
      '123-a',
      '123-a.1',
      '123-1',
      '123-1.1',
      '123^post1',
      '123.a-1',
      '123.1-1',
      '123a-1',
      '124-1',
    ]);
  });
});

describe('systemd test-string-util strverscmp_improved', () => {
  it('strict ascending list', () => {
    checkStrictChain([
      '~1',
      '',
      'ab',
      'abb',
      'abc',
      '0001',
      '002',
      '12',
      '122',
      '122.9',
      '123~rc1',
      '123',
      '123-a',
      '123-a.1',
      '123-a1',
      '123-a1.1',
      '123-3',
      '123-3.1',
      '123^patch1',
      '123^1',
      '123.a-1',
      '123.1-1',
      '123a-1',
      '124',
    ]);
  });

  const pairs: [string, string][] = [
    ['123.45-67.88', '123.45-67.89'],
    ['123.45-67.89', '123.45-67.89a'],
    ['123.45-67.ab', '123.45-67.89'],
    ['123.45-67.9', '123.45-67.89'],
    ['123.45-67', '123.45-67.89'],
    ['123.45-66.89', '123.45-67.89'],
    ['123.45-9.99', '123.45-67.89'],
    ['123.42-99.99', '123.45-67.89'],
    ['123-99.99', '123.45-67.89'],
    ['123~rc1-99.99', '123.45-67.89'],
    ['123~rc1-99.99', '123-45.67.89'],
    ['123~rc1-99.99', '123~rc2-67.89'],
    ['123~rc1-99.99', '123^aa2-67.89'],
    ['123~rc1-99.99', '123aa2-67.89'],
    ['123-99.99', '123.45-67.89'],
    ['123-99.99', '123^aa2-67.89'],
    ['123-99.99', '123aa2-67.89'],
    ['123^45-67.89', '123.45-67.89'],
    ['123^aa1-99.99', '123^aa2-67.89'],
    ['123^aa2-67.89', '123aa2-67.89'],
    ['123.aa2-67.89', '123aa2-67.89'],
    ['123.aa2-67.89', '123.ab2-67.89'],
  ];
  it.each(pairs)('%j is older than %j', (older, newer) => checkPair(older, newer, -1));

  const corner: [string | undefined, string | undefined, '<' | '==' | '>'][] = [
    ['123_aa2-67.89', '123aa+2-67.89', '=='],
    ['123.', '123', '>'],
    ['12_3', '123', '<'],
    ['12_3', '12', '>'],
    ['12_3', '12.3', '>'],
    ['123.0', '123', '>'],
    ['123_0', '123', '>'],
    ['123..0', '123.0', '<'],
    ['', undefined, '=='],
    [undefined, undefined, '=='],
    ['0_', '0', '=='],
    ['_0_', '0', '=='],
    ['_0', '0', '=='],
    ['0', '0___', '=='],
    ['', '_', '=='],
    ['_', '_', '=='],
    ['', '~', '>'],
    ['~', '', '<'],
    ['~', '~', '=='],
    ['1٠١٢٣٤٥٦٧٨٩', '1', '=='],
    ['1๐๑๒๓๔๕๖๗๘๙', '1', '=='],
  ];
  it.each(corner)('%j vs %j is %s', (a, b, r) => checkPair(a, b, sign(r)));
});

describe('rpm-derived vectors (strverscmp_improved_rpm)', () => {
  const rpm: [string, string, -1 | 0 | 1][] = [
    ['1.0', '1.0', 0],
    ['1.0', '2.0', -1],
    ['2.0', '1.0', 1],
    ['2.0.1', '2.0.1', 0],
    ['2.0', '2.0.1', -1],
    ['2.0.1', '2.0', 1],
    ['2.0.1a', '2.0.1a', 0],
    ['2.0.1a', '2.0.1', 1],
    ['2.0.1', '2.0.1a', -1],
    ['5.5p1', '5.5p1', 0],
    ['5.5p1', '5.5p2', -1],
    ['5.5p2', '5.5p1', 1],
    ['5.5p10', '5.5p10', 0],
    ['5.5p1', '5.5p10', -1],
    ['5.5p10', '5.5p1', 1],
    ['10xyz', '10.1xyz', 1],
    ['10.1xyz', '10xyz', -1],
    ['xyz10', 'xyz10', 0],
    ['xyz10', 'xyz10.1', -1],
    ['xyz10.1', 'xyz10', 1],
    ['xyz.4', 'xyz.4', 0],
    ['xyz.4', '8', -1],
    ['8', 'xyz.4', 1],
    ['xyz.4', '2', -1],
    ['2', 'xyz.4', 1],
    ['5.5p2', '5.6p1', -1],
    ['5.6p1', '5.5p2', 1],
    ['5.6p1', '6.5p1', -1],
    ['6.5p1', '5.6p1', 1],
    ['6.0.rc1', '6.0', 1],
    ['6.0', '6.0.rc1', -1],
    ['10b2', '10a1', 1],
    ['10a2', '10b2', -1],
    ['1.0aa', '1.0aa', 0],
    ['1.0a', '1.0aa', -1],
    ['1.0aa', '1.0a', 1],
    ['10.0001', '10.0001', 0],
    ['10.0001', '10.1', 0],
    ['10.1', '10.0001', 0],
    ['10.0001', '10.0039', -1],
    ['10.0039', '10.0001', 1],
    ['4.999.9', '5.0', -1],
    ['5.0', '4.999.9', 1],
    ['20101121', '20101121', 0],
    ['20101121', '20101122', -1],
    ['20101122', '20101121', 1],
    ['2_0', '2_0', 0],
    ['2.0', '2_0', -1],
    ['2_0', '2.0', 1],
    ['a', 'a', 0],
    ['a+', 'a+', 0],
    ['a+', 'a_', 0],
    ['a_', 'a+', 0],
    ['+a', '+a', 0],
    ['+a', '_a', 0],
    ['_a', '+a', 0],
    ['+_', '+_', 0],
    ['_+', '+_', 0],
    ['_+', '_+', 0],
    ['+', '_', 0],
    ['_', '+', 0],
    ['1.0~rc1', '1.0~rc1', 0],
    ['1.0~rc1', '1.0', -1],
    ['1.0', '1.0~rc1', 1],
    ['1.0~rc1', '1.0~rc2', -1],
    ['1.0~rc2', '1.0~rc1', 1],
    ['1.0~rc1~git123', '1.0~rc1~git123', 0],
    ['1.0~rc1~git123', '1.0~rc1', -1],
    ['1.0~rc1', '1.0~rc1~git123', 1],
    ['1.0^', '1.0^', 0],
    ['1.0^', '1.0', 1],
    ['1.0', '1.0^', -1],
    ['1.0^git1', '1.0^git1', 0],
    ['1.0^git1', '1.0', 1],
    ['1.0', '1.0^git1', -1],
    ['1.0^git1', '1.0^git2', -1],
    ['1.0^git2', '1.0^git1', 1],
    ['1.0^git1', '1.01', -1],
    ['1.01', '1.0^git1', 1],
    ['1.0^20160101', '1.0^20160101', 0],
    ['1.0^20160101', '1.0.1', -1],
    ['1.0.1', '1.0^20160101', 1],
    ['1.0^20160101^git1', '1.0^20160101^git1', 0],
    ['1.0^20160102', '1.0^20160101^git1', 1],
    ['1.0^20160101^git1', '1.0^20160102', -1],
    ['1.0~rc1^git1', '1.0~rc1^git1', 0],
    ['1.0~rc1^git1', '1.0~rc1', 1],
    ['1.0~rc1', '1.0~rc1^git1', -1],
    ['1.0^git1~pre', '1.0^git1~pre', 0],
    ['1.0^git1', '1.0^git1~pre', 1],
    ['1.0^git1~pre', '1.0^git1', -1],
    ['1b.fc17', '1b.fc17', 0],
    ['1b.fc17', '1.fc17', 1],
    ['1.fc17', '1b.fc17', -1],
    ['1g.fc17', '1g.fc17', 0],
    ['1g.fc17', '1.fc17', 1],
    ['1.fc17', '1g.fc17', -1],
    ['1.1.α', '1.1.α', 0],
    ['1.1.α', '1.1.β', 0],
    ['1.1.β', '1.1.α', 0],
    ['1.1.αα', '1.1.α', 0],
    ['1.1.α', '1.1.ββ', 0],
    ['1.1.ββ', '1.1.αα', 0],
  ];
  it.each(rpm)('%j vs %j → %d', (a, b, r) => expect(verscmp(a, b)).toBe(r));
});

describe('more corner cases', () => {
  it('numbers compare by length, without size limit', () => {
    checkPair('99999999999999999999999999', '100000000000000000000000000', -1);
    checkPair('000000000000000000000000012', '12', 0);
  });
  it('a NUL ends the string, as in C', () => {
    checkPair('1.2\u00003', '1.2', 0);
  });
});

describe('order laws (fast-check)', () => {
  const valid = fc.constantFrom(...'abAB019~-^.'.split(''));
  const withInvalid = fc.constantFrom(...'aB09~-^._+ αé'.split(''));
  const str = (chars: fc.Arbitrary<string>) => fc.array(chars, { maxLength: 12 }).map((a) => a.join(''));

  for (const [name, arb] of [
    ['valid alphabet', str(valid)],
    ['with separators', str(withInvalid)],
  ] as const) {
    it(`reflexive and antisymmetric (${name})`, () => {
      fc.assert(
        fc.property(arb, arb, (a, b) => {
          expect(verscmp(a, a)).toBe(0);
          expect(verscmp(a, b)).toBe(flip(verscmp(b, a)));
        }),
        { numRuns: 3000 },
      );
    });
    it(`transitive (${name})`, () => {
      fc.assert(
        fc.property(arb, arb, arb, (a, b, c) => {
          const ab = verscmp(a, b);
          const bc = verscmp(b, c);
          if (ab <= 0 && bc <= 0) expect(verscmp(a, c)).toBeLessThanOrEqual(0);
          if (ab === 0 && bc === 0) expect(verscmp(a, c)).toBe(0);
          if (ab < 0 && bc <= 0) expect(verscmp(a, c)).toBe(-1);
        }),
        { numRuns: 5000 },
      );
    });
  }

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ maxLength: 40 }), (a, b) => {
        const r = verscmp(a, b);
        expect([-1, 0, 1]).toContain(r);
      }),
      { numRuns: 300 },
    );
  });

  it('sorting random lists is consistent with pairwise order', () => {
    fc.assert(
      fc.property(fc.array(str(valid), { maxLength: 20 }), (list) => {
        const sorted = [...list].sort(verscmp);
        for (let i = 1; i < sorted.length; i++) expect(verscmp(sorted[i - 1], sorted[i])).toBeLessThanOrEqual(0);
      }),
      { numRuns: 500 },
    );
  });
});
