// Display title disambiguation (docs/bls.md §6).
import { describe, expect, it } from 'vitest';
import { disambiguateTitles } from '../../../src/discovery/entries/titles';

describe('disambiguateTitles', () => {
  it('unique titles are unchanged; a missing or empty title shows the id', () => {
    expect(disambiguateTitles([{ id: 'a.conf', title: 'A' }, { id: 'b.conf' }, { id: 'c.conf', title: '' }])).toEqual([
      'A',
      'b.conf',
      'c.conf',
    ]);
  });

  it('collisions get the version first', () => {
    expect(
      disambiguateTitles([
        { id: 'a.conf', title: 'Fedora', version: '6.10' },
        { id: 'b.conf', title: 'Fedora', version: '6.9' },
        { id: 'c.conf', title: 'Debian', version: '6.1' },
      ]),
    ).toEqual(['Fedora (6.10)', 'Fedora (6.9)', 'Debian']);
  });

  it('then the first 8 characters of the machine-id', () => {
    expect(
      disambiguateTitles([
        { id: 'a.conf', title: 'Fedora', version: '6.1', machineId: '0123456789abcdef0123456789abcdef' },
        { id: 'b.conf', title: 'Fedora', version: '6.1', machineId: 'fedcba9876543210fedcba9876543210' },
      ]),
    ).toEqual(['Fedora (6.1) (01234567)', 'Fedora (6.1) (fedcba98)']);
  });

  it('then the id; entries without version or machine-id are left alone at those steps', () => {
    expect(
      disambiguateTitles([
        { id: 'a.conf', title: 'Linux' },
        { id: 'b.conf', title: 'Linux' },
        { id: 'c.conf', title: 'Linux', version: '1' },
        { id: 'd.conf', title: 'Linux (1)' },
      ]),
    ).toEqual(['Linux (a.conf)', 'Linux (b.conf)', 'Linux (1) (c.conf)', 'Linux (1) (d.conf)']);
  });

  it('recomputes collisions after each step (a version can create a new collision)', () => {
    expect(
      disambiguateTitles([
        { id: 'x.conf', title: 'T', version: '2', machineId: 'aaaaaaaa' },
        { id: 'y.conf', title: 'T', version: '2', machineId: 'bbbbbbbb' },
        { id: 'z.conf', title: 'U' },
      ]),
    ).toEqual(['T (2) (aaaaaaaa)', 'T (2) (bbbbbbbb)', 'U']);
  });

  it('identical entries keep colliding until the id step', () => {
    expect(
      disambiguateTitles([
        { id: 'k.conf', title: 'T', version: '1', machineId: 'm' },
        { id: 'k.conf@vda:2', title: 'T', version: '1', machineId: 'm' },
      ]),
    ).toEqual(['T (1) (m) (k.conf)', 'T (1) (m) (k.conf@vda:2)']);
  });
});
