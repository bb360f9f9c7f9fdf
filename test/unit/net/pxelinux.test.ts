// PXELINUX over the network (docs/net-bootfiles.md §3): the candidate order, options 209/210,
// "not found" vs other errors, name resolution (relative, '/', '::', 'host::', URLs), INCLUDE,
// IPAPPEND/SYSAPPEND, PROXY, defaults, and one broken label not costing the others.
import { describe, expect, it } from 'vitest';
import type { LinuxTarget, SourceEntry } from '../../../src/discovery/model';
import { netbootEntries } from '../../../src/net/entries';
import { pathToUrl } from '../../../src/net/netfs';
import { pxelinuxCandidates, pxelinuxPlace, resolvePxeName } from '../../../src/net/pxelinux';
import { type Lease, NetError } from '../../../src/net/types';
import { LEASE, UUID, memFetch, type Served } from './memfetch';

const PXE0 = 'not really pxelinux, recognised by its name';
const BASE = 'tftp://192.0.2.1/boot/';
const cfg = (label: string) =>
  `DEFAULT ${label}\nLABEL ${label}\n  KERNEL vmlinuz-${label}\n  APPEND initrd=initrd-${label}.img quiet\n`;

async function run(files: Record<string, Served>, lease: Lease = LEASE, uuid: string | undefined = UUID) {
  const m = memFetch({ [LEASE.bootUrl]: PXE0, ...files });
  const r = await netbootEntries(lease, m.fetch, uuid ? { smbios: { uuid } } : {});
  return { ...r, asked: m.asked };
}
const target = (e: SourceEntry) => {
  if (!e.status.ok) throw new Error(`${e.title}: ${e.status.reason}`);
  return e.status.target as LinuxTarget;
};
const urls = (t: LinuxTarget) => ({
  kernel: pathToUrl(t.kernel.path),
  initrds: t.initrds.map((r) => pathToUrl(r.path)),
});

