// The same evaluator over real filesystem images (mkfs.vfat + mcopy, mke2fs -d) read by
// tendril's FAT and ext4 readers; UUIDs and labels as blkid reports them.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileSystem } from '../../../src/discovery/fs/open';
import { FileSource } from '../../../src/discovery/io/source';
import type { FsReport, FsType, LinuxTarget } from '../../../src/discovery/model';
import type { MountedFs, SourceContext } from '../../../src/discovery/sources/context';
import { scanGrub } from '../../../src/discovery/sources/grub';
import { fixture } from './helpers';
import { systemdBootEfi, systemdStub } from '../../../initramfs/host';
import { createHash } from 'node:crypto';
import { isBootable, reasonOf, targetOf } from '../../fixtures/status';

const sha256 = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tendril-grub-img-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string | Uint8Array>): string {
  const dir = path.join(tmp, name);
  for (const [p, c] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), c);
  }
  return dir;
}

function fatImage(name: string, volid: string, dir: string): string {
  const img = path.join(tmp, `${name}.img`);
  execFileSync('truncate', ['-s', '32M', img]);
  execFileSync('mkfs.vfat', ['-F', '16', '-i', volid, '-n', 'ESP', img], { stdio: 'ignore' });
  for (const e of fs.readdirSync(dir))
    execFileSync('mcopy', ['-s', '-i', img, path.join(dir, e), '::/'], { stdio: 'ignore' });
  return img;
}

function extImage(name: string, uuid: string, dir: string): string {
  const img = path.join(tmp, `${name}.img`);
  execFileSync('mke2fs', ['-q', '-F', '-t', 'ext4', '-U', uuid, '-L', name, '-d', dir, img, '32M'], {
    stdio: 'ignore',
  });
  return img;
}

const blkid = (img: string, tag: string): string =>
  execFileSync('blkid', ['-p', '-o', 'value', '-s', tag, img], { encoding: 'utf8' }).trim();

async function mount(
  img: string,
  device: string,
  partition: number,
  type: FsType,
  role?: FsReport['role'],
): Promise<MountedFs> {
  const report: FsReport = {
    fsId: `${device}:${partition}`,
    device: `/dev/${device}`,
    partition,
    offset: 0,
    size: fs.statSync(img).size,
    probe: { type, uuid: blkid(img, 'UUID'), label: blkid(img, 'LABEL'), readable: true },
    ...(role ? { role } : {}),
  };
  return { report, fs: await openFileSystem(FileSource.open(img), type) };
}

const ctxOf = (fss: MountedFs[]): SourceContext => ({
  filesystems: fss,
  get: (id) => fss.find((f) => f.report.fsId === id),
  arch: 'x64',
});

