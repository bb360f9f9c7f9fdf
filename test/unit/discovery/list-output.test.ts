// `tendril list` output. --json (schema 2): a bootable entry has `target`; a broken one has
// `reason` and, only when its config names a complete target, `declared`; never a stand-in.
// Text: a broken entry says why it cannot boot; only a bootable EFI program is "(VM)".
import { describe, expect, it } from 'vitest';
import { formatList } from '../../../src/discovery/commands';
import { LIST_SCHEMA_VERSION, listJson } from '../../../src/discovery/json';
import type { DiscoveryResult } from '../../../src/discovery/model';
import { broken, inMenu, others, settings } from '../menu/entries';

const r: DiscoveryResult = {
  devices: [],
  entries: inMenu([others[0]!, others[1]!, ...broken], 'debian.conf'),
  settings: settings('debian.conf'),
  diagnostics: [],
};

describe('list --json (schema 2)', () => {
  it('says what an entry boots, or why not and what it declares', () => {
    const j = JSON.parse(JSON.stringify(listJson(r))) as Record<string, unknown> & {
      entries: Record<string, unknown>[];
    };
    expect(j.schema).toBe(2);
    expect(LIST_SCHEMA_VERSION).toBe(2);
    const [ok, , win, shell] = j.entries;
    expect(ok).toMatchObject({ id: 'debian.conf', index: 0, default: true, bootable: true, target: { kind: 'linux' } });
    expect(Object.keys(ok!)).not.toContain('reason');
    expect(Object.keys(ok!)).not.toContain('declared');
    expect(win).toMatchObject({
      id: 'win7.conf',
      index: 2,
      default: false,
      bootable: false,
      reason: 'chainloader +1 boots a BIOS boot sector; not supported (no BIOS under tendril)',
    });
    expect(Object.keys(win!)).not.toContain('target');
    expect(Object.keys(win!)).not.toContain('declared');
    expect(shell).toMatchObject({
      bootable: false,
      reason: 'efi /shell.efi: not found (tried /shell.efi) on disk.img:1',
      declared: { kind: 'efi', image: { fsId: 'disk.img:1', path: '/shell.efi' } },
    });
    expect(Object.keys(shell!)).not.toContain('target');
    // The in-memory status is not part of the document.
    for (const e of j.entries) expect(Object.keys(e)).not.toContain('status');
  });
});

describe('list (text)', () => {
  it('gives a broken entry its reason and what it declares, never "(VM)"', () => {
    const text = formatList(r, false);
    expect(text).toContain('efi disk.img:1/EFI/memtest.efi (VM)\n');
    expect(text).toMatch(/Windows 7 \(on \/dev\/sdb1\) \[BROKEN\]\n.*\n {8}cannot boot: chainloader \+1 boots a BIOS/);
    expect(text).toContain(
      '        cannot boot: efi /shell.efi: not found (tried /shell.efi) on disk.img:1\n        declares efi disk.img:1/shell.efi\n',
    );
    expect(text.match(/\(VM\)/g)).toHaveLength(1);
  });
});
