import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { settingsFiles } from '../../fixtures/settings-files';
import { loadSettings, SETTINGS_MAX_BYTES } from '../../../src/settings/load';
import { DEFAULT_SETTINGS } from '../../../src/settings/schema';

const { dir, file } = settingsFiles('settings');

describe('settings', () => {
  it('are the defaults without a file or tendril.* arguments', () => {
    const r = loadSettings({ file: path.join(dir, 'absent.toml'), cmdline: 'quiet console=ttyS0' });
    expect(r).toEqual({ settings: DEFAULT_SETTINGS, problems: [] });
  });

  it('take every key from the file', () => {
    const f = file(
      [
        '# tendril.toml',
        '[net]',
        'mode = "ip=192.0.2.5::192.0.2.1:255.255.255.0::eth0:none"',
        'identity = "http"',
        'family = 6',
        'ca = "system"',
        'timeout = 15',
        'proxy = "http://192.0.2.9:3128"',
        'no-proxy = "boot.test,192.0.2.1"',
        'require-verified = true',
        'sums = "release/SHA256SUMS"',
        'max-image = 2048',
        'vlan = "eth0.10:eth0"',
        'bond = ["bond0:eth1,eth2:mode=active-backup"]',
        'nvme = "tcp://192.0.2.9/nqn.2026-12.org.example:disk"',
        'nvme-hostnqn = "nqn.2026-12.org.example:host1"',
        'nvme-writable = true',
        '[net.pins]',
        `"https://192.0.2.1/vmlinuz" = "${'AB'.repeat(32)}"`,
      ].join('\n'),
    );
    const r = loadSettings({ file: f, cmdline: '' });
    expect(r.problems).toEqual([]);
    expect(r.settings.net).toEqual({
      mode: { kind: 'ip', spec: 'ip=192.0.2.5::192.0.2.1:255.255.255.0::eth0:none' },
      identity: 'http',
      family: '6',
      ca: { kind: 'system' },
      timeout: 15,
      proxy: 'http://192.0.2.9:3128',
      noProxy: 'boot.test,192.0.2.1',
      requireVerified: true,
      pins: { 'https://192.0.2.1/vmlinuz': 'ab'.repeat(32) },
      ntp: [],
      sums: 'release/SHA256SUMS',
      maxImageMiB: 2048,
      vlan: ['eth0.10:eth0'],
      bond: ['bond0:eth1,eth2:mode=active-backup'],
      nvme: ['tcp://192.0.2.9/nqn.2026-12.org.example:disk'],
      nvmeHostnqn: 'nqn.2026-12.org.example:host1',
      nvmeWritable: true,
    });
  });

  it('keep the default for a bad or unknown key and name its line', () => {
    const f = file(
      [
        '[net]',
        'identity = "bogus"',
        '',
        'timeout = 0',
        'colour = "blue"',
        '[menu]',
        'x = 1',
        '[net.pins]',
        '"ftp://x/y" = "00"',
      ].join('\n'),
    );
    const r = loadSettings({ file: f, cmdline: '' });
    expect(r.settings).toEqual(DEFAULT_SETTINGS);
    expect(r.problems).toEqual([
      `${f}:2: net.identity: expected pxe, http, ipxe, tendril, got 'bogus'; default kept`,
      `${f}:4: net.timeout: expected whole seconds from 1 to 3600, got 0; default kept`,
      `${f}:5: unknown setting net.colour; ignored`,
      `${f}:8: net.pins: expected a table of URL = "64 hex digits (sha256)", at most 1024 of them, got a table; default kept`,
      `${f}:7: unknown setting menu.x; ignored`,
    ]);
  });

  it('ignore a file that does not parse, naming its line, and still read the kernel arguments', () => {
    const f = file(['[net]', 'identity = "http"', 'timeout = = 3'].join('\n'));
    const r = loadSettings({ file: f, cmdline: 'tendril.net=off' });
    expect(r.settings.net.identity).toBe('pxe');
    expect(r.settings.net.mode).toEqual({ kind: 'off' });
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(new RegExp(`^${f}:3: not used: `));
  });

  it('refuse an oversized file unread', () => {
    const f = file('#'.repeat(SETTINGS_MAX_BYTES + 1));
    expect(loadSettings({ file: f, cmdline: '' }).problems).toEqual([
      `${f}: not used: ${SETTINGS_MAX_BYTES + 1} bytes, more than the ${SETTINGS_MAX_BYTES} a settings file may have`,
    ]);
  });

  it('let kernel arguments override the file, and name a bad one', () => {
    const f = file('[net]\nidentity = "http"\ntimeout = 15\n');
    const r = loadSettings({
      file: f,
      cmdline:
        'root=/dev/sda tendril.net.identity=ipxe tendril.net=dhcp tendril.net.timeout=abc tendril.mode=boot tendril.net.bogus=1 tendril.net.family=4',
    });
    expect(r.settings.net.identity).toBe('ipxe');
    expect(r.settings.net.family).toBe('4');
    expect(r.settings.net.timeout).toBe(15);
    expect(r.problems).toEqual([
      "kernel argument tendril.net.timeout: expected whole seconds from 1 to 3600, got 'abc'; not used",
      'kernel argument tendril.net.bogus: unknown setting; not used',
    ]);
  });

  it('net.sums comes from the file only: a kernel argument cannot turn the signed sums off', () => {
    const f = file('[net]\nsums = "https://192.0.2.1/r/SHA256SUMS"\n');
    const r = loadSettings({ file: f, cmdline: 'tendril.net.sums=none' });
    expect(r.settings.net.sums).toBe('https://192.0.2.1/r/SHA256SUMS');
    expect(r.problems).toEqual([
      `kernel argument tendril.net.sums: expected a URL, a file name relative to the boot file, or "none" (not a kernel argument), got 'none'; not used`,
    ]);
    expect(loadSettings({ file: file('[net]\nsums = "two words"\n'), cmdline: '' }).settings.net.sums).toBe(
      'SHA256SUMS',
    );
  });

  it('never throw, whatever the file and command line hold', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 400 }), fc.string({ maxLength: 200 }), (text, cmdline) => {
        const f = file(text);
        const r = loadSettings({ file: f, cmdline: `tendril.net.${cmdline}` });
        expect(Array.isArray(r.problems)).toBe(true);
        fs.rmSync(f);
      }),
      { numRuns: 300 },
    );
  });
});

