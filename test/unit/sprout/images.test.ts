// sprout.toml on a real FAT ESP (mkfs.vfat + mcopy) read through tendril's FAT reader, with a
// drop-in and a real kernel: docs/sprout.md §16.1 plus FAT's case-insensitive lookups of EFI-style paths.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileSystem } from '../../../src/discovery/fs/open';
import { FileSource } from '../../../src/discovery/io/source';
import type { FsReport, LinuxTarget } from '../../../src/discovery/model';
import type { MountedFs } from '../../../src/discovery/sources/context';
import { sproutSource } from '../../../src/discovery/sources/sprout';
import { buildFs } from '../../fixtures/images';
import { EFI_SRC, ESP_TYPE, KERNEL_SRC } from './tree';
import { isBootable, reasonOf, targetOf } from '../../fixtures/status';

const DATA = path.join(__dirname, '../../data/sprout');
const sources: FileSource[] = [];
afterAll(() => sources.forEach((s) => s.close()));

/** The FAT image `img` as discovery mounts an ESP: vda:1 (kept open until afterAll). */
async function mountEsp(img: string): Promise<MountedFs> {
  const src = FileSource.open(img);
  sources.push(src);
  const report: FsReport = {
    fsId: 'vda:1',
    device: img,
    partition: 1,
    offset: 0,
    size: src.size,
    probe: { type: 'vfat', readable: true, label: 'ESP' },
    partType: ESP_TYPE,
    role: 'esp',
  };
  return { report, fs: await openFileSystem(src, 'vfat') };
}

describe('sprout on a real FAT ESP', () => {
  it('docs/sprout.md §16.1 with a drop-in: kernel found case-insensitively, drop-in overrides the cmdline', async () => {
    const img = buildFs(
      {
        kind: 'vfat',
        label: 'ESP',
        files: {
          'sprout.toml': fs.readFileSync(path.join(DATA, 'example-18.1.toml'), 'utf8'),
          'sprout.d/50-local.toml': '[values]\ncmdline = "root=LABEL=local rw"\n',
          'BOOT/VMLINUZ-STABLE': { copyOf: KERNEL_SRC },
          'BOOT/INITRAMFS-STABLE': 'initrd',
          'EFI/BOOT/BOOTX64.EFI': { copyOf: EFI_SRC },
        },
      },
      64,
    );
    const m = await mountEsp(img);
    const r = await sproutSource({ filesystems: [m], get: (id) => (id === 'vda:1' ? m : undefined), arch: 'x64' });
    expect(r.entries.map((e) => e.sourceId)).toEqual(['sprout:vda:1:stable', 'sprout:vda:1:debug']);
    const stable = r.entries[0]!;
    expect(isBootable(stable)).toBe(true);
    expect((targetOf(stable) as LinuxTarget).cmdline).toBe('root=LABEL=local rw console=ttyS0,115200');
    expect((targetOf(stable) as LinuxTarget).kernel.fsId).toBe('vda:1');
    expect((targetOf(stable) as LinuxTarget).initrds).toHaveLength(1);
    expect(r.settings).toMatchObject({ defaultId: 'sprout:vda:1:stable', timeout: { kind: 'seconds', seconds: 5 } });
  });

  it('chainload of an EFI program (listed by title, as sprout sorts them): an x64 EFI application → efi target; a PE for another machine, a non-PE → broken with the reason', async () => {
    const efi = fs.readFileSync(EFI_SRC);
    const arm = Buffer.from(efi);
    arm.writeUInt16LE(0xaa64, arm.readUInt32LE(0x3c) + 4);
    const toml = [
      'version = 1',
      '[actions.shell]',
      'chainload.path = "\\\\EFI\\\\tools\\\\shell.efi"',
      'chainload.options = ["-nostartup"]',
      '[actions.arm]',
      'chainload.path = "\\\\EFI\\\\tools\\\\arm.efi"',
      '[actions.text]',
      'chainload.path = "\\\\EFI\\\\tools\\\\readme.efi"',
      '[entries.shell]',
      'title = "shell"',
      'actions = ["shell"]',
      '[entries.arm]',
      'title = "arm"',
      'actions = ["arm"]',
      '[entries.text]',
      'title = "text"',
      'actions = ["text"]',
      '',
    ].join('\n');
    const img = buildFs(
      {
        kind: 'vfat',
        label: 'ESP',
        files: {
          'sprout.toml': toml,
          'EFI/TOOLS/SHELL.EFI': efi,
          'EFI/tools/arm.efi': arm,
          'EFI/tools/readme.efi': 'This is not a program, but the text is longer than a DOS header is.\n',
        },
      },
      32,
    );
    const m = await mountEsp(img);
    const r = await sproutSource({ filesystems: [m], get: (id) => (id === 'vda:1' ? m : undefined), arch: 'x64' });
    expect(r.entries.map((e) => [e.sourceId, reasonOf(e) ?? targetOf(e)])).toEqual([
      ['sprout:vda:1:text', 'chainload: /EFI/tools/readme.efi is neither a Linux kernel nor a PE/EFI image'],
      [
        'sprout:vda:1:shell',
        { kind: 'efi', image: { fsId: 'vda:1', path: '/EFI/tools/shell.efi' }, options: '-nostartup' },
      ],
      ['sprout:vda:1:arm', 'chainload: /EFI/tools/arm.efi is a PE image for aa64 (machine 0xaa64), not x64'],
    ]);
  });
});
