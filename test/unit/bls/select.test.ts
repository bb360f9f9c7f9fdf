// finalizeEntries: merged order, unique ids, titles, default precedence (docs/bls.md §11.3/§11.5) and
// timeout precedence (docs/bls.md §11.4, tendril's 5 s default).
import { describe, expect, it } from 'vitest';
import { finalizeEntries } from '../../../src/discovery/entries/select';
import type { LoaderConfSettings, MenuConfigSettings } from '../../../src/discovery/sources/context';
import { entry, files } from './helpers';

const lc = (p: Partial<LoaderConfSettings>): LoaderConfSettings => ({
  kind: 'loader.conf',
  from: 'vda:1 /loader/loader.conf',
  ...p,
});
const grub = (p: Partial<MenuConfigSettings>): MenuConfigSettings => ({
  kind: 'menu-config',
  from: 'vda:2 /grub/grub.cfg',
  ...p,
});

const fedora = [
  entry('fedora-6.1.conf', { title: 'Fedora' }),
  entry('fedora-6.10.conf', { title: 'Fedora' }),
  entry('debian-6.1.conf', { title: 'Debian' }),
];

describe('order and titles', () => {
  it('BLS/UKI sorted, other sources in input order, auto last; titles disambiguated', () => {
    const r = finalizeEntries(
      [
        entry('auto-efi-shell', { source: 'esp' }),
        entry('g2', { source: 'grub', title: 'Z' }),
        ...fedora,
        entry('g1', { source: 'grub', title: 'A' }),
        entry('uki.efi', { source: 'uki', sortKey: 'arch' }),
      ],
      [],
    );
    expect(files(r.entries)).toEqual([
      'uki.efi',
      'fedora-6.10.conf',
      'fedora-6.1.conf',
      'debian-6.1.conf',
      'g2',
      'g1',
      'auto-efi-shell',
    ]);
    expect(r.entries.map((e) => e.displayTitle).slice(1, 3)).toEqual([
      'Fedora (fedora-6.10.conf)',
      'Fedora (fedora-6.1.conf)',
    ]);
  });

  it('duplicate ids: the first in menu order keeps the id', () => {
    const r = finalizeEntries([entry('foo+1-2.conf', { fsId: 'vda:1' }), entry('foo+3.conf', { fsId: 'vda:2' })], []);
    expect(r.entries.map((e) => e.id)).toEqual(['foo.conf', 'foo.conf@vda:1']);
    expect(r.diagnostics.some((d) => d.message.includes('appears twice'))).toBe(true);
    // Menu entries keep the id their source gave; position and default are the menu's.
    expect(r.entries.map((e) => [e.sourceId, e.id, e.index, e.default])).toEqual([
      ['foo.conf', 'foo.conf', 0, true],
      ['foo.conf', 'foo.conf@vda:1', 1, false],
    ]);
    expect(r.settings.defaultId).toBe('foo.conf');
  });

  it("grub blscfg twins of BLS entries (same id, filesystem and file) are listed once; grub's default still applies", () => {
    const twin = {
      ...entry('fedora-6.1.conf', { source: 'grub', title: 'Fedora' }),
      sourceId: 'fedora-6.1.conf@vda:1',
      idWithoutProfile: 'fedora-6.1.conf',
    };
    const own = entry('other', { source: 'grub', title: 'Custom' });
    const r = finalizeEntries([...fedora, twin, own], [grub({ defaultId: 'fedora-6.1.conf' })]);
    expect(files(r.entries)).toEqual(['fedora-6.10.conf', 'fedora-6.1.conf', 'debian-6.1.conf', 'other']);
    expect(r.entries.map((e) => e.origin.source)).toEqual(['bls', 'bls', 'bls', 'grub']);
    expect(r.settings.defaultId).toBe('fedora-6.1.conf');
    // a grub entry from another file with the same id is not a twin
    const elsewhere = { ...entry('fedora-6.1.conf', { source: 'grub', fsId: 'vdb:1' }) };
    expect(finalizeEntries([...fedora, elsewhere], []).entries).toHaveLength(4);
  });

  it('auto-entries no hides auto entries', () => {
    const r = finalizeEntries(
      [entry('a.conf'), entry('auto-windows', { source: 'esp' })],
      [lc({ autoEntries: false })],
    );
    expect(files(r.entries)).toEqual(['a.conf']);
  });

  it('the XBOOTLDR copy sorts before the ESP copy when roles are known', () => {
    const r = finalizeEntries([entry('a.conf', { fsId: 'vda:1' }), entry('a.conf', { fsId: 'vda:2' })], [], {
      roleOf: (id) => (id === 'vda:1' ? 'esp' : 'xbootldr'),
    });
    expect(r.entries.map((e) => e.origin.fsId)).toEqual(['vda:2', 'vda:1']);
  });
});

