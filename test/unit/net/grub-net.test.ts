// GRUB network configs (docs/net-bootfiles.md §6): the names GRUB tries, the device syntax as
// URLs, the prefix read from a GRUB image's `mods` section, and whole lookups over an in-memory
// server: which file wins, `source`/`configfile` over the network, (tftp)/(http,host) files,
// and errors that name the URL and line while the rest of the menu stays.
import * as fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LinuxTarget, SourceEntry } from '../../../src/discovery/model';
import { parsePe } from '../../../src/discovery/uki/pe';
import { classifyBootFile } from '../../../src/net/classify';
import { netbootEntries } from '../../../src/net/entries';
import { GRUB_MODULE_TYPES, grubImageFacts } from '../../../src/net/grub-image';
import { grubIpv6, grubNetCandidates, grubNetPlace, grubNetUrl, parseGrubNetDevice } from '../../../src/net/grub-net';
import { pathToUrl } from '../../../src/net/netfs';
import type { Lease } from '../../../src/net/types';
import { buildPe } from '../../fixtures/uki';
import { LEASE, memFetch, type Served } from './memfetch';

/** A `mods` section as grub-mkimage lays it out for a 64-bit target. */
function mods(modules: readonly { type: number; data: string }[]): Uint8Array {
  const align = (n: number) => (n + 7) & ~7;
  const parts = modules.map((m) => {
    const body = Buffer.alloc(align(m.data.length + 1));
    body.write(m.data, 'latin1');
    const h = Buffer.alloc(8);
    h.writeUInt32LE(m.type, 0);
    h.writeUInt32LE(body.length + 8, 4);
    return Buffer.concat([h, body]);
  });
  const total = 24 + parts.reduce((n, p) => n + p.length, 0);
  const info = Buffer.alloc(24);
  info.writeUInt32LE(0x676d696d, 0);
  info.writeBigUInt64LE(24n, 8);
  info.writeBigUInt64LE(BigInt(total), 16);
  return Buffer.concat([info, ...parts]);
}

const grubImage = (prefix?: string): Uint8Array =>
  fs.readFileSync(
    buildPe([
      {
        name: 'mods',
        data: mods([
          { type: 0, data: 'ELF module bytes' },
          ...(prefix !== undefined ? [{ type: GRUB_MODULE_TYPES.prefix, data: prefix }] : []),
          { type: GRUB_MODULE_TYPES.config, data: 'set root=(tftp)' },
        ]),
      },
    ]),
  );

const BOOT = 'tftp://192.0.2.1/boot/grubx64.efi';
const lease: Lease = { ...LEASE, bootUrl: BOOT };
const KERNEL = 'linux (tftp)/vmlinuz';

async function run(files: Record<string, Served>, image = grubImage(''), l: Lease = lease) {
  const m = memFetch({ [l.bootUrl!]: image, ...files });
  const r = await netbootEntries(l, m.fetch, {});
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
const messages = (r: { diagnostics: readonly { message: string }[] }) => r.diagnostics.map((d) => d.message).join('\n');

describe('candidates (GRUB manual, Network)', () => {
  it('01-MAC, the hex IPv4 from 8 digits down to 1, grub.cfg', () => {
    expect(grubNetCandidates(LEASE)).toEqual([
      'grub.cfg-01-52-54-00-ab-cd-ef',
      'grub.cfg-C000025B',
      'grub.cfg-C000025',
      'grub.cfg-C00002',
      'grub.cfg-C0000',
      'grub.cfg-C000',
      'grub.cfg-C00',
      'grub.cfg-C0',
      'grub.cfg-C',
      'grub.cfg',
    ]);
  });

  it("the manual's example: 10.0.0.130 is 0A000082", () => {
    const c = grubNetCandidates({ mac: '52:54:00:EC:33:81', family: 4, address: '10.0.0.130' });
    expect(c.slice(0, 3)).toEqual(['grub.cfg-01-52-54-00-ec-33-81', 'grub.cfg-0A000082', 'grub.cfg-0A00008']);
  });

  it('IPv6: the address once, as GRUB writes it (eight groups, no ::)', () => {
    expect(grubNetCandidates({ mac: '52:54:00:ab:cd:ef', family: 6, address: '2001:db8::2' })).toEqual([
      'grub.cfg-01-52-54-00-ab-cd-ef',
      'grub.cfg-2001:db8:0:0:0:0:0:2',
      'grub.cfg',
    ]);
    expect(grubIpv6('fe80::1%eth0')).toBe('fe80:0:0:0:0:0:0:1');
    expect(grubIpv6('not an address')).toBeUndefined();
  });

  it('a bad MAC or address adds no name, grub.cfg is always last', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.constantFrom(4 as const, 6 as const), (mac, address, family) => {
        const c = grubNetCandidates({ mac, address, family });
        expect(c[c.length - 1]).toBe('grub.cfg');
        expect(c.length).toBeLessThanOrEqual(10);
        for (const n of c) expect(n).toMatch(/^grub\.cfg(-[0-9A-Za-z:-]+)?$/);
      }),
    );
  });
});

