import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { openIso9660 } from '../../../src/discovery/fs/iso9660';
import { FileSource } from '../../../src/discovery/io/source';
import type { EfiTarget, LinuxTarget, MultibootTarget } from '../../../src/discovery/model';
import { scanGrub } from '../../../src/discovery/sources/grub';
import { fixture, makeCtx, type TestCtx } from './helpers';
import { systemdBootEfi } from '../../../initramfs/host';
import * as path from 'node:path';
import { declaredOf, isBootable, reasonOf, targetOf, type HasStatus } from '../../fixtures/status';

let t: TestCtx | undefined;
afterEach(() => t?.cleanup());
const lin = (e: HasStatus): LinuxTarget => targetOf(e) as LinuxTarget;

describe('openSUSE Tumbleweed', () => {
  const files = (snapshots: boolean): Record<string, string> => ({
    'boot/grub2/grub.cfg': fixture('opensuse-tumbleweed.cfg'),
    'boot/vmlinuz-6.10.5-1-default': 'k',
    'boot/initrd-6.10.5-1-default': 'i',
    ...(snapshots
      ? {
          '.snapshots/grub-snapshot.cfg': fixture('opensuse-grub-snapshot.cfg'),
          '.snapshots/41/grub-snapshot.cfg': fixture('opensuse-snapshot-41.cfg'),
          '.snapshots/40/grub-snapshot.cfg': fixture('opensuse-snapshot-40.cfg'),
          '.snapshots/41/snapshot/boot/vmlinuz-6.10.5-1-default': 'k',
          '.snapshots/41/snapshot/boot/initrd-6.10.5-1-default': 'i',
        }
      : {}),
  });

  it('keeps the efi-only hiddenentry hidden, drops the one that loads nothing, lists snapshot submenus', async () => {
    t = makeCtx([
      { device: 'vda', partition: 2, type: 'ext4', uuid: '8c1e4a2b-3d5f-4e6a-9b7c-0d1e2f3a4b5c', files: files(true) },
    ]);
    const s = await scanGrub(t.ctx);
    expect(s.entries.map((e) => [e.title, e.group ?? '', e.hidden ?? false])).toEqual([
      ['openSUSE Tumbleweed', '', false],
      ['openSUSE Tumbleweed, with Linux 6.10.5-1-default', 'Advanced options for openSUSE Tumbleweed', false],
      [
        'openSUSE Tumbleweed, with Linux 6.10.5-1-default (recovery mode)',
        'Advanced options for openSUSE Tumbleweed',
        false,
      ],
      ['openSUSE Tumbleweed (serial console)', '', true],
      [
        'openSUSE Tumbleweed (6.10.5-1-default,2024-08-20T09:12,pre,zypp(zypper))',
        'Start bootloader from a read-only snapshot',
        false,
      ],
      [
        'openSUSE Tumbleweed (6.10.5-1-default,2024-08-19T18:01,pre,zypp(zypper))',
        'Start bootloader from a read-only snapshot',
        false,
      ],
    ]);
    const snap41 = s.entries[4]!;
    expect(lin(snap41).kernel.path).toBe('/.snapshots/41/snapshot/boot/vmlinuz-6.10.5-1-default');
    expect(lin(snap41).cmdline).toContain('rootflags=subvol=@/.snapshots/41/snapshot');
    expect(isBootable(snap41)).toBe(true);
    // Snapshot 40's files were cleaned up: listed, not bootable, with the reason.
    expect(isBootable(s.entries[5]!)).toBe(false);
    expect(s.entries[5]!.diagnostics.map((d) => d.message).join()).toMatch(
      /kernel \/.snapshots\/40\/snapshot\/boot\/vmlinuz-6.10.5-1-default not found on vda:2/,
    );
    expect(s.diagnostics.some((d) => d.message.includes("'Text mode' not listed"))).toBe(true);
    expect(s.settings?.timeout).toEqual({ kind: 'seconds', seconds: 8 });
  });
});

