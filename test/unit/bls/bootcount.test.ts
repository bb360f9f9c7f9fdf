// Boot counter parsing (docs/bls.md §9.1 table) and renaming (§9.2 width rules and series).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { counterState, nextCounterName, parseEntryName } from '../../../src/discovery/entries/bootcount';

describe('parseEntryName (docs/bls.md §9.1 table)', () => {
  const table: [string, number | null, number | null, string][] = [
    ['foo+3.conf', 3, 0, 'foo.conf'],
    ['foo+3-0.conf', 3, 0, 'foo.conf'],
    ['foo+0-3.conf', 0, 3, 'foo.conf'],
    ['a+b+2-1.conf', 2, 1, 'a+b.conf'],
    ['foo+.conf', null, null, 'foo+.conf'],
    ['foo+3x.conf', null, null, 'foo+3x.conf'],
    ['foo+3-.conf', null, null, 'foo+3-.conf'],
    ['Linux+05-00.EFI', 5, 0, 'linux.efi'],
  ];
  it.each(table)('%s → left %s done %s id %s', (name, left, done, id) => {
    const p = parseEntryName(name);
    expect(p.id).toBe(id);
    if (left === null) {
      expect(p.counter).toBeUndefined();
    } else {
      expect(p.counter).toMatchObject({ triesLeft: left, triesDone: done, fileName: name });
    }
  });

  it('records digit widths (0 = no -DONE)', () => {
    expect(parseEntryName('foo+04-00.conf').counter).toMatchObject({ widthLeft: 2, widthDone: 2 });
    expect(parseEntryName('foo+3.conf').counter).toMatchObject({ widthLeft: 1, widthDone: 0 });
  });

  it('a counter in the middle of the name does not count', () => {
    expect(parseEntryName('foo+3-1-bar.conf').counter).toBeUndefined();
    expect(parseEntryName('foo+3.conf.bak').counter).toBeUndefined();
  });

  it('values above INT_MAX disable counting', () => {
    expect(parseEntryName('foo+2147483647.conf').counter?.triesLeft).toBe(2147483647);
    expect(parseEntryName('foo+2147483648.conf').counter).toBeUndefined();
    expect(parseEntryName('foo+1-2147483648.conf').counter).toBeUndefined();
    expect(parseEntryName('foo+99999999999999999999999.conf').counter).toBeUndefined();
  });

  it('lower-cases ids without a counter, suffix kept', () => {
    expect(parseEntryName('Fedora-6.1.CONF').id).toBe('fedora-6.1.conf');
  });

  it('states: good, indeterminate, bad', () => {
    expect(counterState(parseEntryName('a.conf').counter)).toBe('good');
    expect(counterState(parseEntryName('a+1.conf').counter)).toBe('indeterminate');
    expect(counterState(parseEntryName('a+0-3.conf').counter)).toBe('bad');
  });
});

describe('nextCounterName (docs/bls.md §9.2)', () => {
  function series(start: string, n: number): string[] {
    const out = [start];
    for (let i = 0; i < n; i++) out.push(nextCounterName(out[out.length - 1]!)!);
    return out;
  }

  it('foo+3.conf series grows once, then keeps going past bad', () => {
    expect(series('foo+3.conf', 4)).toEqual([
      'foo+3.conf',
      'foo+2-1.conf',
      'foo+1-2.conf',
      'foo+0-3.conf',
      'foo+0-4.conf',
    ]);
  });

  it('foo+04-00.conf series keeps widths', () => {
    expect(series('foo+04-00.conf', 4)).toEqual([
      'foo+04-00.conf',
      'foo+03-01.conf',
      'foo+02-02.conf',
      'foo+01-03.conf',
      'foo+00-04.conf',
    ]);
  });

  it('+10 becomes +09, not +9', () => {
    expect(nextCounterName('foo+10-00.conf')).toBe('foo+09-01.conf');
  });

  it('caps tries_done at the width maximum', () => {
    expect(nextCounterName('foo+3-99.conf')).toBe('foo+2-99.conf');
    expect(nextCounterName('foo+0-9.conf')).toBe('foo+0-9.conf');
    expect(nextCounterName('foo+0-09.conf')).toBe('foo+0-10.conf');
  });

  it('keeps the on-disk case of name and suffix', () => {
    expect(nextCounterName('Linux+05-00.EFI')).toBe('Linux+04-01.EFI');
  });

  it('no counter, no rename', () => {
    expect(nextCounterName('foo.conf')).toBeUndefined();
    expect(nextCounterName('foo+3x.conf')).toBeUndefined();
  });

  it('fixed-width names never change length; the id never changes (property)', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9.+-]{1,12}$/),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 4 }),
        fc.nat(),
        fc.nat(),
        fc.constantFrom('.conf', '.efi', '.CONF'),
        (stem, wl, wd, l, d, suffix) => {
          const left = String(l % 10 ** wl).padStart(wl, '0');
          const done = String(d % 10 ** wd).padStart(wd, '0');
          const name = `${stem}+${left}-${done}${suffix}`;
          const next = nextCounterName(name)!;
          expect(next.length).toBe(name.length);
          expect(parseEntryName(next).id).toBe(parseEntryName(name).id);
          const a = parseEntryName(name).counter!;
          const b = parseEntryName(next).counter!;
          expect(b.triesLeft).toBe(Math.max(a.triesLeft - 1, 0));
          expect(b.triesDone).toBe(Math.min(a.triesDone + 1, 10 ** wd - 1));
        },
      ),
      { numRuns: 500 },
    );
  });
});
