// The same distribution trees, but in real images made by the real tools (xorriso for the
// ISO, mke2fs -d for extlinux on ext4, mkfs.vfat + mcopy for a FAT stick) and read through
// tendril's own filesystem readers: what a user's disk gives us.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileSystem } from '../../../src/discovery/fs/open';
import { FileSource } from '../../../src/discovery/io/source';
import type { FsReport, FsType, LinuxTarget } from '../../../src/discovery/model';
import type { MountedFs, SourceContext } from '../../../src/discovery/sources/context';
import { syslinuxSource } from '../../../src/discovery/sources/syslinux';
import { buildFs, type Tree } from '../../fixtures/images';
import { KERNEL_SRC } from '../sprout/tree';
import { isBootable, targetOf } from '../../fixtures/status';

const DATA = path.join(__dirname, '../../data/syslinux');
const open: FileSource[] = [];
afterAll(() => open.forEach((s) => s.close()));

function tree(dir: string, extra: Tree): Tree {
  const out: Record<string, Tree[string]> = {};
  const walk = (rel: string) => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(r);
      else out[r] = fs.readFileSync(path.join(dir, r), 'utf8');
    }
  };
  walk('');
  return { ...out, ...extra };
}

async function ctxOf(img: string, type: FsType, fsId: string): Promise<SourceContext> {
  const src = FileSource.open(img);
  open.push(src);
  const report: FsReport = {
    fsId,
    device: img,
    partition: 0,
    offset: 0,
    size: src.size,
    probe: { type, readable: true },
  };
  const m: MountedFs = { report, fs: await openFileSystem(src, type) };
  return { filesystems: [m], get: (id) => (id === fsId ? m : undefined), arch: 'x64' };
}

describe('syslinux on real images', () => {
  it('Fedora DVD tree in an ISO 9660 image (xorriso, Rock Ridge + Joliet)', async () => {
    const img = buildFs(
      {
        kind: 'iso9660',
        label: 'Fedora-S-dvd-x86_64-39',
        files: tree(path.join(DATA, 'fedora-dvd'), {
          'isolinux/vmlinuz': { copyOf: KERNEL_SRC },
          'isolinux/initrd.img': 'initrd',
          'isolinux/memtest': 'm',
        }),
      },
      0,
    );
    const r = await syslinuxSource(await ctxOf(img, 'iso9660', 'sr0:0'));
    expect(r.entries.map((e) => e.sourceId.split(':').pop())).toEqual([
      'linux',
      'check',
      'basic',
      'rescue',
      'memtest',
      'local',
    ]);
    expect(r.settings).toEqual({
      kind: 'menu-config',
      timeout: { kind: 'seconds', seconds: 60 },
      defaultId: 'syslinux:sr0:0:/isolinux/isolinux.cfg:check',
      from: 'sr0:0 /isolinux/isolinux.cfg',
    });
    expect(targetOf(r.entries[0]!)).toEqual<LinuxTarget>({
      kind: 'linux',
      kernel: { fsId: 'sr0:0', path: '/isolinux/vmlinuz' },
      initrds: [{ fsId: 'sr0:0', path: '/isolinux/initrd.img' }],
      cmdline: 'inst.stage2=hd:LABEL=Fedora-S-dvd-x86_64-39 quiet',
    });
    expect(r.entries.slice(0, 5).every((e) => isBootable(e))).toBe(true);
  });

  it('Debian live tree in an ISO: INCLUDE chain read through the ISO reader', async () => {
    const img = buildFs(
      {
        kind: 'iso9660',
        label: 'd-live 12.2.0 st amd64',
        files: tree(path.join(DATA, 'debian-live'), {
          'live/vmlinuz-6.1.0-13-amd64': { copyOf: KERNEL_SRC },
          'live/initrd.img-6.1.0-13-amd64': 'i',
          'install/vmlinuz': 'k',
          'install/initrd.gz': 'g',
        }),
      },
      0,
    );
    const r = await syslinuxSource(await ctxOf(img, 'iso9660', 'sr0:0'));
    expect(r.entries.map((e) => e.title)).toEqual([
      'Live system (amd64)',
      'Live system (amd64 fail-safe mode)',
      'Start installer',
      'Hardware Detection Tool (HDT)',
    ]);
    expect(r.settings?.defaultId).toBe('syslinux:sr0:0:/isolinux/isolinux.cfg:live-amd64');
  });

  it('Fedora ARM extlinux on a real ext4 /boot (mke2fs -d)', async () => {
    const img = buildFs(
      {
        kind: 'ext4',
        label: 'boot',
        files: tree(path.join(DATA, 'fedora-arm'), {
          'vmlinuz-6.5.6-300.fc39.aarch64': 'k1',
          'initramfs-6.5.6-300.fc39.aarch64.img': 'i1',
          'vmlinuz-6.5.5-300.fc39.aarch64': 'k2',
          'initramfs-6.5.5-300.fc39.aarch64.img': 'i2',
          'dtb-6.5.5-300.fc39.aarch64/rockchip/rk3399-rock-pi-4b.dtb': 'dtb',
        }),
      },
      16,
    );
    const r = await syslinuxSource(await ctxOf(img, 'ext4', 'mmcblk0:2'));
    expect(r.entries).toHaveLength(2);
    expect(r.entries.every((e) => isBootable(e))).toBe(true);
    expect((targetOf(r.entries[1]!) as LinuxTarget).devicetree).toEqual({
      fsId: 'mmcblk0:2',
      path: '/dtb-6.5.5-300.fc39.aarch64/rockchip/rk3399-rock-pi-4b.dtb',
    });
    expect(r.settings?.timeout).toEqual({ kind: 'seconds', seconds: 2 });
  });

  it('syslinux.cfg on a real FAT stick: upper-case names on disk, lower-case in the config', async () => {
    const img = buildFs(
      {
        kind: 'vfat',
        label: 'STICK',
        files: {
          'SYSLINUX/SYSLINUX.CFG': 'DEFAULT linux\nLABEL linux\n KERNEL vmlinuz\n INITRD initrd.gz\n APPEND quiet\n',
          'SYSLINUX/VMLINUZ': 'k',
          'SYSLINUX/INITRD.GZ': 'i',
        },
      },
      16,
    );
    const r = await syslinuxSource(await ctxOf(img, 'vfat', 'sdb:1'));
    expect(r.entries).toHaveLength(1);
    expect(isBootable(r.entries[0]!)).toBe(true);
    expect(r.settings?.defaultId).toBe(r.entries[0]!.sourceId);
  });
});