describe('Arch Linux with /boot on the ESP, os-prober Windows entries', () => {
  it('keeps microcode first among several initrds; Windows EFI → efi target; chainloader +1 not bootable', async () => {
    t = makeCtx([
      {
        device: 'nvme0n1',
        partition: 1,
        type: 'vfat',
        uuid: '7E3A-21C9',
        role: 'esp',
        files: {
          'grub/grub.cfg': fixture('arch.cfg'),
          'vmlinuz-linux': 'k',
          'intel-ucode.img': 'u',
          'initramfs-linux.img': 'i',
          'initramfs-linux-fallback.img': 'f',
          // A real EFI application stands in for Windows' boot manager.
          'EFI/Microsoft/Boot/bootmgfw.efi': fs.readFileSync(systemdBootEfi()),
        },
      },
      { device: 'nvme0n1', partition: 2, uuid: '4e2d6c8a-1b3f-4a5c-8d7e-9f0a1b2c3d4e', files: { 'etc/': '' } },
    ]);
    const s = await scanGrub(t.ctx);
    expect(s.entries.map((e) => e.title)).toEqual([
      'Arch Linux',
      'Arch Linux, with Linux linux',
      'Arch Linux, with Linux linux (fallback initramfs)',
      'Windows Boot Manager (on /dev/nvme0n1p1)',
      'Windows 7 (on /dev/sdb1)',
    ]);
    expect(lin(s.entries[0]!).initrds).toEqual([
      { fsId: 'nvme0n1:1', path: '/intel-ucode.img' },
      { fsId: 'nvme0n1:1', path: '/initramfs-linux.img' },
    ]);
    expect(s.entries[0]!.origin.file).toBe('/grub/grub.cfg');
    expect(targetOf(s.entries[3]!)).toEqual({
      kind: 'efi',
      image: { fsId: 'nvme0n1:1', path: '/EFI/Microsoft/Boot/bootmgfw.efi' },
    } satisfies EfiTarget);
    expect(isBootable(s.entries[3]!)).toBe(true);
    expect(isBootable(s.entries[4]!)).toBe(false);
    expect(s.entries[4]!.diagnostics.map((d) => d.message).join()).toContain('chainloader +1');
    // A BIOS boot sector names nothing tendril can boot or show: no stand-in `efi` target.
    expect([targetOf(s.entries[4]!), declaredOf(s.entries[4]!)]).toEqual([undefined, undefined]);
    expect(reasonOf(s.entries[4]!)).toMatch(/^chainloader \+1 boots a BIOS boot sector/);
  });
});

describe('configfile to a second disk found by search --fs-uuid', () => {
  it('uses the second disk menu (once), its default and timeout', async () => {
    t = makeCtx([
      {
        device: 'vda',
        partition: 1,
        uuid: '11111111-2222-4333-8444-555555555555',
        files: { 'boot/grub/grub.cfg': fixture('chain-second-disk.cfg'), 'vmlinuz-rescue': 'k' },
      },
      {
        device: 'vdb',
        partition: 1,
        uuid: '0f9e8d7c-6b5a-4948-3726-15a4b3c2d1e0',
        files: {
          'boot/grub/grub.cfg': fixture('second-disk-menu.cfg'),
          'boot/vmlinuz-lts': 'k',
          'boot/initramfs-lts': 'i',
          'boot/vmlinuz-edge': 'k',
          'boot/initramfs-edge': 'i',
        },
      },
    ]);
    const s = await scanGrub(t.ctx);
    expect(s.configs).toHaveLength(1);
    expect(s.entries.map((e) => e.sourceId)).toEqual([
      'grub:vdb:1:/boot/grub/grub.cfg:alpine',
      'grub:vdb:1:/boot/grub/grub.cfg:alpine-edge',
    ]);
    expect(lin(s.entries[0]!).kernel).toEqual({ fsId: 'vdb:1', path: '/boot/vmlinuz-lts' });
    expect(lin(s.entries[1]!).initrds).toEqual([{ fsId: 'vdb:1', path: '/boot/initramfs-edge' }]);
    expect(s.settings).toMatchObject({
      defaultId: 'grub:vdb:1:/boot/grub/grub.cfg:alpine-edge',
      timeout: { kind: 'seconds', seconds: 7 },
      from: 'vdb:1 /boot/grub/grub.cfg',
    });
  });

  it('an unknown UUID leaves the first disk menu; its /vmlinuz-rescue resolves on that disk', async () => {
    t = makeCtx([
      {
        device: 'vda',
        partition: 1,
        files: { 'boot/grub/grub.cfg': fixture('chain-second-disk.cfg'), 'vmlinuz-rescue': 'k' },
      },
    ]);
    const s = await scanGrub(t.ctx);
    expect(s.entries.map((e) => e.title)).toEqual(['Rescue (first disk)']);
    expect(isBootable(s.entries[0]!)).toBe(true);
    expect(
      s.diagnostics.some((d) => d.message.includes('search: no filesystem with UUID 0f9e8d7c') && d.line === 6),
    ).toBe(true);
  });
});

