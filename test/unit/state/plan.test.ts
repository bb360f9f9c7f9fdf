// What booting an entry writes (docs/state.md §1): the counter rename of its own file, grub's
// one-shot, tendril's state file; and how the saved choices pick the default.
import { describe, expect, it } from 'vitest';
import type { DiscoveryResult, MenuEntry, SavedState, SourceEntry } from '../../../src/discovery/model';
import { finalizeEntries } from '../../../src/discovery/entries/select';
import { describeWrite, stateChange, stateWritesFor } from '../../../src/state/plan';
import { handoverFor } from '../../../src/boot/handover';
import { entry } from '../bls/helpers';

function menu(list: SourceEntry[], extra: Partial<DiscoveryResult> = {}): DiscoveryResult {
  const f = finalizeEntries(list, []);
  return { devices: [], entries: f.entries, settings: f.settings, diagnostics: [], ...extra };
}
const byId = (r: DiscoveryResult, id: string): MenuEntry => r.entries.find((e) => e.id === id)!;
const saved = (p: Partial<SavedState> = {}): SavedState => ({
  file: { fsId: 'vda:1', path: '/loader/tendril-state' },
  exists: true,
  recordLast: false,
  ...p,
});

describe('stateWritesFor', () => {
  it('a counted BLS entry is renamed with its digit widths kept; an uncounted one is not', () => {
    const r = menu([entry('a+3.conf'), entry('b.conf'), entry('c+04-00.conf')]);
    expect(stateWritesFor(byId(r, 'a.conf'), r)).toEqual([
      { kind: 'rename', fsId: 'vda:1', dir: '/loader/entries', from: 'a+3.conf', to: 'a+2-1.conf' },
    ]);
    expect(stateWritesFor(byId(r, 'c.conf'), r)[0]).toMatchObject({ to: 'c+03-01.conf' });
    expect(stateWritesFor(byId(r, 'b.conf'), r)).toEqual([]);
  });

  it('a UKI counts in /EFI/Linux; at +0 the count of tries done still goes up, as sd-boot does', () => {
    const r = menu([entry('u+0-4.efi', { profile: 0, source: 'uki' })]);
    const u = r.entries[0]!;
    expect(stateWritesFor({ ...u, origin: { ...u.origin, file: '/EFI/Linux/u+0-4.efi' } }, r)).toEqual([
      { kind: 'rename', fsId: 'vda:1', dir: '/EFI/Linux', from: 'u+0-4.efi', to: 'u+0-5.efi' },
    ]);
  });

  it('entries of other sources never rename (a grub entry with a + in its id)', () => {
    const r = menu([entry('g+3.conf', { source: 'grub' })]);
    expect(stateWritesFor(r.entries[0]!, r)).toEqual([]);
  });

  it("grub's next_entry is written back (consumed) whichever entry boots", () => {
    const r = menu([entry('b.conf')], {
      grubOneShots: [{ fsId: 'vda:2', path: '/boot/grub/grubenv', variable: 'next_entry', value: 'x', writeBack: '' }],
    });
    const w = stateWritesFor(r.entries[0]!, r);
    expect(w).toEqual([
      { kind: 'grubenv', fsId: 'vda:2', path: '/boot/grub/grubenv', changes: new Map([['next_entry', '']]) },
    ]);
    expect(describeWrite(w[0]!)).toBe('grubenv vda:2 /boot/grub/grubenv: next_entry="" (grub one-shot used)');
  });

  it('the state file: the one-shot is dropped, the last entry kept only under default @saved', () => {
    const base = [entry('a.conf'), entry('b.conf')];
    const r1 = menu(base, { savedState: saved({ oneShotId: 'b.conf' }) });
    expect(stateWritesFor(byId(r1, 'a.conf'), r1)).toEqual([
      {
        kind: 'state',
        fsId: 'vda:1',
        path: '/loader/tendril-state',
        create: false,
        changes: new Map([['oneshot', null]]),
      },
    ]);
    const r2 = menu(base, { savedState: saved({ recordLast: true, lastId: 'a.conf' }) });
    expect(stateWritesFor(byId(r2, 'a.conf'), r2)).toEqual([]);
    expect(stateWritesFor(byId(r2, 'b.conf'), r2)[0]).toMatchObject({ changes: new Map([['last', 'b.conf']]) });
    // Nothing to record and no file: nothing is created.
    const r3 = menu(base, { savedState: saved({ exists: false }) });
    expect(stateWritesFor(byId(r3, 'a.conf'), r3)).toEqual([]);
    const r4 = menu(base, { savedState: saved({ exists: false, recordLast: true }) });
    expect(stateWritesFor(byId(r4, 'a.conf'), r4)[0]).toMatchObject({ create: true });
  });

  it('the order is counter, grub, state', () => {
    const r = menu([entry('a+1.conf')], {
      grubOneShots: [{ fsId: 'vda:2', path: '/grubenv', variable: 'next_entry', value: 'x', writeBack: '' }],
      savedState: saved({ oneShotId: 'a.conf' }),
    });
    expect(stateWritesFor(r.entries[0]!, r).map((w) => w.kind)).toEqual(['rename', 'grubenv', 'state']);
  });

  it('--next / d without an ESP is refused with the reason', () => {
    expect(stateChange(menu([entry('a.conf')]), 'oneshot', 'a.conf')).toMatch(/no EFI system partition/);
  });
});