describe('candidates (docs/net-bootfiles.md §3.2)', () => {
  it('UUID, 01-MAC, the hex IP from 8 digits down to 1, default', () => {
    expect(pxelinuxCandidates(LEASE, UUID)).toEqual([
      UUID,
      '01-52-54-00-ab-cd-ef',
      'C000025B',
      'C000025',
      'C00002',
      'C0000',
      'C000',
      'C00',
      'C0',
      'C',
      'default',
    ]);
  });
  it('no UUID step without a usable UUID (absent, all zeros, all ones); an upper-case UUID is lower-cased', () => {
    expect(pxelinuxCandidates(LEASE)[0]).toBe('01-52-54-00-ab-cd-ef');
    expect(pxelinuxCandidates(LEASE, '00000000-0000-0000-0000-000000000000')[0]).toBe('01-52-54-00-ab-cd-ef');
    expect(pxelinuxCandidates(LEASE, 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF')[0]).toBe('01-52-54-00-ab-cd-ef');
    expect(pxelinuxCandidates(LEASE, UUID.toUpperCase())[0]).toBe(UUID);
  });
  it('an IPv6 lease has no hex-IP names', () => {
    expect(pxelinuxCandidates({ ...LEASE, family: 6, address: '2001:db8::5' })).toEqual([
      '01-52-54-00-ab-cd-ef',
      'default',
    ]);
  });
});

describe('lookup order: the first file that is there wins', () => {
  const all: Record<string, string> = {
    [`${BASE}pxelinux.cfg/${UUID}`]: cfg('uuid'),
    [`${BASE}pxelinux.cfg/01-52-54-00-ab-cd-ef`]: cfg('mac'),
    [`${BASE}pxelinux.cfg/C000025B`]: cfg('ip8'),
    [`${BASE}pxelinux.cfg/C0000`]: cfg('ip5'),
    [`${BASE}pxelinux.cfg/default`]: cfg('default'),
  };
  const without = (...drop: string[]) =>
    Object.fromEntries(Object.entries(all).filter(([k]) => !drop.some((d) => k.endsWith(d))));
  it.each([
    ['all present: UUID', all, 'uuid'],
    ['no UUID file: MAC', without(UUID), 'mac'],
    ['no UUID, MAC: full hex IP', without(UUID, '01-52-54-00-ab-cd-ef'), 'ip8'],
    ['only a 5-digit prefix and default: the prefix', without(UUID, '01-52-54-00-ab-cd-ef', 'C000025B'), 'ip5'],
    ['only default', without(UUID, '01-52-54-00-ab-cd-ef', 'C000025B', 'C0000'), 'default'],
  ])('%s', async (_name, files, want) => {
    const r = await run(files);
    expect(r.entries.map((e) => e.title)).toEqual([`PXE: ${want} (192.0.2.1)`]);
    expect(r.defaultId).toBe(r.entries[0]!.sourceId);
  });
  it('asks in order and stops at the first hit', async () => {
    const r = await run(without(UUID, '01-52-54-00-ab-cd-ef', 'C000025B'));
    expect(r.asked).toEqual([
      LEASE.bootUrl,
      `${BASE}pxelinux.cfg/${UUID}`,
      `${BASE}pxelinux.cfg/01-52-54-00-ab-cd-ef`,
      `${BASE}pxelinux.cfg/C000025B`,
      `${BASE}pxelinux.cfg/C000025`,
      `${BASE}pxelinux.cfg/C00002`,
      `${BASE}pxelinux.cfg/C0000`,
    ]);
  });
  it('an error other than "not found" stops the lookup and is named', async () => {
    const r = await run({
      [`${BASE}pxelinux.cfg/01-52-54-00-ab-cd-ef`]: new NetError(
        `${BASE}pxelinux.cfg/01-52-54-00-ab-cd-ef`,
        'timed out after 4 tries',
      ),
      [`${BASE}pxelinux.cfg/default`]: cfg('default'),
    });
    expect(r.entries).toEqual([]);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toContain(
      'pxelinux.cfg/01-52-54-00-ab-cd-ef: timed out after 4 tries',
    );
    expect(r.asked).not.toContain(`${BASE}pxelinux.cfg/default`);
  });
  it('nothing found: one error listing every URL tried', async () => {
    const r = await run({});
    expect(r.entries).toEqual([]);
    const msg = r.diagnostics.find((d) => d.severity === 'error')!.message;
    expect(msg).toContain('no pxelinux config found');
    expect(msg).toContain(`${BASE}pxelinux.cfg/C`);
    expect(msg).toContain(`${BASE}pxelinux.cfg/default`);
  });
});

describe('options 209 and 210', () => {
  it('210 is the prefix (a URL, or a path on the boot server); 209 is the config file under it', async () => {
    const lease = { ...LEASE, pxePathPrefix: 'http://192.0.2.7/pxe/', pxeConfigFile: 'pxelinux.cfg/custom' };
    const r = await run(
      {
        'http://192.0.2.7/pxe/pxelinux.cfg/custom': cfg('custom'),
        'http://192.0.2.7/pxe/pxelinux.cfg/default': cfg('x'),
      },
      lease,
    );
    expect(r.entries.map((e) => e.title)).toEqual(['PXE: custom (192.0.2.7)']);
    expect(urls(target(r.entries[0]!)).kernel).toBe('http://192.0.2.7/pxe/vmlinuz-custom');
    // 209 given: no search, and the boot file was not needed.
    expect(r.asked).toEqual(['http://192.0.2.7/pxe/pxelinux.cfg/custom']);
  });
  it('210 alone: the search runs under it; a path prefix is on the boot server', async () => {
    const lease = { ...LEASE, pxePathPrefix: '/other/' };
    const r = await run({ 'tftp://192.0.2.1/other/pxelinux.cfg/default': cfg('d') }, lease);
    expect(urls(target(r.entries[0]!)).kernel).toBe('tftp://192.0.2.1/other/vmlinuz-d');
  });
  it('209 that is a URL is used as is; names still resolve under the prefix', async () => {
    const lease = { ...LEASE, pxeConfigFile: 'http://192.0.2.9/cfg/x.cfg' };
    const p = pxelinuxPlace(lease);
    expect(p).toEqual({ prefix: BASE, configUrl: 'http://192.0.2.9/cfg/x.cfg' });
  });
  it('209 with a scheme tendril does not permit is refused by name', async () => {
    const lease = { ...LEASE, pxeConfigFile: 'ftp://192.0.2.9/x.cfg' };
    const r = await run({}, lease);
    expect(r.entries).toEqual([]);
    expect(r.diagnostics[0]!.message).toMatch(/ftp:\/\/192\.0\.2\.9\/x\.cfg: scheme ftp: is not permitted/);
  });
});

describe('names in the config', () => {
  it.each([
    ['vmlinuz', `${BASE}vmlinuz`],
    ['sub/vmlinuz', `${BASE}sub/vmlinuz`],
    ['/abs/vmlinuz', 'tftp://192.0.2.1/abs/vmlinuz'],
    ['::root/vmlinuz', 'tftp://192.0.2.1/root/vmlinuz'],
    ['::/root/vmlinuz', 'tftp://192.0.2.1/root/vmlinuz'],
    ['198.51.100.4::k/vmlinuz', 'tftp://198.51.100.4/k/vmlinuz'],
    ['http://198.51.100.4/k/vmlinuz', 'http://198.51.100.4/k/vmlinuz'],
    ['../up/vmlinuz', 'tftp://192.0.2.1/up/vmlinuz'],
    ['http://198.51.100.4/a::b', 'http://198.51.100.4/a::b'],
  ])('%s → %s', (name, want) => {
    expect(resolvePxeName(name, BASE)).toBe(want);
  });
  it('a URL with another scheme, or a downgrade from an https prefix, is refused', () => {
    expect(() => resolvePxeName('file:///etc/passwd', BASE)).toThrow(/scheme file: is not permitted/);
    expect(() => resolvePxeName('vmlinuz', 'https://192.0.2.1/b/', {})).not.toThrow();
    expect(() => resolvePxeName('http://192.0.2.1/vmlinuz', 'https://192.0.2.1/b/')).toThrow(/fetched over https/);
    expect(() => resolvePxeName('::vmlinuz', 'https://192.0.2.1/b/')).toThrow(/fetched over https; a tftp file/);
  });
});

describe('config contents', () => {
  const at = (text: string) => ({ [`${BASE}pxelinux.cfg/default`]: text });
  it('INCLUDE and MENU INCLUDE are fetched relative to the prefix; menu labels and defaults apply', async () => {
    const r = await run({
      ...at('UI menu.c32\nTIMEOUT 50\nINCLUDE pxelinux.cfg/common.cfg\nMENU INCLUDE pxelinux.cfg/more.cfg\n'),
      [`${BASE}pxelinux.cfg/common.cfg`]:
        'LABEL a\n  MENU LABEL Alpha\n  KERNEL a/vmlinuz\n  INITRD a/initrd.img,a/extra.img\n',
      [`${BASE}pxelinux.cfg/more.cfg`]: 'LABEL b\n  MENU DEFAULT\n  KERNEL b/vmlinuz\n  APPEND console=ttyS0\n',
    });
    expect(r.entries.map((e) => e.title)).toEqual(['PXE: Alpha (192.0.2.1)', 'PXE: b (192.0.2.1)']);
    expect(urls(target(r.entries[0]!))).toEqual({
      kernel: `${BASE}a/vmlinuz`,
      initrds: [`${BASE}a/initrd.img`, `${BASE}a/extra.img`],
    });
    expect(r.defaultId).toBe(r.entries[1]!.sourceId);
    expect(r.timeout).toEqual({ kind: 'seconds', seconds: 5 });
    expect(r.entries[0]!.origin).toMatchObject({
      source: 'pxelinux',
      fsId: 'net:eth0',
      device: 'eth0',
      file: `${BASE}pxelinux.cfg/common.cfg`,
      line: 1,
    });
  });
  it('INCLUDE names resolve like file names: relative to the prefix, /abs and ../x on its server, ::x at the TFTP root', async () => {
    const r = await run({
      ...at('INCLUDE rel.cfg\nINCLUDE /abs.cfg\nINCLUDE ../up.cfg\nINCLUDE ::colon.cfg\n'),
      [`${BASE}rel.cfg`]: 'LABEL rel\n KERNEL k\n',
      'tftp://192.0.2.1/abs.cfg': 'LABEL abs\n KERNEL k\n',
      'tftp://192.0.2.1/up.cfg': 'LABEL up\n KERNEL k\n',
      'tftp://192.0.2.1/colon.cfg': 'LABEL colon\n KERNEL k\n',
    });
    expect(r.entries.map((e) => [e.title, e.origin.file])).toEqual([
      ['PXE: rel (192.0.2.1)', `${BASE}rel.cfg`],
      ['PXE: abs (192.0.2.1)', 'tftp://192.0.2.1/abs.cfg'],
      ['PXE: up (192.0.2.1)', 'tftp://192.0.2.1/up.cfg'],
      ['PXE: colon (192.0.2.1)', 'tftp://192.0.2.1/colon.cfg'],
    ]);
  });
  it('a missing INCLUDE is noted naming its URL; the rest of the config still counts', async () => {
    const r = await run(at('INCLUDE gone.cfg\nLABEL a\n KERNEL k\n'));
    expect(r.entries.map((e) => e.title)).toEqual(['PXE: a (192.0.2.1)']);
    expect(r.diagnostics.find((d) => d.message.includes('gone.cfg'))).toMatchObject({
      file: `${BASE}pxelinux.cfg/default`,
      line: 1,
    });
  });
  it('IPAPPEND 1 adds ip=, 2 adds BOOTIF=, 3 both; SYSAPPEND 4 adds SYSUUID; a global value applies to labels without one', async () => {
    const r = await run(
      at(
        'IPAPPEND 2\nLABEL one\n KERNEL k\n IPAPPEND 1\nLABEL two\n KERNEL k\nLABEL three\n KERNEL k\n APPEND x=1\n IPAPPEND 3\nLABEL four\n KERNEL k\n IPAPPEND 0\n SYSAPPEND 6\n',
      ),
    );
    const cmd = (i: number) => target(r.entries[i]!).cmdline;
    expect(cmd(0)).toBe('ip=192.0.2.91:192.0.2.1:192.0.2.1:255.255.255.0');
    expect(cmd(1)).toBe('BOOTIF=01-52-54-00-ab-cd-ef');
    expect(cmd(2)).toBe('x=1 ip=192.0.2.91:192.0.2.1:192.0.2.1:255.255.255.0 BOOTIF=01-52-54-00-ab-cd-ef');
    expect(cmd(3)).toBe(`BOOTIF=01-52-54-00-ab-cd-ef SYSUUID=${UUID}`);
  });
  it('PROXY is recorded', async () => {
    const r = await run(at('PROXY http://198.51.100.8:3128/\nLABEL a\n KERNEL k\n'));
    expect(r.proxy).toBe('http://198.51.100.8:3128/');
  });
  it('one bad label disables one entry, naming the config URL and line; the others still boot', async () => {
    const r = await run(
      at(
        'LABEL good\n KERNEL k\nLABEL bad\n KERNEL file:///k\nLABEL menu\n KERNEL menu.c32\nLABEL local\n LOCALBOOT 0\nLABEL good2\n KERNEL k2\n',
      ),
    );
    expect(r.entries.map((e) => [e.title, e.status.ok])).toEqual([
      ['PXE: good (192.0.2.1)', true],
      ['PXE: bad (192.0.2.1)', false],
      ['PXE: menu (192.0.2.1)', false],
      ['PXE: local (192.0.2.1)', false],
      ['PXE: good2 (192.0.2.1)', true],
    ]);
    const bad = r.entries[1]!;
    expect(bad.status.ok ? '' : bad.status.reason).toMatch(/label bad: .*scheme file: is not permitted/);
    expect(bad.diagnostics[0]).toMatchObject({ file: `${BASE}pxelinux.cfg/default`, line: 4, severity: 'error' });
  });
});
