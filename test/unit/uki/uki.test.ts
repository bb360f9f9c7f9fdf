// UKI menu facts (docs/bls.md §10.3, §10.4): title/version/sort-key fallbacks, profiles of real
// multi-profile UKIs built by objcopy, and the skip rules (no .osrel, no name or version).
import { describe, expect, it } from 'vitest';
import { parseOsRelease } from '../../../src/discovery/uki/osrel';
import {
  addonNames,
  cleanCmdline,
  describeUki,
  pickNameVersionSortKey,
  profileEntryId,
  profileTitle,
  ukiProfiles,
} from '../../../src/discovery/uki/uki';
import { buildAddon, buildUki, fakeKernel, kernelRelease } from '../../fixtures/uki';
import { withHostPe } from './helpers';

const pick = (text: string) => pickNameVersionSortKey(parseOsRelease(text));

describe('name / version / sort-key fallbacks (docs/bls.md §10.3)', () => {
  const all =
    'PRETTY_NAME="P N"\nIMAGE_ID=img\nNAME=N\nID=id\nIMAGE_VERSION=iv\nVERSION="v (x)"\nVERSION_ID=vid\nBUILD_ID=b\n';
  it('first choice of each', () => {
    expect(pick(all)).toEqual({ name: 'P N', version: 'iv', sortKey: 'img' });
  });
  it.each([
    ['PRETTY_NAME', { name: 'img' }],
    ['PRETTY_NAME IMAGE_ID', { name: 'N', sortKey: 'id' }],
    ['PRETTY_NAME IMAGE_ID NAME', { name: 'id' }],
    ['PRETTY_NAME IMAGE_ID NAME ID', { name: undefined, sortKey: undefined }],
    ['IMAGE_VERSION', { version: 'v (x)' }],
    ['IMAGE_VERSION VERSION', { version: 'vid' }],
    ['IMAGE_VERSION VERSION VERSION_ID', { version: 'b' }],
    ['IMAGE_VERSION VERSION VERSION_ID BUILD_ID', { version: undefined }],
  ])('without %s', (drop, want) => {
    const dropped = new Set(drop.split(' '));
    const text = all
      .split('\n')
      .filter((l) => !dropped.has(l.split('=')[0]!))
      .join('\n');
    const got = pick(text);
    for (const [k, v] of Object.entries(want)) expect(got[k as keyof typeof got]).toBe(v);
  });
  it('an empty value falls through to the next key', () => {
    expect(pick('PRETTY_NAME=""\nNAME=N\nVERSION=\nVERSION_ID=3\n')).toEqual({ name: 'N', version: '3' });
  });
});

describe('profile titles and ids (docs/bls.md §10.4)', () => {
  it.each([
    [0, {}, 'OS', 'a.efi'],
    [0, { title: 'T' }, 'OS (T)', 'a.efi'],
    [0, { id: 'x' }, 'OS', 'a.efi'],
    [1, { id: 'x', title: 'T' }, 'OS (T)', 'a.efi@x'],
    [1, { id: 'x' }, 'OS (x)', 'a.efi@x'],
    [2, {}, 'OS (Profile #3)', 'a.efi@2'],
  ])('profile %i %j → %s / %s', (n, meta, title, id) => {
    expect(profileTitle('OS', n, meta)).toBe(title);
    expect(profileEntryId('a.efi', n, meta)).toBe(id);
  });
});

describe('cmdline and add-on names', () => {
  it('control characters become spaces, whitespace trimmed', () => {
    expect(cleanCmdline(' quiet\nroot=/dev/sda1\t splash \n')).toBe('quiet root=/dev/sda1  splash');
  });
  it('add-on names: *.addon.efi any case, no dot files, no dirs, strcmp order', () => {
    const got = addonNames([
      { name: 'b.addon.efi', kind: 'file' },
      { name: 'A.ADDON.EFI', kind: 'file' },
      { name: '.x.addon.efi', kind: 'file' },
      { name: 'd.addon.efi', kind: 'dir' },
      { name: 'c.efi', kind: 'file' },
      { name: 'a.addon.efi', kind: 'file' },
    ]);
    expect(got).toEqual(['A.ADDON.EFI', 'a.addon.efi', 'b.addon.efi']);
  });
});

const OSREL =
  'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n';

