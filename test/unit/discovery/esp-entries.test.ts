// The automatic ESP entries (src/discovery/sources/esp.ts, docs/esp.md) through the shipped
// `bin/tendril.js list --json`, on disks made by sgdisk/sfdisk, mkfs.vfat, mcopy and mke2fs:
// a GPT disk with Microsoft, debian and BOOT directories next to a Linux root with a BLS entry,
// an MBR disk with two 0xEF ESPs, and a disk of hostile EFI files. The EFI programs are real:
// systemd-boot's (Debian's systemd-boot-efi, no version resource) and applications linked by
// binutils-mingw-w64 with version resources (test/fixtures/efi-app.ts).

import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { systemdBootEfi } from '../../../initramfs/host';
import type { ListJson } from '../../../src/discovery/json';
import { buildEfiApp } from '../../fixtures/efi-app';
import { buildGptDisk, buildMbrDisk, sha256File } from '../../fixtures/images';
import { fakeKernel } from '../../fixtures/uki';

const BIN = path.join(__dirname, '..', '..', '..', 'bin', 'tendril.js');
const ESP_UUID = '3c0e6a55-7d2b-4e1f-9a8c-5b6d7e8f9a0b';

function list(...disks: string[]): ListJson {
  const args = disks.flatMap((d) => ['--disk', d]);
  const out = execFileSync(process.execPath, [BIN, 'list', '--json', '--no-sys', ...args], { encoding: 'utf8' });
  return JSON.parse(out) as ListJson;
}

type Entry = ListJson['entries'][number];
const row = (e: Entry) => [e.title, e.id, e.bootable ? e.target?.kind : `broken: ${e.reason}`];

let sdboot = '';
let windows = '';
/** An EFI application without a version resource; `n` makes its bytes differ. */
const noResource = (n: number): string => buildEfiApp({ returns: n });

beforeAll(() => {
  sdboot = systemdBootEfi();
  windows = buildEfiApp({
    tables: {
      '040904B0': {
        CompanyName: 'Microsoft Corporation',
        FileDescription: 'Boot Manager',
        ProductName: 'Microsoft Windows Operating System',
        ProductVersion: '10.0.22621.2506',
      },
    },
    fixed: [10, 0, 22621, 2506],
  });
});

