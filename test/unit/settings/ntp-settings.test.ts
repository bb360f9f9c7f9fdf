// net.ntp and net.clock: from the TOML file and from kernel arguments, bad values refused by name.

import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingsFiles } from '../../fixtures/settings-files';
import { loadSettings } from '../../../src/settings/load';

const { dir, file: toml } = settingsFiles('ntp-settings');

describe('net.ntp and net.clock', () => {
  it('default: no servers, clock unset (decided at run time)', () => {
    const r = loadSettings({ file: path.join(dir, 'absent.toml'), cmdline: '' });
    expect(r.settings.net.ntp).toEqual([]);
    expect(r.settings.net.clock).toBeUndefined();
  });

  it('a TOML list and a clock mode; a kernel argument overrides both', () => {
    const f = toml('[net]\nntp = ["192.0.2.1", "ntp.example.org", "2001:db8::1"]\nclock = "check"\n');
    const r = loadSettings({ file: f, cmdline: '' });
    expect(r.problems).toEqual([]);
    expect(r.settings.net.ntp).toEqual(['192.0.2.1', 'ntp.example.org', '2001:db8::1']);
    expect(r.settings.net.clock).toBe('check');
    const k = loadSettings({
      file: f,
      cmdline: 'quiet tendril.net.ntp=198.51.100.7,[2001:db8::7] tendril.net.clock=off',
    });
    expect(k.problems).toEqual([]);
    expect(k.settings.net.ntp).toEqual(['198.51.100.7', '[2001:db8::7]']);
    expect(k.settings.net.clock).toBe('off');
  });

  it.each([
    ['ntp = "a b"', 'net.ntp'],
    ['ntp = [1, 2]', 'net.ntp'],
    ['ntp = ["a","b","c","d","e","f","g","h","i"]', 'net.ntp'],
    [`ntp = ["${'a'.repeat(254)}"]`, 'net.ntp'],
    ['clock = "now"', 'net.clock'],
  ])('refuses %s and keeps the default', (line, key) => {
    const r = loadSettings({ file: toml(`[net]\n${line}\n`), cmdline: '' });
    expect(r.settings.net.ntp).toEqual([]);
    expect(r.settings.net.clock).toBeUndefined();
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toContain(key);
  });
});