describe('default entry', () => {
  it('loader.conf glob: lower-cased, suffix included, newest match in sorted order', () => {
    const r = finalizeEntries(fedora, [lc({ defaultGlob: 'FEDORA-*' })]);
    expect(r.settings.defaultId).toBe('fedora-6.10.conf');
    expect(r.settings.defaultReason).toContain('loader.conf default');
  });
  it('the glob includes the suffix', () => {
    expect(finalizeEntries(fedora, [lc({ defaultGlob: 'debian-6.1' })]).settings.defaultId).toBe('fedora-6.10.conf');
    expect(finalizeEntries(fedora, [lc({ defaultGlob: 'debian-6.1.conf' })]).settings.defaultId).toBe(
      'debian-6.1.conf',
    );
  });
  it('the glob matches the id without the counter (renames never break the default)', () => {
    expect(
      finalizeEntries([entry('a.conf'), entry('b+2-1.conf')], [lc({ defaultGlob: 'b.conf' })]).settings.defaultId,
    ).toBe('b.conf');
  });
  it('no glob match: first entry, with a warning, no timeout raise', () => {
    const r = finalizeEntries(fedora, [lc({ defaultGlob: 'arch-*', timeout: { kind: 'seconds', seconds: 0 } })]);
    expect(r.settings.defaultId).toBe('fedora-6.10.conf');
    expect(r.settings.defaultReason).toBe('first entry in menu order');
    expect(r.settings.timeout).toEqual({ kind: 'seconds', seconds: 0 });
    expect(r.diagnostics.some((d) => d.severity === 'warning' && d.message.includes('arch-*'))).toBe(true);
  });
  it('the glob skips entries that cannot boot', () => {
    const list = [entry('fedora-6.10.conf', { bootable: false }), entry('fedora-6.1.conf')];
    expect(finalizeEntries(list, [lc({ defaultGlob: 'fedora-*' })]).settings.defaultId).toBe('fedora-6.1.conf');
  });
  it('@saved: uses the saved id when one is known, otherwise falls through', () => {
    expect(
      finalizeEntries(fedora, [lc({ defaultGlob: '@saved' })], { savedId: 'debian-6.1.conf' }).settings.defaultId,
    ).toBe('debian-6.1.conf');
    const r = finalizeEntries(fedora, [lc({ defaultGlob: '@saved' })]);
    expect(r.settings.defaultId).toBe('fedora-6.10.conf');
    expect(r.diagnostics.some((d) => d.message.includes('@saved'))).toBe(true);
  });
  it('precedence: CLI > loader.conf > source default > first', () => {
    const props = [grub({ defaultId: 'debian-6.1.conf' }), lc({ defaultGlob: 'fedora-6.1.conf' })];
    expect(finalizeEntries(fedora, props, { cliDefault: 'debian-*' }).settings).toMatchObject({
      defaultId: 'debian-6.1.conf',
      defaultReason: '--default debian-*',
    });
    expect(finalizeEntries(fedora, props).settings.defaultId).toBe('fedora-6.1.conf');
    expect(finalizeEntries(fedora, [grub({ defaultId: 'debian-6.1.conf' })]).settings).toMatchObject({
      defaultId: 'debian-6.1.conf',
      defaultReason: 'default of vda:2 /grub/grub.cfg',
    });
  });
  it('the first source proposal with a valid default wins', () => {
    const r = finalizeEntries(fedora, [
      grub({ defaultId: 'gone' }),
      grub({ from: 'vdb:1 /sprout.toml', defaultId: 'fedora-6.1.conf' }),
    ]);
    expect(r.settings.defaultId).toBe('fedora-6.1.conf');
    expect(r.diagnostics.some((d) => d.message.includes('gone'))).toBe(true);
  });
  it('auto entries, hidden and unbootable entries are not auto-selected', () => {
    const list = [
      entry('auto-efi-shell', { source: 'esp' }),
      entry('z.conf', { bootable: false }),
      entry('y.conf', { hidden: true }),
      entry('b.conf'),
    ];
    expect(finalizeEntries(list, []).settings.defaultId).toBe('b.conf');
  });
  it('nothing selectable: entry 0, and a 0 or hidden timeout becomes 10 s', () => {
    const list = [entry('a.conf', { bootable: false }), entry('auto-x', { source: 'esp' })];
    for (const t of [{ kind: 'seconds', seconds: 0 } as const, { kind: 'menu-hidden' } as const]) {
      const r = finalizeEntries(list, [lc({ timeout: t })]);
      expect(r.settings.defaultId).toBe('a.conf');
      expect(r.settings.timeout).toEqual({ kind: 'seconds', seconds: 10 });
      expect(r.settings.timeoutSource).toContain('raised');
    }
    expect(finalizeEntries(list, [lc({ timeout: { kind: 'seconds', seconds: 3 } })]).settings.timeout).toEqual({
      kind: 'seconds',
      seconds: 3,
    });
  });
  it('no entries: no default', () => {
    const r = finalizeEntries([], [lc({ defaultGlob: 'x' })]);
    expect(r.settings.defaultId).toBeUndefined();
    expect(r.settings.defaultReason).toBe('no entries');
  });
});