describe('Qubes: Xen multiboot2 + module2, and if [ -d /aem/ ] (heads#1499)', () => {
  const files = (aem: boolean): Record<string, string> => ({
    'grub2/grub.cfg': fixture('qubes-xen.cfg'),
    'xen-4.17.4.gz': 'x',
    'vmlinuz-6.6.48-1.qubes.fc37.x86_64': 'k',
    'initramfs-6.6.48-1.qubes.fc37.x86_64.img': 'i',
    ...(aem ? { 'aem/': '', 'tboot.gz': 't' } : {}),
  });
  it('lists a multiboot entry with its modules, not bootable by kexec yet; no AEM entry without /aem', async () => {
    t = makeCtx([{ device: 'sda', partition: 1, uuid: 'a1b2c3d4-e5f6-4789-8abc-def012345678', files: files(false) }]);
    const s = await scanGrub(t.ctx);
    expect(s.entries).toHaveLength(1);
    // Not bootable: what the config declares is listed, not booted.
    const mb = declaredOf(s.entries[0]!) as MultibootTarget;
    expect(mb).toEqual({
      kind: 'multiboot',
      kernel: { fsId: 'sda:1', path: '/xen-4.17.4.gz' },
      cmdline:
        'placeholder console=none dom0_mem=min:1024M dom0_mem=max:4096M ucode=scan smt=off gnttab_max_frames=2048 gnttab_max_maptrack_frames=4096 no-real-mode edd=off',
      modules: [
        {
          file: { fsId: 'sda:1', path: '/vmlinuz-6.6.48-1.qubes.fc37.x86_64' },
          cmdline:
            'placeholder root=/dev/mapper/qubes_dom0-root ro rd.luks.uuid=luks-1234 rd.lvm.lv=qubes_dom0/root plymouth.ignore-serial-consoles rhgb quiet',
        },
        { file: { fsId: 'sda:1', path: '/initramfs-6.6.48-1.qubes.fc37.x86_64.img' }, cmdline: '' },
      ],
    });
    expect(isBootable(s.entries[0]!)).toBe(false);
    expect(s.entries[0]!.diagnostics.some((d) => d.message.includes('not bootable by kexec yet'))).toBe(true);
  });
  it('with /aem present the AEM entry appears', async () => {
    t = makeCtx([{ device: 'sda', partition: 1, uuid: 'a1b2c3d4-e5f6-4789-8abc-def012345678', files: files(true) }]);
    const s = await scanGrub(t.ctx);
    expect(s.entries.map((e) => e.title)).toEqual(['Qubes, with Xen hypervisor', 'AEM Qubes, with Xen hypervisor']);
    expect((declaredOf(s.entries[1]!) as MultibootTarget).modules).toHaveLength(3);
  });
});