describe('tendril settings', () => {
  const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, 'settings', ...args], { encoding: 'utf8' });

  it('prints the settings in effect and exits 0 when nothing is wrong', () => {
    const f = file('[net]\nidentity = "ipxe"\n');
    const r = run(['--file', f, '--cmdline', 'quiet tendril.net=off']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('net.mode = off\nnet.identity = ipxe\nnet.family = both\n');
    expect(r.stdout).toContain('net.sums = SHA256SUMS\n');
    expect(r.status).toBe(0);
  });

  it('prints the state and trust keys too', () => {
    const f = file('[trust]\npolicy = "warn"\n');
    const r = run(['--file', f, '--cmdline', 'tendril.readonly=1 tendril.trust.policy=require']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(
      'state.readonly = true\ntrust.policy = require\ntrust.db = /etc/tendril/db\ntrust.keys = /etc/tendril/keys\n',
    );
  });

  it('names each problem, as JSON too, and exits 1', () => {
    const f = file('[net]\nca = "relative.pem"\n');
    const r = run(['--json', '--file', f, '--cmdline', 'quiet']);
    expect(r.status).toBe(1);
    const j = JSON.parse(r.stdout) as { settings: typeof DEFAULT_SETTINGS; problems: string[] };
    expect(j.settings.net.ca).toEqual(DEFAULT_SETTINGS.net.ca);
    expect(j.problems).toEqual([
      `${f}:2: net.ca: expected 'system' or an absolute path to a PEM bundle, got 'relative.pem'; default kept`,
    ]);
  });
});
