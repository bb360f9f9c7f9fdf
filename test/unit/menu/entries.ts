// Boot entries for menu tests: plain data in the shape discovery produces.
import type { MenuEntry, MenuSettings } from '../../../src/discovery/model';

/** One entry; its place in a menu (index, default) comes from inMenu(). */
export function entry(id: string, over: Partial<MenuEntry> = {}): MenuEntry {
  return {
    id,
    sourceId: id,
    index: 0,
    default: false,
    title: over.title ?? id,
    displayTitle: over.displayTitle ?? over.title ?? id,
    origin: { source: 'bls', fsId: 'disk.img:1', device: '/tmp/disk.img', partition: 1, file: `/loader/entries/${id}` },
    status: {
      ok: true,
      target: {
        kind: 'linux',
        kernel: { fsId: 'disk.img:1', path: '/vmlinuz' },
        initrds: [],
        cmdline: `root=/dev/vda2 ro ${id}`,
      },
    },
    diagnostics: [],
    ...over,
  };
}

export const fedora = [
  entry('f39-6.5.conf', { displayTitle: 'Fedora 39 (6.5)', machineId: 'aaaa', sortKey: 'fedora', version: '6.5' }),
  entry('f39-6.4.conf', { displayTitle: 'Fedora 39 (6.4)', machineId: 'aaaa', sortKey: 'fedora', version: '6.4' }),
  entry('f39-6.3.conf', { displayTitle: 'Fedora 39 (6.3)', machineId: 'aaaa', sortKey: 'fedora', version: '6.3' }),
];
export const others = [
  entry('debian.conf', { displayTitle: 'Debian 12', sortKey: 'debian' }),
  entry('memtest.conf', {
    displayTitle: 'Memtest86+',
    status: { ok: true, target: { kind: 'efi', image: { fsId: 'disk.img:1', path: '/EFI/memtest.efi' } } },
  }),
  entry('hidden.conf', { displayTitle: 'Hidden thing', hidden: true }),
  entry('old+0-3.conf', {
    displayTitle: 'Old kernel',
    bootCounter: { triesLeft: 0, triesDone: 3, widthLeft: 1, widthDone: 1, fileName: 'old+0-3.conf' },
  }),
];
/** Entries as finalizeEntries lists them: numbered in order, the one named `defaultId` marked. */
export function inMenu(list: readonly MenuEntry[], defaultId?: string): MenuEntry[] {
  return list.map((e, index) => ({ ...e, index, default: e.id === defaultId }));
}
export const all = inMenu([...fedora, ...others]);
/** Broken entries as the sources make them: a reason, and a declared target only when complete. */
export const broken = [
  entry('win7.conf', {
    displayTitle: 'Windows 7 (on /dev/sdb1)',
    status: { ok: false, reason: 'chainloader +1 boots a BIOS boot sector; not supported (no BIOS under tendril)' },
  }),
  entry('shell.conf', {
    displayTitle: 'EFI Shell',
    status: {
      ok: false,
      reason: 'efi /shell.efi: not found (tried /shell.efi) on disk.img:1',
      declared: { kind: 'efi', image: { fsId: 'disk.img:1', path: '/shell.efi' } },
    },
  }),
];

export function settings(defaultId: string, over: Partial<MenuSettings> = {}): MenuSettings {
  return {
    timeout: { kind: 'seconds', seconds: 5 },
    timeoutSource: 'test',
    editor: true,
    defaultId,
    defaultReason: 'test',
    ...over,
  };
}