describe('device syntax → URL', () => {
  const url = (dev: string, p: string, https = false) => {
    const d = parseGrubNetDevice(dev, '192.0.2.1', https);
    if (typeof d !== 'object') throw new Error(`${dev}: ${d}`);
    return grubNetUrl(d, p);
  };
  it('tftp, pxe and http, with and without a server and a port', () => {
    expect(url('tftp', '/vmlinuz')).toBe('tftp://192.0.2.1/vmlinuz');
    expect(url('pxe', '/a/b')).toBe('tftp://192.0.2.1/a/b');
    expect(url('tftp,192.0.2.7', '/x')).toBe('tftp://192.0.2.7/x');
    expect(url('http', '/initrd.img')).toBe('http://192.0.2.1/initrd.img');
    expect(url('http,boot.test', '/i')).toBe('http://boot.test/i');
    expect(url('http,Boot.Test:8080', '/i')).toBe('http://boot.test:8080/i');
    expect(url('http,2001:db8::1', '/i')).toBe('http://[2001:db8::1]/i');
    expect(url('http,[2001:db8::1]:8080', '/i')).toBe('http://[2001:db8::1]:8080/i');
    expect(url('tftp,', '/x')).toBe('tftp://192.0.2.1/x');
  });
  it('a boot file fetched over https keeps (http) on https', () => {
    expect(url('http,boot.test', '/i', true)).toBe('https://boot.test/i');
  });
  it('paths are normalised and cannot climb out of the server', () => {
    expect(url('tftp', '//a/./b/../c')).toBe('tftp://192.0.2.1/a/c');
    expect(() => url('tftp', '/../etc/passwd')).toThrow(/escapes/);
  });
  it('not network devices, and bad ones with the reason', () => {
    expect(parseGrubNetDevice('hd0,gpt1', '192.0.2.1')).toBeUndefined();
    expect(parseGrubNetDevice('tftpx', '192.0.2.1')).toBeUndefined();
    expect(parseGrubNetDevice('tftp', undefined)).toMatch(/net_default_server/);
    expect(parseGrubNetDevice('https,h', 'x')).toMatch(/no https device/);
    for (const bad of ['http,a/b', 'http,user@h', 'http,..', 'http,a b', 'http,h:99999'])
      expect(typeof parseGrubNetDevice(bad, 'x'), bad).toBe('string');
  });
  it('any device name: undefined, a reason, or a URL on its scheme (never another host than named)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (server, p) => {
        const d = parseGrubNetDevice(`http,${server}`, 'x');
        if (typeof d !== 'object') return;
        let u: string;
        try {
          u = grubNetUrl(d, p);
        } catch {
          return;
        }
        expect(new URL(u).host).toBe(d.host);
        expect(u.startsWith('http://')).toBe(true);
      }),
    );
  });
});

