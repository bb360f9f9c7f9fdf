// Stamping (docs/sprout.md §4.2) and finalisation (§4.3), including the limits tendril adds.
import { describe, expect, it } from 'vitest';
import { combineOptions, finalize, stamp, STAMP_LIMITS, StampError } from '../../../src/discovery/sources/sprout/stamp';

const m = (o: Record<string, string>) => new Map(Object.entries(o));

describe('stamp (docs/sprout.md §4.2)', () => {
  it('replaces every occurrence of $key', () => {
    expect(stamp('$a-$a', m({ a: 'x' }))).toBe('x-x');
  });
  it('keys may contain - and .', () => {
    expect(
      stamp(
        '$linux-options $machine-id $title-base $a.b',
        m({ 'linux-options': 'L', 'machine-id': 'M', 'title-base': 'T', 'a.b': 'D' }),
      ),
    ).toBe('L M T D');
  });
  it('longest key first: $linux-options is not $linux followed by -options', () => {
    expect(stamp('$linux-options', m({ linux: 'K', 'linux-options': 'O' }))).toBe('O');
  });
  it('plain substring: with key a and no abc, $abc becomes <a>bc', () => {
    expect(stamp('$abc', m({ a: 'X' }))).toBe('Xbc');
  });
  it('no escapes: $$x is "$" + x, ${x} stays literal, unknown $foo stays', () => {
    expect(stamp('$$x', m({ x: 'v' }))).toBe('$v');
    expect(stamp('${x}', m({ x: 'v' }))).toBe('${x}');
    expect(stamp('$foo', m({ x: 'v' }))).toBe('$foo');
  });
  it('applies keys to the running result (a value inserted by a longer key is stamped by a shorter one)', () => {
    expect(stamp('$long', m({ long: '$s', s: 'short' }))).toBe('short');
    // ...but not the other way round within one pass: a shorter key's value naming a longer key stays.
    expect(stamp('$s', m({ long: 'L', s: '$long' }))).toBe('$long');
  });
  it('empty keys are skipped', () => {
    expect(stamp('$ x', m({ '': 'E' }))).toBe('$ x');
  });
});

describe('finalize (docs/sprout.md §4.3)', () => {
  it('resolves values that refer to other values', () => {
    const f = finalize(m({ kver: '6.1', kernel: '\\vmlinuz-$kver' }));
    expect(f.get('kernel')).toBe('\\vmlinuz-6.1');
  });
  it('x = "$x" is stable', () => {
    expect(finalize(m({ x: '$x' })).get('x')).toBe('$x');
  });
  it('x = "a$x" ends in a StampError (length limit), not in memory exhaustion', () => {
    expect(() => finalize(m({ x: 'a$x' }))).toThrow(StampError);
    expect(() => finalize(m({ x: '$x$x' }))).toThrow(/grows beyond/);
  });
  it('many moderately large values hit the total limit', () => {
    const big = 'y'.repeat(STAMP_LIMITS.valueBytes - 10);
    const o: Record<string, string> = {};
    for (let i = 0; i < 20; i++) o[`v${i}`] = '$big';
    o.big = big;
    expect(() => finalize(m(o))).toThrow(/in total/);
  });
  it('a long reference chain needs several rounds; the iteration limit ends it', () => {
    // Equal-length keys are stamped alphabetically; each names the previous one, which was
    // already processed in that pass. Rounds re-stamp against the previous round's map, so a
    // chain of n resolves in about log2(n) rounds (pointer jumping).
    const k = (i: number) => `k${String(i).padStart(3, '0')}`;
    const chain = (n: number) => {
      const o: Record<string, string> = { [k(1)]: 'end' };
      for (let i = 2; i <= n; i++) o[k(i)] = '$' + k(i - 1);
      return m(o);
    };
    expect(finalize(chain(50)).get(k(50))).toBe('end');
    expect(finalize(chain(110)).get(k(110))).toBe('end');
    expect(() => finalize(chain(110), { ...STAMP_LIMITS, iterations: 3 })).toThrow(
      'maximum number of replacement iterations reached',
    );
    expect(finalize(chain(110), { ...STAMP_LIMITS, iterations: 10 }).get(k(110))).toBe('end');
  });
});

describe('combineOptions', () => {
  it('stamps items, drops empty ones, joins with one space', () => {
    expect(combineOptions(['$a', '', '$empty', 'quiet'], m({ a: 'root=x', empty: '' }))).toBe('root=x quiet');
  });
});
