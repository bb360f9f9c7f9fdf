// Menu order (docs/bls.md §8.1/§8.2) with every "Sorting test vectors" row of §8.3, the spec's
// step 4 (suffix stripped) and the deterministic tie-breaks.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compareBls, compareEntries, compareFsId, sortId, strcmpUtf8 } from '../../../src/discovery/entries/sort';
import type { SourceEntry } from '../../../src/discovery/model';
import { entry, files } from './helpers';

const sorted = (list: SourceEntry[], roles: Record<string, 'esp' | 'xbootldr'> = {}) =>
  files([...list].sort((a, b) => compareEntries(a, b, { roleOf: (id) => roles[id] })));

const MID = '1234567890abcdef1234567890abcdef';

describe('docs/bls.md §8.3 sorting test vectors', () => {
  it('an entry with a sort-key before one without', () => {
    expect(sorted([entry('b.conf'), entry('a.conf', { sortKey: 'fedora', version: '6.5' })])).toEqual([
      'a.conf',
      'b.conf',
    ]);
  });
  it('same sort-key and machine-id: version descending (6.10.0 before 6.9.1)', () => {
    const f1 = entry('f1.conf', { sortKey: 'fedora', machineId: MID, version: '6.9.1' });
    const f2 = entry('f2.conf', { sortKey: 'fedora', machineId: MID, version: '6.10.0' });
    expect(sorted([f1, f2])).toEqual(['f2.conf', 'f1.conf']);
  });
  it('sort-key ascending', () => {
    expect(sorted([entry('f.conf', { sortKey: 'fedora' }), entry('d.conf', { sortKey: 'debian' })])).toEqual([
      'd.conf',
      'f.conf',
    ]);
  });
  it('machine-id: unset is lower', () => {
    expect(
      sorted([entry('y.conf', { sortKey: 'fedora', machineId: MID }), entry('x.conf', { sortKey: 'fedora' })]),
    ).toEqual(['x.conf', 'y.conf']);
  });
  it('no sort-keys: ids by version descending', () => {
    expect(sorted([entry('fedora-6.9.conf'), entry('fedora-6.10.conf')])).toEqual([
      'fedora-6.10.conf',
      'fedora-6.9.conf',
    ]);
  });
  it('bad entries (tries_left 0) last', () => {
    expect(sorted([entry('zzz+0-3.conf'), entry('good.conf')])).toEqual(['good.conf', 'zzz+0-3.conf']);
    // even against a sort-key and a newer id
    expect(sorted([entry('zzz+0-3.conf', { sortKey: 'a' }), entry('aaa.conf')])).toEqual(['aaa.conf', 'zzz+0-3.conf']);
  });
  it('same id: more tries left first, then fewer tries done', () => {
    expect(sorted([entry('foo+1-2.conf'), entry('foo+3.conf')])).toEqual(['foo+3.conf', 'foo+1-2.conf']);
    expect(sorted([entry('foo+2-5.conf'), entry('foo+2-1.conf')])).toEqual(['foo+2-1.conf', 'foo+2-5.conf']);
  });
  it('linux.conf vs linux-lts.conf: spec order (suffix stripped), not sd-boot order', () => {
    // sd-boot compares 'linux.conf' with 'linux-lts.conf' and lists linux.conf first;
    // the spec compares 'linux' with 'linux-lts' and lists linux-lts first. We follow the spec.
    expect(sorted([entry('linux.conf'), entry('linux-lts.conf')])).toEqual(['linux-lts.conf', 'linux.conf']);
    expect(sortId(entry('linux-lts.conf'))).toBe('linux-lts');
  });
});