describe('timeout and editor', () => {
  it('nothing says anything: 5 s, source default; editor on', () => {
    expect(finalizeEntries(fedora, []).settings).toMatchObject({
      timeout: { kind: 'seconds', seconds: 5 },
      timeoutSource: 'default',
      editor: true,
    });
  });
  it('loader.conf without a timeout key does not count as 0', () => {
    expect(finalizeEntries(fedora, [lc({ defaultGlob: 'x' })]).settings.timeout).toEqual({
      kind: 'seconds',
      seconds: 5,
    });
  });
  it.each([
    [{ kind: 'seconds', seconds: 3 }],
    [{ kind: 'seconds', seconds: 0 }],
    [{ kind: 'menu-hidden' }],
    [{ kind: 'menu-force' }],
    [{ kind: 'menu-disabled' }],
  ] as const)('loader.conf timeout %j is kept', (t) => {
    expect(
      finalizeEntries(fedora, [grub({ timeout: { kind: 'seconds', seconds: 9 } }), lc({ timeout: t })]).settings,
    ).toMatchObject({ timeout: t, timeoutSource: 'loader.conf' });
  });
  it('precedence: CLI > loader.conf > other source > default', () => {
    const props = [grub({ timeout: { kind: 'seconds', seconds: 9 } }), lc({ timeout: { kind: 'menu-force' } })];
    expect(finalizeEntries(fedora, props, { cliTimeout: 2 }).settings).toMatchObject({
      timeout: { kind: 'seconds', seconds: 2 },
      timeoutSource: 'cli',
    });
    expect(finalizeEntries(fedora, props, { cliTimeout: -1 }).settings.timeout).toEqual({ kind: 'menu-force' });
    expect(finalizeEntries(fedora, [grub({ timeout: { kind: 'seconds', seconds: 9 } })]).settings).toMatchObject({
      timeout: { kind: 'seconds', seconds: 9 },
      timeoutSource: 'grub.cfg',
    });
  });
  it('editor: loader.conf first, then other sources', () => {
    expect(finalizeEntries(fedora, [grub({ editor: true }), lc({ editor: false })]).settings.editor).toBe(false);
    expect(finalizeEntries(fedora, [grub({ editor: false })]).settings.editor).toBe(false);
  });
});