describe('ISO loopback with iso_path (real ISO images from xorriso, read by openIso9660)', () => {
  /** Build an ISO with xorriso from a tree of files; returns its bytes' host path. */
  const makeIso = (dir: string, out: string, files: Record<string, string>): void => {
    for (const [p, c] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
      fs.writeFileSync(path.join(dir, p), c);
    }
    fs.mkdirSync(path.dirname(out), { recursive: true });
    execFileSync('xorriso', ['-as', 'mkisofs', '-R', '-J', '-V', 'LIVE', '-o', out, dir], { stdio: 'ignore' });
  };
  const make = (): TestCtx => {
    const c = makeCtx([
      {
        device: 'sdb',
        partition: 1,
        type: 'ext4',
        label: 'ISOS',
        files: { 'boot/grub/grub.cfg': fixture('iso-loopback.cfg'), 'isos/': '' },
      },
    ]);
    const host = path.join(c.root, 'sdb-1', 'isos');
    makeIso(path.join(c.root, 'src-ubuntu'), path.join(host, 'ubuntu-24.04-desktop-amd64.iso'), {
      'casper/vmlinuz': 'k',
      'casper/initrd': 'i',
    });
    makeIso(path.join(c.root, 'src-kick'), path.join(host, 'kicksecure.iso'), {
      'boot/grub/loopback.cfg': fixture('iso-inner-loopback.cfg'),
      'live/vmlinuz': 'k',
      'live/initrd.img': 'i',
    });
    return c;
  };

  it('without an ISO reader: entries listed, not bootable, with the reason', async () => {
    t = make();
    const s = await scanGrub(t.ctx);
    const e = s.entries.find((x) => x.title === 'Ubuntu 24.04 live (ISO)')!;
    expect(isBootable(e)).toBe(false);
    expect(e.diagnostics.map((d) => d.message).join()).toContain('no ISO 9660 reader available');
    // Its kernel is inside an image that cannot be opened here: no place to name, so no
    // target and nothing declared (before, a stand-in kernel on the config's filesystem).
    expect(targetOf(e)).toBeUndefined();
    expect(declaredOf(e)).toBeUndefined();
    expect(reasonOf(e)).toContain('no ISO 9660 reader available');
  });

  it('with a reader: (loop) paths resolve inside the image; loopback.cfg entries get iso_path', async () => {
    t = make();
    const root = t.root;
    const opened: string[] = [];
    const s = await scanGrub(t.ctx, {
      openImage: async (_fs, p) => {
        opened.push(p);
        return openIso9660(FileSource.open(path.join(root, 'sdb-1', p)));
      },
    });
    expect(opened).toEqual(['/isos/ubuntu-24.04-desktop-amd64.iso', '/isos/kicksecure.iso']);
    expect(s.entries.map((e) => [e.title, e.group ?? ''])).toEqual([
      ['Ubuntu 24.04 live (ISO)', ''],
      ['Kicksecure (live)', 'Kicksecure live (loopback.cfg)'],
      ['Kicksecure (live, persistent)', 'Kicksecure live (loopback.cfg)'],
    ]);
    const u = s.entries[0]!;
    expect(isBootable(u)).toBe(true);
    expect(lin(u).kernel).toEqual({ fsId: 'sdb:1!/isos/ubuntu-24.04-desktop-amd64.iso', path: '/casper/vmlinuz' });
    const k = s.entries[1]!;
    expect(lin(k).cmdline).toBe('boot=live findiso=/isos/kicksecure.iso components quiet');
    expect(lin(k).kernel.fsId).toBe('sdb:1!/isos/kicksecure.iso');
    expect(lin(k).initrds).toEqual([{ fsId: 'sdb:1!/isos/kicksecure.iso', path: '/live/initrd.img' }]);
    expect(k.origin.file).toBe('/isos/kicksecure.iso:/boot/grub/loopback.cfg');
    expect(isBootable(k)).toBe(true);
  });
});