describe('prefix from the GRUB image', () => {
  it('classification: a PE with a mods section is GRUB; its prefix and embedded config are read', () => {
    const img = grubImage('/grub');
    expect(classifyBootFile(BOOT, img)).toEqual({ kind: 'efi', flavour: 'grub' });
    expect(grubImageFacts(parsePe(img), img)).toEqual({ prefix: '/grub', embeddedConfig: true });
  });
  it("an absolute prefix is on the boot server's root; none or empty is the boot file's directory", () => {
    expect(grubNetPlace(BOOT, { prefix: '/grub', embeddedConfig: false })).toMatchObject({
      root: 'tftp,192.0.2.1',
      prefix: '(tftp,192.0.2.1)/grub',
      cmdpath: '(tftp,192.0.2.1)/boot',
    });
    expect(grubNetPlace(BOOT, undefined).prefix).toBe('(tftp,192.0.2.1)/boot');
    expect(grubNetPlace(BOOT, { prefix: '', embeddedConfig: false }).prefix).toBe('(tftp,192.0.2.1)/boot');
    expect(grubNetPlace(BOOT, { prefix: '(tftp)/srv/grub', embeddedConfig: false }).prefix).toBe('(tftp)/srv/grub');
    expect(grubNetPlace('http://192.0.2.1:8080/efi/grubx64.efi', undefined).prefix).toBe('(http,192.0.2.1:8080)/efi');
    expect(() => grubNetPlace(BOOT, { prefix: '(hd0,gpt1)/boot/grub', embeddedConfig: false })).toThrow(
      /names no network device/,
    );
  });
  it('a truncated or lying mods section gives no prefix and does not throw', () => {
    const good = mods([{ type: GRUB_MODULE_TYPES.prefix, data: '/grub' }]);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.length }),
        fc.uint8Array({ maxLength: 8 }),
        fc.nat(64),
        (cut, junk, at) => {
          const b = Buffer.from(good.subarray(0, cut));
          if (at < b.length) b.set(junk.subarray(0, b.length - at), at);
          const img = fs.readFileSync(buildPe([{ name: 'mods', data: b.length ? b : Buffer.from([0]) }]));
          const f = grubImageFacts(parsePe(img), img);
          if (f?.prefix !== undefined) expect(f.prefix).not.toMatch(/[\0-\x1f]/);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('lookup and evaluation', () => {
  const P = 'tftp://192.0.2.1/boot/';
  const menu = (tag: string) =>
    `set timeout=5\nmenuentry '${tag}' {\n  ${KERNEL}-${tag} quiet\n  initrd (http,192.0.2.1)/initrd-${tag}.img\n}\n`;
  const files = (tag: string) => ({
    [`tftp://192.0.2.1/vmlinuz-${tag}`]: 'k',
    [`http://192.0.2.1/initrd-${tag}.img`]: 'i',
  });

  it('01-MAC wins over hex IP, which wins over grub.cfg; what was tried is in that order', async () => {
    const all = {
      ...files('mac'),
      ...files('ip'),
      ...files('plain'),
      [`${P}grub.cfg-01-52-54-00-ab-cd-ef`]: menu('mac'),
      [`${P}grub.cfg-C00002`]: menu('ip'),
      [`${P}grub.cfg`]: menu('plain'),
    };
    let r = await run(all);
    expect(r.entries.map((e) => e.title)).toEqual(['GRUB: mac (192.0.2.1)']);
    expect(urls(target(r.entries[0]!))).toEqual({
      kernel: 'tftp://192.0.2.1/vmlinuz-mac',
      initrds: ['http://192.0.2.1/initrd-mac.img'],
    });
    expect(target(r.entries[0]!).cmdline).toBe('quiet');
    expect(r.entries[0]!.origin).toMatchObject({
      fsId: 'net:eth0',
      file: `${P}grub.cfg-01-52-54-00-ab-cd-ef`,
      line: 2,
    });
    expect(r.timeout).toEqual({ kind: 'seconds', seconds: 5 });
    expect(r.settings?.defaultId).toBe(r.entries[0]!.sourceId);
    delete (all as Record<string, Served>)[`${P}grub.cfg-01-52-54-00-ab-cd-ef`];
    r = await run(all);
    expect(r.entries.map((e) => e.title)).toEqual(['GRUB: ip (192.0.2.1)']);
    expect(r.asked.slice(1, 5)).toEqual([
      `${P}grub.cfg-01-52-54-00-ab-cd-ef`,
      `${P}grub.cfg-C000025B`,
      `${P}grub.cfg-C000025`,
      `${P}grub.cfg-C00002`,
    ]);
    delete (all as Record<string, Served>)[`${P}grub.cfg-C00002`];
    r = await run(all);
    expect(r.entries.map((e) => e.title)).toEqual(['GRUB: plain (192.0.2.1)']);
  });

  it('the variables GRUB sets, source and configfile of network files, $root-relative paths', async () => {
    const r = await run(
      {
        [`${P}grub.cfg`]:
          'source (tftp)/boot/common.cfg\n' +
          'menuentry "vars" { linux /vmlinuz-x mac=$net_default_mac ip=$net_default_ip srv=$net_default_server pxe=$pxe_default_server root=$root prefix=$prefix if=$net_default_interface }\n' +
          'menuentry "next" { configfile $prefix/more.cfg }\n',
        [`${P}common.cfg`]: 'menuentry "sourced" { linux (tftp,192.0.2.1)/vmlinuz-x from-source }\n',
        [`${P}more.cfg`]: 'menuentry "deeper" { linux (http)/vmlinuz-h }\n',
        'tftp://192.0.2.1/vmlinuz-x': 'k',
        'http://192.0.2.1/vmlinuz-h': 'k',
      },
      grubImage(''),
    );
    const byTitle = new Map(r.entries.map((e) => [e.title, e]));
    expect([...byTitle.keys()]).toEqual([
      'GRUB: sourced (192.0.2.1)',
      'GRUB: vars (192.0.2.1)',
      'GRUB: deeper (192.0.2.1)',
    ]);
    expect(target(byTitle.get('GRUB: vars (192.0.2.1)')!).cmdline).toBe(
      'mac=52:54:00:ab:cd:ef ip=192.0.2.91 srv=192.0.2.1 pxe=192.0.2.1 root=tftp,192.0.2.1 prefix=(tftp,192.0.2.1)/boot if=efinet0',
    );
    expect(urls(target(byTitle.get('GRUB: deeper (192.0.2.1)')!)).kernel).toBe('http://192.0.2.1/vmlinuz-h');
    expect(byTitle.get('GRUB: sourced (192.0.2.1)')!.origin.file).toBe(`${P}common.cfg`);
  });

  it("the image's prefix decides where configs are looked up", async () => {
    const r = await run({ 'tftp://192.0.2.1/grub/grub.cfg': menu('p'), ...files('p') }, grubImage('/grub'));
    expect(r.entries.map((e) => e.title)).toEqual(['GRUB: p (192.0.2.1)']);
    expect(r.asked).toContain('tftp://192.0.2.1/grub/grub.cfg-01-52-54-00-ab-cd-ef');
  });

  it('errors name the URL and line; a missing source, a bad line and a missing kernel cost only their part', async () => {
    const r = await run({
      [`${P}grub.cfg`]:
        'menuentry "good" { linux (tftp)/vmlinuz-g\n initrd (http)/i-g }\n' +
        'source (tftp)/boot/missing.cfg\n' +
        'menuentry "broken" { linux (tftp)/vmlinuz-g\n}\n' +
        'if [ x = x ]; then\n' +
        'menuentry "nokernel" { linux (tftp)/nothing-here }\n' +
        'menuentry "badserver" { linux (http,a/b)/k }\n',
      'tftp://192.0.2.1/vmlinuz-g': 'k',
      'http://192.0.2.1/i-g': 'i',
    });
    const text = messages(r);
    expect(text).toMatch(/cannot read tftp:\/\/192\.0\.2\.1\/boot\/missing\.cfg: ENOENT/);
    expect(r.diagnostics.find((d) => /missing\.cfg/.test(d.message))).toMatchObject({
      file: `${P}grub.cfg`,
      line: 3,
    });
    expect(text).toMatch(/parse error/);
    expect(r.diagnostics.find((d) => /parse error/.test(d.message))?.file).toBe(`${P}grub.cfg`);
    expect(r.entries.find((e) => e.title.startsWith('GRUB: good'))?.status.ok).toBe(true);
  });

  it('a missing kernel disables its entry naming the URL; the others boot', async () => {
    const r = await run({
      [`${P}grub.cfg`]:
        'menuentry "good" { linux (tftp)/vmlinuz-g }\nmenuentry "nokernel" { linux (tftp)/nothing-here }\nmenuentry "badserver" { linux (http,a/b)/k }\n',
      'tftp://192.0.2.1/vmlinuz-g': 'k',
    });
    const st = Object.fromEntries(r.entries.map((e) => [e.title, e.status]));
    expect(st['GRUB: good (192.0.2.1)']?.ok).toBe(true);
    const nk = st['GRUB: nokernel (192.0.2.1)'];
    expect(nk?.ok).toBe(false);
    if (nk && !nk.ok) expect(nk.reason).toContain('tftp://192.0.2.1/nothing-here');
    const bs = st['GRUB: badserver (192.0.2.1)'];
    expect(bs?.ok).toBe(false);
    if (bs && !bs.ok) expect(bs.reason).toMatch(/bad server name 'a\/b'/);
  });

  it('a kernel larger than the config limit is there (one aborted fetch), not read', async () => {
    const big = new Uint8Array((1 << 20) + 10);
    const r = await run({ [`${P}grub.cfg`]: 'menuentry "big" { linux (tftp)/big }\n', 'tftp://192.0.2.1/big': big });
    expect(r.entries[0]?.status.ok).toBe(true);
  });

  it('no config at all: the EFI image stays an entry, the error lists every URL tried', async () => {
    const r = await run({});
    expect(r.entries.map((e) => e.title)).toEqual(['Net: EFI (grub) grubx64.efi (192.0.2.1)']);
    expect(messages(r)).toMatch(
      /no GRUB network config found \(tried tftp:\/\/192\.0\.2\.1\/boot\/grub\.cfg-01-.*grub\.cfg\)/,
    );
  });

  it('a server error other than "not found" stops the lookup and says so', async () => {
    const r = await run({ [`${P}grub.cfg-01-52-54-00-ab-cd-ef`]: new Error('timed out') });
    expect(messages(r)).toMatch(/lookup stopped at tftp:\/\/192\.0\.2\.1\/boot\/grub\.cfg-01-52-54-00-ab-cd-ef/);
  });

  it('an EFI program that is not GRUB is left alone unless grubConfigs asks', async () => {
    const other = fs.readFileSync('/usr/lib/systemd/boot/efi/systemd-bootx64.efi');
    const files2 = { [BOOT]: other, [`${P}grub.cfg`]: menu('o'), ...files('o') };
    let r = await netbootEntries(lease, memFetch(files2).fetch, {});
    expect(r.entries.map((e) => e.title)).toEqual(['Net: EFI (other) grubx64.efi (192.0.2.1)']);
    r = await netbootEntries(lease, memFetch(files2).fetch, { grubConfigs: true });
    expect(r.entries.map((e) => e.title)).toEqual(['GRUB: o (192.0.2.1)']);
  });
});