describe('describeUki on real UKIs', () => {
  it('single profile with the real Debian kernel', async () => {
    const file = buildUki({ osrel: OSREL, cmdline: 'root=/dev/vda2 quiet\n', uname: kernelRelease() + '\n' });
    const d = await withHostPe(file, (pe, h) => describeUki(h, pe, 'debian.efi'));
    expect(d.skipped).toEqual([]);
    expect(d.profiles).toEqual([
      {
        index: 0,
        id: 'debian.efi',
        idWithoutProfile: 'debian.efi',
        title: 'Debian GNU/Linux 12 (bookworm)',
        version: '12 (bookworm)',
        sortKey: 'debian',
        cmdline: 'root=/dev/vda2 quiet',
        uname: kernelRelease(),
      },
    ]);
  });

  it('multi-profile: base inherited, sections overridden, ids/titles per profile', async () => {
    const file = buildUki({
      osrel: OSREL,
      cmdline: 'root=/dev/vda2 quiet',
      uname: kernelRelease(),
      linux: fakeKernel(),
      extra: [
        { name: '.profile', data: 'ID=default\nTITLE="Regular boot"\n' },
        { name: '.profile', data: 'ID=rescue\nTITLE=Rescue\n' },
        { name: '.cmdline', data: 'root=/dev/vda2 rescue' },
        { name: '.profile', data: 'ID=factory-reset\n' },
        { name: '.cmdline', data: 'root=/dev/vda2 factory-reset' },
        { name: '.osrel', data: 'NAME=Other\nVERSION_ID=99\nID=other\n' },
        { name: '.profile', data: '# no id, no title\n' },
      ],
    });
    const d = await withHostPe(file, async (pe, h) => {
      expect(ukiProfiles(pe).map((p) => p.index)).toEqual([0, 1, 2, 3]);
      return describeUki(h, pe, 'multi.efi');
    });
    expect(d.skipped).toEqual([]);
    expect(
      d.profiles.map((p) => [p.id, p.idWithoutProfile, p.title, p.version, p.sortKey, p.cmdline, p.uname]),
    ).toEqual([
      [
        'multi.efi',
        'multi.efi',
        'Debian GNU/Linux 12 (bookworm) (Regular boot)',
        '12 (bookworm)',
        'debian',
        'root=/dev/vda2 quiet',
        kernelRelease(),
      ],
      [
        'multi.efi@rescue',
        'multi.efi',
        'Debian GNU/Linux 12 (bookworm) (Rescue)',
        '12 (bookworm)',
        'debian',
        'root=/dev/vda2 rescue',
        kernelRelease(),
      ],
      [
        'multi.efi@factory-reset',
        'multi.efi',
        'Other (factory-reset)',
        '99',
        'other',
        'root=/dev/vda2 factory-reset',
        kernelRelease(),
      ],
      [
        'multi.efi@3',
        'multi.efi',
        'Debian GNU/Linux 12 (bookworm) (Profile #4)',
        '12 (bookworm)',
        'debian',
        'root=/dev/vda2 quiet',
        kernelRelease(),
      ],
    ]);
  });

  it.each([
    ['no .osrel', {}, /no \.osrel/],
    ['no name', { osrel: 'VERSION_ID=1\n' }, /no name/],
    ['no version', { osrel: 'NAME=x\nID=x\n' }, /no version/],
    ['neither', { osrel: 'HOME_URL=x\n' }, /no name .* and version/],
  ])('skipped with a reason: %s', async (_t, opts, reason) => {
    const file = buildUki({ ...opts, linux: fakeKernel() });
    const d = await withHostPe(file, (pe, h) => describeUki(h, pe, 'x.efi'));
    expect(d.profiles).toEqual([]);
    expect(d.skipped).toHaveLength(1);
    expect(d.skipped[0]!.reason).toMatch(reason);
  });

  it('a PE without .linux (an add-on) is not a UKI', async () => {
    const file = buildAddon({ cmdline: 'x' });
    const d = await withHostPe(file, (pe, h) => describeUki(h, pe, 'a.efi'));
    expect(d.profiles).toEqual([]);
    expect(d.skipped[0]!.reason).toBe('no .linux section');
  });

  it('invalid UTF-8 in .osrel is a warning, not a failure', async () => {
    const file = buildUki({ osrel: 'NAME=x\nVERSION=1\n', linux: fakeKernel(), extra: [] });
    const bad = buildUki({
      linux: fakeKernel(),
      extra: [{ name: '.osrel', data: new Uint8Array([0x4e, 0x41, 0x4d, 0x45, 0x3d, 0xff, 0x0a, 0x56, 0x3d, 0x31]) }],
    });
    expect((await withHostPe(file, (pe, h) => describeUki(h, pe, 'x.efi'))).warnings).toEqual([]);
    const d = await withHostPe(bad, (pe, h) => describeUki(h, pe, 'x.efi'));
    expect(d.warnings[0]).toMatch(/not valid UTF-8/);
  });
});