describe('automatic entries for the EFI programs on an ESP', () => {
  it('GPT ESP with Microsoft, debian, Fedora, an unknown vendor and BOOT: after the kexec entry, titled by what they are', () => {
    const vendorApp = buildEfiApp({
      tables: { '040904B0': { FileDescription: 'Fedora shim', ProductVersion: '15.8' } },
      returns: 4,
    });
    const img = buildGptDisk([
      {
        type: 'esp',
        sizeMiB: 40,
        name: 'EFI',
        partUuid: ESP_UUID,
        fs: {
          kind: 'vfat',
          label: 'ESP',
          files: {
            'EFI/Microsoft/Boot/bootmgfw.efi': { copyOf: windows },
            'EFI/Microsoft/Boot/BCD': 'bcd',
            // Debian's shim is not installed here; systemd-boot is Debian's real EFI binary without a version resource.
            'EFI/debian/shimx64.efi': { copyOf: sdboot },
            'EFI/debian/grubx64.efi': { copyOf: noResource(2) },
            'EFI/debian/grub.cfg': 'configfile (hd0,gpt2)/boot/grub/grub.cfg\n',
            // Upper case on disk: found case-insensitively, path kept as spelled.
            'EFI/FEDORA/SHIMX64.EFI': { copyOf: vendorApp },
            'EFI/tendril-test/grubx64.efi': { copyOf: noResource(5) },
            // Not a shim or GRUB: no entry.
            'EFI/systemd/systemd-bootx64.efi': { copyOf: sdboot },
            // The same bytes as Debian's shim: listed once, as Debian.
            'EFI/BOOT/BOOTX64.EFI': { copyOf: sdboot },
            'EFI/BOOT/fbx64.efi': { copyOf: noResource(6) },
          },
        },
      },
      {
        type: 'linux',
        sizeMiB: 16,
        fs: {
          kind: 'ext4',
          files: {
            'boot/loader/entries/debian.conf':
              'title Debian GNU/Linux\nsort-key debian\nlinux /boot/vmlinuz\noptions root=LABEL=root ro\n',
            'boot/vmlinuz': fakeKernel('debian'),
          },
        },
      },
    ]);
    const before = sha256File(img);
    const r = list(img);
    const on = path.basename(img);
    expect(r.entries.map(row)).toEqual([
      ['Debian GNU/Linux', 'debian.conf', 'linux'],
      ['Windows Boot Manager', 'auto-windows', 'efi'],
      [`UEFI: Debian on ${on}`, 'auto-uefi-debian', 'efi'],
      [`UEFI: Fedora shim on ${on}`, 'auto-uefi-fedora', 'efi'],
      [`UEFI: tendril-test on ${on}`, 'auto-uefi-tendril-test', 'efi'],
    ]);
    // The kexec entry is the default; an automatic entry never is unless named.
    expect(r.entries.map((e) => e.default)).toEqual([true, false, false, false, false]);
    const [, win, deb, fed] = r.entries;
    expect(win!.version).toBe('10.0.22621.2506');
    expect(win!.target).toEqual({ kind: 'efi', image: { fsId: `${on}:1`, path: '/EFI/Microsoft/Boot/bootmgfw.efi' } });
    expect(deb!.target).toEqual({ kind: 'efi', image: { fsId: `${on}:1`, path: '/EFI/debian/shimx64.efi' } });
    expect(fed!.target).toEqual({ kind: 'efi', image: { fsId: `${on}:1`, path: '/EFI/FEDORA/SHIMX64.EFI' } });
    expect(fed!.version).toBe('15.8');
    // What the boot dispatch needs for HD(…)/File(…): the device, partition number and PARTUUID.
    const { fsUuid, ...origin } = deb!.origin;
    expect(origin).toEqual({
      source: 'esp',
      fsId: `${on}:1`,
      device: img,
      partition: 1,
      partUuid: ESP_UUID,
      file: '/EFI/debian/shimx64.efi',
    });
    expect(fsUuid).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
    // The boot dispatch puts Windows Boot Manager's disk on NVMe (Windows has no virtio driver)
    // and Debian's on virtio-blk (src/boot/vm-plan.ts diskInterfaceFor).
    const plan = (id: string) =>
      spawnSync(process.execPath, [BIN, 'boot', '--disk', img, '--entry', id, '--dry-run'], { encoding: 'utf8' })
        .stdout;
    expect(plan('auto-windows')).toMatch(
      /^\s*disk 0: .* on NVMe \(auto: the loader is Windows Boot Manager, which has no virtio driver\); /m,
    );
    expect(plan('auto-uefi-debian')).toMatch(/^\s*disk 0: .* on virtio-blk \(auto\); /m);
    expect(plan('auto-windows')).toMatch(/^\s*display: a GOP framebuffer \(bochs-display\)$/m);
    expect(plan('auto-uefi-debian')).toMatch(/^\s*display: none \(serial console only\)$/m);
    // Where the screen goes: auto with a display (what this host has now), nothing without one.
    expect(plan('auto-windows')).toMatch(
      /^\s*display shown on: (\/dev\/\S+ \(auto: found now|nothing \(auto: no \/dev\/fb0)/m,
    );
    expect(plan('auto-uefi-debian')).toMatch(/^\s*display shown on: nothing on this machine's screen/m);
    const esp = r.devices[0]!.filesystems.find((f) => f.partition === 1)!;
    expect([esp.role, esp.partType]).toEqual(['esp', 'c12a7328-f81f-11d2-ba4b-00a0c93ec93b']);
    const said = r.entries
      .flatMap((e) => e.diagnostics)
      .concat(
        r.devices.flatMap((d) => d.diagnostics),
        r.diagnostics,
      );
    expect(said.map((d) => d.message)).toContain(
      "/EFI/BOOT/BOOTX64.EFI has the bytes of debian's program, listed as its entry; not listed again",
    );
    expect(sha256File(img)).toBe(before);
  });

  it('MBR disk with two 0xEF ESPs: a removable-media copy of a vendor program it does not boot is titled after the vendor; one with a version resource by it', () => {
    const loader = buildEfiApp({
      tables: { '040904B0': { ProductName: 'Tendril Test Loader', ProductVersion: '7.1' } },
      returns: 7,
    });
    const img = buildMbrDisk([
      {
        type: 'esp',
        sizeMiB: 34,
        fs: {
          kind: 'vfat',
          files: {
            'EFI/ubuntu/shimx64.efi': { copyOf: sdboot },
            'EFI/ubuntu/grubx64.efi': { copyOf: noResource(3) },
            'EFI/BOOT/BOOTX64.EFI': { copyOf: noResource(3) },
          },
        },
      },
      { type: 'esp', sizeMiB: 34, fs: { kind: 'vfat', files: { 'efi/boot/bootx64.efi': { copyOf: loader } } } },
    ]);
    const before = sha256File(img);
    const r = list(img);
    const on = path.basename(img);
    expect(r.entries.map(row)).toEqual([
      [`UEFI: Ubuntu on ${on}`, 'auto-uefi-ubuntu', 'efi'],
      [`UEFI: Ubuntu (removable media path) on ${on}`, 'auto-efi-default', 'efi'],
      [`UEFI: Tendril Test Loader on ${on}`, `auto-efi-default@${on}:2`, 'efi'],
    ]);
    expect(r.entries.map((e) => [e.origin.partition, e.origin.partUuid, e.target?.kind])).toEqual([
      [1, '7e57d15c-01', 'efi'],
      [1, '7e57d15c-01', 'efi'],
      [2, '7e57d15c-02', 'efi'],
    ]);
    expect(r.entries[2]!.version).toBe('7.1');
    expect(r.entries[2]!.target).toEqual({ kind: 'efi', image: { fsId: `${on}:2`, path: '/efi/boot/bootx64.efi' } });
    // No automatic entry may be the default by itself: the first one is, for want of another.
    expect(r.settings.defaultReason).toBe('no entry may be selected automatically: first entry');
    expect(sha256File(img)).toBe(before);
  });

  it('hostile EFI files: a broken version resource falls back to the name; a non-PE or foreign PE is broken with the reason', () => {
    const good = fs.readFileSync(
      buildEfiApp({ tables: { '040904B0': { ProductName: 'Should not show' } }, returns: 8 }),
    );
    // VS_VERSIONINFO's wLength (6 bytes before its UTF-16 key) made larger than the resource.
    const key = Buffer.from('VS_VERSION_INFO', 'utf16le');
    const at = good.indexOf(key);
    expect(at).toBeGreaterThan(6);
    const badVersion = Buffer.from(good);
    badVersion.writeUInt16LE(0xfff0, at - 6);
    const arm = Buffer.from(fs.readFileSync(sdboot));
    arm.writeUInt16LE(0xaa64, arm.readUInt32LE(0x3c) + 4);
    const img = buildGptDisk([
      {
        type: 'esp',
        sizeMiB: 34,
        fs: {
          kind: 'vfat',
          files: {
            'EFI/BOOT/BOOTX64.EFI': badVersion,
            'EFI/debian/shimx64.efi': 'not a program\n'.repeat(8),
            'EFI/fedora/grubx64.efi': arm,
          },
        },
      },
    ]);
    const before = sha256File(img);
    const r = list(img);
    const on = path.basename(img);
    expect(r.entries.map(row)).toEqual([
      [
        `UEFI: Debian on ${on}`,
        'auto-uefi-debian',
        "broken: /EFI/debian/shimx64.efi is not a PE/COFF image (e_magic: not 'MZ' (0x6e 0x6f))",
      ],
      [
        `UEFI: Fedora on ${on}`,
        'auto-uefi-fedora',
        'broken: /EFI/fedora/grubx64.efi is a PE image for aa64 (machine 0xaa64), not x64',
      ],
      [`UEFI: EFI Default Loader on ${on}`, 'auto-efi-default', 'efi'],
    ]);
    const warned = r.entries[2]!.diagnostics.map((d) => `${d.severity}: ${d.message}`);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(
      /^warning: version resource ignored: VS_VERSIONINFO: block at 0: wLength 65520 runs past its parent \(end \d+\)$/,
    );
    expect(sha256File(img)).toBe(before);
  });
});