describe('saved choices in the default precedence', () => {
  const list = [entry('a.conf'), entry('b.conf'), entry('c.conf', { bootable: false })];
  const lc = { kind: 'loader.conf' as const, from: 'vda:1 /loader/loader.conf', defaultGlob: 'a.conf' };

  it('one-shot > saved default > loader.conf; --default beats them all', () => {
    const pick = (o: Parameters<typeof finalizeEntries>[2]) => finalizeEntries(list, [lc], o).settings;
    expect(pick({}).defaultId).toBe('a.conf');
    expect(pick({ savedDefaultId: 'b.conf', stateFrom: 'vda:1 /loader/tendril-state' })).toMatchObject({
      defaultId: 'b.conf',
      defaultReason: 'saved default b.conf (vda:1 /loader/tendril-state)',
    });
    expect(pick({ savedDefaultId: 'a.conf', oneShotId: 'b.conf' }).defaultReason).toMatch(/^one-shot b.conf/);
    expect(pick({ oneShotId: 'b.conf', cliDefault: 'a.conf' }).defaultId).toBe('a.conf');
  });

  it('a saved id that is gone or cannot boot is reported and skipped', () => {
    const r = finalizeEntries(list, [lc], { oneShotId: 'zzz.conf', savedDefaultId: 'c.conf' });
    expect(r.settings.defaultId).toBe('a.conf');
    expect(r.diagnostics.map((d) => d.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/one-shot zzz.conf .* is gone/),
        expect.stringMatching(/c.conf .* not bootable/),
      ]),
    );
  });

  it('loader.conf default @saved takes the last booted entry', () => {
    const r = finalizeEntries(list, [{ ...lc, defaultGlob: '@saved' }], { savedId: 'b.conf' });
    expect(r.settings.defaultReason).toMatch(/@saved .*b.conf/);
  });
});

describe('handoverFor', () => {
  const f = { force: false, pid: 4242, tendrilInitramfs: false, systemd: false };
  it("kexecs at once in tendril's initramfs or as PID 1, or with --force", () => {
    expect(handoverFor({ ...f, tendrilInitramfs: true }).kind).toBe('reboot-kexec');
    expect(handoverFor({ ...f, pid: 1 }).kind).toBe('reboot-kexec');
    expect(handoverFor({ ...f, systemd: true, force: true }).kind).toBe('reboot-kexec');
  });
  it('hands a running systemd system to systemctl kexec; refuses elsewhere without --force', () => {
    expect(handoverFor({ ...f, systemd: true }).kind).toBe('systemctl');
    expect(handoverFor(f)).toMatchObject({ kind: 'refuse', why: /--force/ });
  });
});
