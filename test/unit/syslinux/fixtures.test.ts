// Distribution-shaped SYSLINUX trees (test/data/syslinux): a Debian live ISO (isolinux with
// INCLUDE chains and a MENU BEGIN submenu), a Fedora DVD (initrd= in APPEND, LOCALBOOT, MENU
// EXIT), and Fedora ARM extlinux on ext4 (FDT/FDTDIR, labels with spaces). Expectations follow
// docs/grub-syslinux.md §B.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LinuxTarget, SourceEntry } from '../../../src/discovery/model';
import { syslinuxSource } from '../../../src/discovery/sources/syslinux';
import { makeCtx, type Files, type FsSpec, type TestCtx } from '../sprout/tree';
import { isBootable, targetOf } from '../../fixtures/status';

const DATA = path.join(__dirname, '../../data/syslinux');
const K = { real: 'kernel' } as const;

function readTree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(r);
      else out[r] = fs.readFileSync(path.join(dir, r), 'utf8');
    }
  };
  walk('');
  return out;
}

let t: TestCtx | undefined;
afterEach(() => t?.cleanup());

async function scan(fixture: string, extra: Files, spec: Partial<FsSpec> = {}) {
  t = makeCtx([
    { fsId: 'sr0:0', type: 'iso9660', files: { ...readTree(path.join(DATA, fixture)), ...extra }, ...spec },
  ]);
  return syslinuxSource(t.ctx);
}
/** 1-based line of the first line of a fixture file containing `needle`. */
const lineIn = (rel: string, needle: string) =>
  fs
    .readFileSync(path.join(DATA, rel), 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(needle)) + 1;
const label = (e: SourceEntry) => e.sourceId.split(':').slice(4).join(':');

describe('Debian live ISO (isolinux)', () => {
  const extra = {
    'live/vmlinuz-6.1.0-13-amd64': K,
    'live/initrd.img-6.1.0-13-amd64': 'i',
    'install/vmlinuz': K,
    'install/initrd.gz': 'g',
    'isolinux/hdt.c32': 'c32',
  };
  it('lists the labels in file order through the INCLUDE chain, MENU DEFAULT is the default', async () => {
    const r = await scan('debian-live', extra);
    expect(r.entries.map(label)).toEqual(['live-amd64', 'live-amd64-failsafe', 'installstart', 'hdt']);
    expect(r.entries.map((e) => e.title)).toEqual([
      'Live system (amd64)',
      'Live system (amd64 fail-safe mode)',
      'Start installer',
      'Hardware Detection Tool (HDT)',
    ]);
    expect(r.entries[0]!.sourceId).toBe('syslinux:sr0:0:/isolinux/isolinux.cfg:live-amd64');
    expect(r.settings).toEqual({
      kind: 'menu-config',
      timeout: { kind: 'menu-force' },
      defaultId: r.entries[0]!.sourceId,
      from: 'sr0:0 /isolinux/isolinux.cfg',
    });
  });
  it('targets: kernel and initrd from the fs root, APPEND verbatim', async () => {
    const r = await scan('debian-live', extra);
    const live = r.entries[0]!;
    expect(isBootable(live)).toBe(true);
    expect(live.origin).toMatchObject({
      source: 'syslinux',
      fsId: 'sr0:0',
      file: '/isolinux/live.cfg',
      line: lineIn('debian-live/isolinux/live.cfg', 'label live-amd64'),
    });
    expect(targetOf(live)).toEqual<LinuxTarget>({
      kind: 'linux',
      kernel: { fsId: 'sr0:0', path: '/live/vmlinuz-6.1.0-13-amd64' },
      initrds: [{ fsId: 'sr0:0', path: '/live/initrd.img-6.1.0-13-amd64' }],
      cmdline: 'boot=live components quiet splash findiso=${iso_path}',
    });
    expect((targetOf(r.entries[2]!) as LinuxTarget).cmdline).toBe('vga=788 --- quiet');
  });
  it('COM32 modules are listed but not bootable; the missing utilities.cfg is an info with file and line', async () => {
    const r = await scan('debian-live', extra);
    const hdt = r.entries[3]!;
    expect(isBootable(hdt)).toBe(false);
    expect(hdt.diagnostics[0]).toMatchObject({
      severity: 'error',
      file: '/isolinux/menu.cfg',
      line: lineIn('debian-live/isolinux/menu.cfg', 'com32 hdt.c32'),
    });
    expect(hdt.diagnostics[0]!.message).toMatch(/COM32 hdt\.c32: COM32 module, not bootable by kexec/);
    expect(r.diagnostics.find((d) => /utilities\.cfg not found/.test(d.message))).toMatchObject({
      severity: 'info',
      file: '/isolinux/menu.cfg',
      line: lineIn('debian-live/isolinux/menu.cfg', 'include utilities.cfg'),
    });
  });
});

