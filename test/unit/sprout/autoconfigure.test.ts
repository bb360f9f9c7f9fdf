// Autoconfigure (docs/sprout.md §14, §17.9): BLS natively, vmlinuz/initrd pairs newest first
// (with *.img pairing flagged as an improvement), Windows via the VM path, sprout's names.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LinuxTarget, SourceEntry } from '../../../src/discovery/model';
import { sproutSource } from '../../../src/discovery/sources/sprout';
import { esp, LINUX_TYPE, makeCtx, type FsSpec, type TestCtx } from './tree';
import { isBootable, targetOf } from '../../fixtures/status';

const K = { real: 'kernel' } as const;
const EFI = { real: 'efi' } as const;
const H = (fsId: string) => createHash('sha256').update(`tendril-fs:${fsId}/`).digest('hex');
let t: TestCtx | undefined;
afterEach(() => t?.cleanup());

const nameOf = (e: SourceEntry) => e.sourceId.replace(/^sprout:vda:1:/, '');
const AUTO = '[options]\nautoconfigure = true\n';

async function run(toml: string, others: FsSpec[], espExtra = {}) {
  t = makeCtx([esp({ 'sprout.toml': toml, ...espExtra }), ...others]);
  return sproutSource(t.ctx);
}

describe('autoconfigure', () => {
  it('plain kernels: newest first, initrd.img/initramfs/initrd pairs, names auto-linux-<H>-<i>', async () => {
    const r = await run(`${AUTO}[values]\nlinux-options = "root=/dev/vda2 ro"\n`, [
      {
        fsId: 'vda:2',
        partType: LINUX_TYPE,
        files: {
          'boot/vmlinuz-6.1.0-9-amd64': K,
          'boot/initrd.img-6.1.0-9-amd64': 'a',
          'boot/vmlinuz-6.1.0-10-amd64': K,
          'boot/initramfs-6.1.0-10-amd64': 'b',
          'boot/vmlinuz-5.10.0-1-amd64': K, // no initrd at all
          'boot/config-6.1.0-10-amd64': 'c',
        },
      },
    ]);
    const h = H('vda:2');
    expect(r.entries.map(nameOf)).toEqual([0, 1, 2].map((i) => `auto-linux-${h}-${i}`));
    expect(r.entries.map((e) => e.title)).toEqual([
      'Boot Linux /boot/vmlinuz-6.1.0-10-amd64',
      'Boot Linux /boot/vmlinuz-6.1.0-9-amd64',
      'Boot Linux /boot/vmlinuz-5.10.0-1-amd64',
    ]);
    expect(r.entries.map((e) => (targetOf(e) as LinuxTarget).initrds.map((f) => f.path))).toEqual([
      ['/boot/initramfs-6.1.0-10-amd64'],
      ['/boot/initrd.img-6.1.0-9-amd64'],
      [],
    ]);
    expect((targetOf(r.entries[0]!) as LinuxTarget).cmdline).toBe('root=/dev/vda2 ro');
    expect(r.entries.every((e) => isBootable(e))).toBe(true);
  });

  it('Fedora/Arch *.img initramfs names are paired (flagged); linux-options defaults to "placeholder" with a warning', async () => {
    const r = await run(AUTO, [{ fsId: 'vda:2', files: { 'vmlinuz-linux': K, 'initramfs-linux.img': 'i' } }]);
    const e = r.entries[0]!;
    expect((targetOf(e) as LinuxTarget).initrds).toEqual([{ fsId: 'vda:2', path: '/initramfs-linux.img' }]);
    expect((targetOf(e) as LinuxTarget).cmdline).toBe('placeholder');
    expect(e.diagnostics.some((d) => /set \[values\] linux-options/.test(d.message))).toBe(true);
    expect(r.diagnostics.some((d) => /sprout does not pair \*\.img names/.test(d.message))).toBe(true);
  });

  it('symlinks (Debian’s /vmlinuz) are not kernels: regular files only', async () => {
    t = makeCtx([esp({ 'sprout.toml': AUTO }), { fsId: 'vda:2', files: { 'boot/vmlinuz-6.1': K } }]);
    fs.symlinkSync('boot/vmlinuz-6.1', path.join(t.roots['vda:2']!, 'vmlinuz'));
    const r = await sproutSource(t.ctx);
    expect(r.entries.map((e) => e.title)).toEqual(['Boot Linux /boot/vmlinuz-6.1']);
  });

  it('a filesystem with BLS gets auto-bls-<H> entries booted natively, and no kernel scan', async () => {
    const conf =
      'title Debian\nversion 6.1\nlinux /vmlinuz-6.1\ninitrd /amd-ucode.img\ninitrd /initrd-6.1\noptions root=/dev/vda3\n';
    const r = await run(AUTO, [
      {
        fsId: 'vda:2',
        files: {
          'loader/entries/debian-6.1.conf': conf,
          'vmlinuz-6.1': K,
          'initrd-6.1': 'i',
          'amd-ucode.img': 'u',
          'vmlinuz-old': K,
        },
      },
    ]);
    expect(r.entries.map(nameOf)).toEqual(['debian-6.1']);
    const e = r.entries[0]!;
    expect(e.title).toBe('Debian 6.1');
    expect(targetOf(e)).toEqual<LinuxTarget>({
      kind: 'linux',
      kernel: { fsId: 'vda:2', path: '/vmlinuz-6.1' },
      initrds: [
        { fsId: 'vda:2', path: '/amd-ucode.img' },
        { fsId: 'vda:2', path: '/initrd-6.1' },
      ],
      cmdline: 'root=/dev/vda3',
    });
  });

  it('an entry without initrd does not read the partition root as one (docs/sprout.md §15.4)', async () => {
    const r = await run(AUTO, [
      { fsId: 'vda:2', files: { 'loader/entries/a.conf': 'linux /vmlinuz\noptions x\n', vmlinuz: K } },
    ]);
    expect(isBootable(r.entries[0]!)).toBe(true);
    expect((targetOf(r.entries[0]!) as LinuxTarget).initrds).toEqual([]);
  });

  it('BLS under /boot/loader on a root filesystem is found too (flagged)', async () => {
    const r = await run(AUTO, [
      {
        fsId: 'vda:2',
        files: { 'boot/loader/entries/f.conf': 'title F\nlinux /boot/vmlinuz-6\n', 'boot/vmlinuz-6': K },
      },
    ]);
    expect(r.entries.map(nameOf)).toEqual(['f']);
    expect((targetOf(r.entries[0]!) as LinuxTarget).kernel).toEqual({ fsId: 'vda:2', path: '/boot/vmlinuz-6' });
    expect(r.diagnostics.some((d) => /sprout only looks at \/loader/.test(d.message))).toBe(true);
  });

  it('Windows bootmgfw.efi becomes auto-windows-<H>, an EFI target for the VM path', async () => {
    const r = await run(AUTO, [], { 'EFI/Microsoft/Boot/bootmgfw.efi': EFI });
    expect(r.entries.map(nameOf)).toEqual([`auto-windows-${H('vda:1')}`]);
    expect(targetOf(r.entries[0]!)).toEqual({
      kind: 'efi',
      image: { fsId: 'vda:1', path: '/EFI/Microsoft/Boot/bootmgfw.efi' },
    });
  });

  it('without autoconfigure nothing is added; user tables are never replaced', async () => {
    expect((await run('', [{ fsId: 'vda:2', files: { vmlinuz: K } }])).entries).toEqual([]);
    const h = H('vda:1');
    const r = await run(`${AUTO}[entries.auto-windows-${h}]\ntitle = "Mine"\n`, [], {
      'EFI/Microsoft/Boot/bootmgfw.efi': EFI,
    });
    expect(r.entries.map((e) => e.title)).toEqual(['Mine']);
  });
});