describe('grub.cfg on real images', () => {
  it('Arch: /boot is a FAT ESP searched by its volume id (blkid XXXX-XXXX)', async () => {
    const esp = fatImage(
      'arch-esp',
      '7e3a21c9',
      tree('arch-esp', {
        'grub/grub.cfg': fixture('arch.cfg'),
        'vmlinuz-linux': 'k',
        'intel-ucode.img': 'u',
        'initramfs-linux.img': 'i',
        'initramfs-linux-fallback.img': 'f',
        // A real EFI application stands in for Windows' boot manager.
        'EFI/Microsoft/Boot/bootmgfw.efi': fs.readFileSync(systemdBootEfi()),
      }),
    );
    expect(blkid(esp, 'UUID')).toBe('7E3A-21C9');
    const s = await scanGrub(ctxOf([await mount(esp, 'nvme0n1', 1, 'vfat', 'esp')]));
    expect(s.entries.map((e) => [e.title, isBootable(e)])).toEqual([
      ['Arch Linux', true],
      ['Arch Linux, with Linux linux', true],
      ['Arch Linux, with Linux linux (fallback initramfs)', true],
      ['Windows Boot Manager (on /dev/nvme0n1p1)', true],
      ['Windows 7 (on /dev/sdb1)', false],
    ]);
    expect((targetOf(s.entries[2]!) as LinuxTarget).initrds.map((r) => r.path)).toEqual([
      '/intel-ucode.img',
      '/initramfs-linux-fallback.img',
    ]);
  });

  it('chainloader of an EFI file: an x64 EFI application is an efi target; anything else is broken, saying why', async () => {
    const sdboot = fs.readFileSync(systemdBootEfi());
    const drv = Buffer.from(sdboot);
    drv.writeUInt16LE(12, drv.readUInt32LE(0x3c) + 24 + 68); // subsystem: EFI runtime driver
    const esp = fatImage(
      'chain-esp',
      '0c4a1e55',
      tree('chain-esp', {
        'EFI/debian/grub.cfg': [
          'menuentry "systemd-boot" { chainloader /EFI/systemd/systemd-bootx64.efi --flag "a b"; }',
          'menuentry "text" { chainloader /EFI/debian/grub.cfg; }',
          'menuentry "ELF" { chainloader /EFI/systemd/linuxx64.elf.stub; }',
          'menuentry "driver" { chainloader /EFI/drivers/rt.efi; }',
          '',
        ].join('\n'),
        // Upper-case on disk, lower-case in the config: FAT looks names up case-insensitively.
        'EFI/SYSTEMD/SYSTEMD-BOOTX64.EFI': sdboot,
        'EFI/systemd/linuxx64.elf.stub': fs.readFileSync(systemdStub().replace(/\.efi\.stub$/, '.elf.stub')),
        'EFI/drivers/rt.efi': drv,
      }),
    );
    const sum = sha256(esp);
    const s = await scanGrub(ctxOf([await mount(esp, 'vda', 1, 'vfat', 'esp')]));
    expect(s.entries.map((e) => [e.title, reasonOf(e) ?? targetOf(e)])).toEqual([
      [
        'systemd-boot',
        {
          kind: 'efi',
          image: { fsId: 'vda:1', path: '/EFI/systemd/systemd-bootx64.efi' },
          options: '--flag "a b"',
        },
      ],
      ['text', "chainloader /EFI/debian/grub.cfg is not a PE/COFF image (e_magic: not 'MZ' (0x6d 0x65)) on vda:1"],
      [
        'ELF',
        "chainloader /EFI/systemd/linuxx64.elf.stub is not a PE/COFF image (e_magic: not 'MZ' (0x7f 0x45)) on vda:1",
      ],
      [
        'driver',
        'chainloader /EFI/drivers/rt.efi has PE subsystem 12 (EFI runtime driver), not 10 (EFI application) on vda:1',
      ],
    ]);
    expect(sha256(esp)).toBe(sum);
  });

  it('Ubuntu: FAT ESP stub → configfile on an ext4 /boot found by UUID', async () => {
    const BOOT = '9e2f4c1a-7b3d-4e5f-8a6b-1c2d3e4f5a6b';
    const esp = fatImage(
      'ubuntu-esp',
      'c0de1234',
      tree('ubuntu-esp', { 'EFI/ubuntu/grub.cfg': fixture('ubuntu-esp-stub.cfg') }),
    );
    const boot = extImage(
      'ubuntu-boot',
      BOOT,
      tree('ubuntu-boot', {
        'grub/grub.cfg': fixture('ubuntu-noble.cfg'),
        'vmlinuz-6.8.0-45-generic': 'k',
        'initrd.img-6.8.0-45-generic': 'i',
        'vmlinuz-6.8.0-41-generic': 'k',
        'initrd.img-6.8.0-41-generic': 'i',
        'memtest86+x64.efi': 'm',
      }),
    );
    const s = await scanGrub(ctxOf([await mount(esp, 'vda', 1, 'vfat', 'esp'), await mount(boot, 'vda', 2, 'ext4')]));
    expect(s.configs.map((c) => [c.probed, c.file])).toEqual([
      [
        { fsId: 'vda:1', path: '/EFI/ubuntu/grub.cfg' },
        { fsId: 'vda:2', path: '/grub/grub.cfg' },
      ],
    ]);
    expect(s.entries).toHaveLength(5);
    expect(s.entries.every((e) => isBootable(e) && e.origin.fsId === 'vda:2')).toBe(true);
  });
});
