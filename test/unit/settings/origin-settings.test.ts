// net.origin (docs/net-bootfiles.md §8): from the TOML file and from `tendril.origin=` (or
// `tendril.net.origin=`), a value that is not an http(s)/tftp URL refused by name.

import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingsFiles } from '../../fixtures/settings-files';
import { loadSettings } from '../../../src/settings/load';

const { dir, file: toml } = settingsFiles('origin-settings');

describe('net.origin', () => {
  it('default: none (the lease decides)', () => {
    expect(loadSettings({ file: path.join(dir, 'absent.toml'), cmdline: '' }).settings.net.origin).toBeUndefined();
  });

  it('from the file; tendril.origin= and tendril.net.origin= override it', () => {
    const f = toml('[net]\norigin = "http://192.0.2.1/os/tendril.efi"\n');
    const r = loadSettings({ file: f, cmdline: '' });
    expect(r.problems).toEqual([]);
    expect(r.settings.net.origin).toBe('http://192.0.2.1/os/tendril.efi');
    const k = loadSettings({ file: f, cmdline: 'quiet tendril.origin=tftp://192.0.2.7/boot/x.efi' });
    expect(k.problems).toEqual([]);
    expect(k.settings.net.origin).toBe('tftp://192.0.2.7/boot/x.efi');
    const n = loadSettings({ file: f, cmdline: 'tendril.net.origin=https://h.example/a/b.efi?x=1' });
    expect(n.settings.net.origin).toBe('https://h.example/a/b.efi?x=1');
  });

  it.each(['"file:///boot.efi"', '"/EFI/boot.efi"', '"http://"', '"http://h/a b"', '7'])(
    'refuses origin = %s and keeps the default',
    (v) => {
      const r = loadSettings({ file: toml(`[net]\norigin = ${v}\n`), cmdline: '' });
      expect(r.settings.net.origin).toBeUndefined();
      expect(r.problems.join('\n')).toMatch(/net\.origin/);
    },
  );
});