describe('Fedora DVD (isolinux, initrd= in APPEND)', () => {
  const extra = { 'isolinux/vmlinuz': K, 'isolinux/initrd.img': 'i', 'isolinux/memtest': K };
  it('entries, submenu group, MENU EXIT skipped, TIMEOUT 600 = 60 s, MENU DEFAULT', async () => {
    const r = await scan('fedora-dvd', extra);
    expect(r.entries.map(label)).toEqual(['linux', 'check', 'basic', 'rescue', 'memtest', 'local']);
    expect(r.entries.map((e) => e.group)).toEqual([
      undefined,
      undefined,
      'Troubleshooting',
      'Troubleshooting',
      'Troubleshooting',
      'Troubleshooting',
    ]);
    expect(r.settings?.timeout).toEqual({ kind: 'seconds', seconds: 60 });
    expect(r.settings?.defaultId).toBe('syslinux:sr0:0:/isolinux/isolinux.cfg:check');
  });
  it('relative KERNEL resolves in the config directory; initrd= moves from APPEND to the initrds', async () => {
    const r = await scan('fedora-dvd', extra);
    expect(targetOf(r.entries[1]!)).toEqual<LinuxTarget>({
      kind: 'linux',
      kernel: { fsId: 'sr0:0', path: '/isolinux/vmlinuz' },
      initrds: [{ fsId: 'sr0:0', path: '/isolinux/initrd.img' }],
      cmdline: 'inst.stage2=hd:LABEL=Fedora-S-dvd-x86_64-39 rd.live.check quiet',
    });
    expect(r.entries[1]!.title).toBe('Test this media & install Fedora 39');
  });
  it('LOCALBOOT is not bootable with a reason naming the line', async () => {
    const r = await scan('fedora-dvd', extra);
    const local = r.entries[5]!;
    expect(isBootable(local)).toBe(false);
    expect(local.diagnostics[0]).toMatchObject({
      file: '/isolinux/isolinux.cfg',
      line: lineIn('fedora-dvd/isolinux/isolinux.cfg', 'localboot 0xffff'),
    });
    expect(local.diagnostics[0]!.message).toMatch(/LOCALBOOT/);
  });
  it('a missing initrd makes only that entry unbootable', async () => {
    const r = await scan('fedora-dvd', { 'isolinux/vmlinuz': K, 'isolinux/memtest': K });
    expect(r.entries.filter((e) => isBootable(e)).map(label)).toEqual(['memtest']);
    expect(r.entries[0]!.diagnostics[0]!.message).toBe('initrd /isolinux/initrd.img not found');
  });
});

describe('Fedora ARM extlinux on ext4', () => {
  const extra = {
    'vmlinuz-6.5.6-300.fc39.aarch64': K,
    'initramfs-6.5.6-300.fc39.aarch64.img': 'i',
    'vmlinuz-6.5.5-300.fc39.aarch64': K,
    'initramfs-6.5.5-300.fc39.aarch64.img': 'i',
    'dtb-6.5.6-300.fc39.aarch64/': '',
    'dtb-6.5.5-300.fc39.aarch64/rockchip/rk3399-rock-pi-4b.dtb': 'dtb',
  };
  it('/extlinux/extlinux.conf on a /boot partition: labels with spaces, FDT, FDTDIR info, 2 s timeout', async () => {
    const r = await scan('fedora-arm', extra, { fsId: 'mmcblk0:2', type: 'ext4' });
    expect(r.entries.map((e) => e.title)).toEqual([
      'Fedora Linux (6.5.6-300.fc39.aarch64) 39 (Thirty Nine)',
      'Fedora Linux (6.5.5-300.fc39.aarch64) 39 (Thirty Nine)',
    ]);
    expect(r.entries[0]!.sourceId).toBe(
      'syslinux:mmcblk0:2:/extlinux/extlinux.conf:Fedora Linux (6.5.6-300.fc39.aarch64) 39 (Thirty Nine)',
    );
    expect(r.settings).toEqual({
      kind: 'menu-config',
      timeout: { kind: 'seconds', seconds: 2 },
      from: 'mmcblk0:2 /extlinux/extlinux.conf',
    });
    expect(r.entries[0]!.diagnostics.map((d) => d.message)).toEqual([
      'FDTDIR: the board DTB name is chosen by firmware; no devicetree passed',
    ]);
    expect(targetOf(r.entries[1]!)).toEqual<LinuxTarget>({
      kind: 'linux',
      kernel: { fsId: 'mmcblk0:2', path: '/vmlinuz-6.5.5-300.fc39.aarch64' },
      initrds: [{ fsId: 'mmcblk0:2', path: '/initramfs-6.5.5-300.fc39.aarch64.img' }],
      cmdline: 'ro root=UUID=6d9a2f1e-3c57-4d2b-9a0e-1f2b3c4d5e6f console=ttyS0,115200',
      devicetree: { fsId: 'mmcblk0:2', path: '/dtb-6.5.5-300.fc39.aarch64/rockchip/rk3399-rock-pi-4b.dtb' },
    });
  });
  it('U-Boot’s /boot/extlinux/extlinux.conf on a root filesystem is found too', async () => {
    const conf = readTree(path.join(DATA, 'fedora-arm'))['extlinux/extlinux.conf']!.replace(
      / \/(vmlinuz|initramfs|dtb)/g,
      ' /boot/$1',
    );
    t = makeCtx([
      {
        fsId: 'mmcblk0:3',
        files: {
          'boot/extlinux/extlinux.conf': conf,
          ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`boot/${k}`, v])),
        },
      },
    ]);
    const r = await syslinuxSource(t.ctx);
    expect(r.entries).toHaveLength(2);
    expect(r.entries.every((e) => isBootable(e))).toBe(true);
    expect(r.entries[0]!.origin.file).toBe('/boot/extlinux/extlinux.conf');
  });
});