describe('other rules', () => {
  it('step 6: an entry without a counter (good) before a counted one with the same id', () => {
    // sd-boot calls them equal, which is not transitive with tie-breaks (see the regression below).
    expect(compareBls(entry('foo.conf', { fsId: 'a:1' }), entry('foo+3.conf', { fsId: 'a:1' }))).toBe(-1);
    expect(compareBls(entry('foo.conf', { fsId: 'a:1' }), entry('foo.conf', { fsId: 'a:2' }))).toBe(0);
  });
  it('regression: no cycle between uncounted, counted and tie-broken entries', () => {
    const a = entry('fedora-6.10.conf', { fsId: 'vda:1' });
    const b = entry('fedora-6.10+3.conf', { fsId: 'vda:2' });
    const c = entry('fedora-6.10+1-1.conf', { fsId: 'vda:1' });
    const ctx = { roleOf: (id: string) => (id === 'vda:1' ? ('esp' as const) : undefined) };
    const order = [a, b, c].sort((x, y) => compareEntries(x, y, ctx));
    expect(files(order)).toEqual(['fedora-6.10.conf', 'fedora-6.10+3.conf', 'fedora-6.10+1-1.conf']);
    for (let i = 0; i < 3; i++)
      for (let j = i + 1; j < 3; j++) expect(compareEntries(order[i]!, order[j]!, ctx)).toBe(-1);
  });
  it('an empty sort-key counts as none', () => {
    expect(sorted([entry('b.conf', { sortKey: '' }), entry('a.conf', { sortKey: 'x' })])).toEqual(['a.conf', 'b.conf']);
  });
  it('UKI profiles of one image: profile ascending', () => {
    const p = (n: number, id: string) => entry('a.efi', { id, idWithoutProfile: 'a.efi', profile: n, sortKey: 'k' });
    const list = [p(2, 'a.efi@two'), p(0, 'a.efi'), p(1, 'a.efi@1')];
    expect(list.sort((x, y) => compareEntries(x, y)).map((e) => e.sourceId)).toEqual(['a.efi', 'a.efi@1', 'a.efi@two']);
  });
  it('uppercase sorts below lowercase in sort-keys (byte order)', () => {
    expect(sorted([entry('a.conf', { sortKey: 'a' }), entry('b.conf', { sortKey: 'B' })])).toEqual([
      'b.conf',
      'a.conf',
    ]);
  });
  it('sort-key order is UTF-8 byte order, not UTF-16', () => {
    expect(strcmpUtf8('\uffff', '\u{10000}')).toBe(-1);
    expect('\uffff' < '\u{10000}').toBe(false); // what plain JS comparison would get wrong
  });
});

describe('tie-breaks', () => {
  it('same id on XBOOTLDR and ESP: XBOOTLDR first, then by fsId and path', () => {
    const esp = entry('foo.conf', { fsId: 'vda:1' });
    const xb = entry('foo.conf', { fsId: 'vda:2' });
    const other = entry('foo.conf', { fsId: 'sda:3' });
    expect(
      [other, esp, xb]
        .sort((a, b) =>
          compareEntries(a, b, { roleOf: (id) => (({ 'vda:1': 'esp', 'vda:2': 'xbootldr' }) as const)[id as 'vda:1'] }),
        )
        .map((e) => e.origin.fsId),
    ).toEqual(['vda:2', 'vda:1', 'sda:3']);
  });
  it('fsIds compare partition numbers numerically', () => {
    expect(compareFsId('vda:9', 'vda:10')).toBe(-1);
    expect(compareFsId('vda:1', 'vdb:0')).toBe(-1);
  });
  it('is a total order: any permutation sorts to the same list (property)', () => {
    const arb = fc.array(
      fc.record({
        name: fc.constantFrom('a', 'fedora-6.1', 'fedora-6.10', 'linux', 'linux-lts'),
        profile: fc.option(fc.constantFrom(0, 1, 2), { nil: undefined }),
        counter: fc.constantFrom('', '+3', '+0-2', '+1-1'),
        sortKey: fc.option(fc.constantFrom('fedora', 'debian', ''), { nil: undefined }),
        version: fc.option(fc.constantFrom('6.1', '6.10', '6.1~rc1'), { nil: undefined }),
        fsId: fc.constantFrom('vda:1', 'vda:2', 'sdb:1'),
      }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(arb, fc.nat(), (specs, seed) => {
        const list = specs.map((s) =>
          entry(`${s.name}${s.counter}.conf`, {
            sortKey: s.sortKey,
            version: s.version,
            fsId: s.fsId,
            profile: s.profile,
          }),
        );
        const cmp = (a: SourceEntry, b: SourceEntry) =>
          compareEntries(a, b, { roleOf: (id) => (id === 'vda:1' ? 'esp' : undefined) });
        const one = [...list].sort(cmp);
        const shuffled = [...list];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = (seed + i * 7919) % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const two = shuffled.sort(cmp);
        expect(two.map((e) => `${e.origin.fsId}${e.origin.file}`)).toEqual(
          one.map((e) => `${e.origin.fsId}${e.origin.file}`),
        );
        // Transitivity: every earlier element is <= every later one, not just neighbours.
        for (let i = 0; i < one.length; i++)
          for (let j = i + 1; j < one.length; j++) expect(cmp(one[i]!, one[j]!)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 3000 },
    );
  });
});
