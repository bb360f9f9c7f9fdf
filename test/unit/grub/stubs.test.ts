import { afterEach, describe, expect, it } from 'vitest';
import type { LinuxTarget } from '../../../src/discovery/model';
import { scanGrub } from '../../../src/discovery/sources/grub';
import { fixture, grubenv, kernels, makeCtx, type TestCtx } from './helpers';
import { isBootable, targetOf, type HasStatus } from '../../fixtures/status';

let t: TestCtx | undefined;
afterEach(() => t?.cleanup());
const lin = (e: HasStatus): LinuxTarget => targetOf(e) as LinuxTarget;

describe('Ubuntu: ESP stub → configfile on a separate /boot', () => {
  const ROOT = '5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a';
  const BOOT = '9e2f4c1a-7b3d-4e5f-8a6b-1c2d3e4f5a6b';
  const make = (env: Record<string, string>): TestCtx =>
    makeCtx([
      {
        device: 'nvme0n1',
        partition: 1,
        type: 'vfat',
        uuid: 'C0DE-1234',
        role: 'esp',
        files: { 'EFI/ubuntu/grub.cfg': fixture('ubuntu-esp-stub.cfg'), 'EFI/ubuntu/shimx64.efi': 'x' },
      },
      {
        device: 'nvme0n1',
        partition: 2,
        uuid: BOOT,
        files: {
          'grub/grub.cfg': fixture('ubuntu-noble.cfg'),
          'grub/grubenv': grubenv(env),
          'memtest86+x64.efi': 'memtest',
          ...kernels('', ['6.8.0-45-generic', '6.8.0-41-generic']),
        },
      },
      { device: 'nvme0n1', partition: 3, uuid: ROOT, files: { 'etc/': '' } },
    ]);

  it('evaluates /grub/grub.cfg once, through the stub, with $vt_handoff from the gfxmode function', async () => {
    t = make({ saved_entry: `Advanced options for Ubuntu>Ubuntu, with Linux 6.8.0-41-generic` });
    const s = await scanGrub(t.ctx);
    expect(s.configs).toHaveLength(1);
    expect(s.configs[0]!.probed).toEqual({ fsId: 'nvme0n1:1', path: '/EFI/ubuntu/grub.cfg' });
    expect(s.configs[0]!.file).toEqual({ fsId: 'nvme0n1:2', path: '/grub/grub.cfg' });
    expect(s.entries.map((e) => e.title)).toEqual([
      'Ubuntu',
      'Ubuntu, with Linux 6.8.0-45-generic',
      'Ubuntu, with Linux 6.8.0-45-generic (recovery mode)',
      'Ubuntu, with Linux 6.8.0-41-generic',
      'Memory test (memtest86+x64.efi)',
    ]);
    expect(new Set(s.entries.map((e) => e.sourceId)).size).toBe(5);
    expect(s.entries[0]!.origin.file).toBe('/grub/grub.cfg');
    expect(s.entries[0]!.sourceId.startsWith('grub:nvme0n1:2:/grub/grub.cfg:')).toBe(true);
    expect(lin(s.entries[0]!)).toEqual({
      kind: 'linux',
      kernel: { fsId: 'nvme0n1:2', path: '/vmlinuz-6.8.0-45-generic' },
      initrds: [{ fsId: 'nvme0n1:2', path: '/initrd.img-6.8.0-45-generic' }],
      cmdline: `root=UUID=${ROOT} ro quiet splash vt.handoff=7`,
    });
    expect(lin(s.entries[2]!).cmdline).toBe(`root=UUID=${ROOT} ro recovery nomodeset dis_ucode_ldr`);
    // saved_entry by title path through the submenu; hidden timeout style.
    expect(s.entries.find((e) => e.sourceId === s.settings?.defaultId)?.title).toBe(
      'Ubuntu, with Linux 6.8.0-41-generic',
    );
    expect(s.configs[0]!.defaultReason).toContain('saved_entry');
    expect(s.settings?.timeout).toEqual({ kind: 'menu-hidden' });
  });

  it('recordfail=1 in grubenv: 30 s menu and text gfx mode (no vt.handoff)', async () => {
    t = make({ recordfail: '1' });
    const s = await scanGrub(t.ctx);
    expect(s.settings?.timeout).toEqual({ kind: 'seconds', seconds: 30 });
    expect(lin(s.entries[0]!).cmdline).toBe(`root=UUID=${ROOT} ro quiet splash`);
    // saved_entry unset → default "" → entry 0.
    expect(s.settings?.defaultId).toBe(s.entries[0]!.sourceId);
  });
});

describe('Fedora: ESP stub with search --set=dev + export $prefix, blscfg with $kernelopts', () => {
  const BOOT = '2b7c9d1e-4f3a-4b6c-9e8d-7a6b5c4d3e2f';
  const MID = '6a9857a393724b7a981ebb5b8495b9ea';
  const bls = (v: string, title: string, opts = '$kernelopts $tuned_params'): string =>
    `title ${title}\nversion ${v}\nlinux /vmlinuz-${v}\ninitrd /initramfs-${v}.img $tuned_initrd\noptions ${opts}\nid fedora-20191030-${v}\ngrub_users $grub_users\ngrub_arg --unrestricted\ngrub_class kernel\n`;
  const make = (env: Record<string, string>, extra: Record<string, string> = {}): TestCtx =>
    makeCtx([
      {
        device: 'sda',
        partition: 1,
        type: 'vfat',
        uuid: '5A3C-1E2F',
        role: 'esp',
        files: { 'EFI/fedora/grub.cfg': fixture('fedora-esp-stub.cfg') },
      },
      {
        device: 'sda',
        partition: 2,
        uuid: BOOT,
        files: {
          'grub2/grub.cfg': fixture('fedora31-blscfg.cfg'),
          'grub2/grubenv': grubenv(env),
          [`loader/entries/${MID}-5.3.7-301.fc31.x86_64.conf`]: bls(
            '5.3.7-301.fc31.x86_64',
            'Fedora (5.3.7-301.fc31.x86_64) 31 (Thirty One)',
          ),
          [`loader/entries/${MID}-5.5.10-200.fc31.x86_64.conf`]: bls(
            '5.5.10-200.fc31.x86_64',
            'Fedora (5.5.10-200.fc31.x86_64) 31 (Thirty One)',
          ),
          [`loader/entries/${MID}-0-rescue.conf`]: `title Fedora (0-rescue-${MID}) 31 (Thirty One)\nversion 0-rescue-${MID}\nlinux /vmlinuz-0-rescue-${MID}\ninitrd /initramfs-0-rescue-${MID}.img\noptions $kernelopts\n`,
          [`vmlinuz-0-rescue-${MID}`]: 'k',
          [`initramfs-0-rescue-${MID}.img`]: 'i',
          'tuned.img': 't',
          ...kernels('', ['5.3.7-301.fc31.x86_64', '5.5.10-200.fc31.x86_64'], (v) => `initramfs-${v}.img`),
          ...extra,
        },
      },
    ]);

  it('expands grubenv variables in options and initrd, newest first, default from saved_entry stem', async () => {
    t = make({
      saved_entry: `${MID}-5.3.7-301.fc31.x86_64`,
      kernelopts: 'root=/dev/mapper/fedora-root ro rd.lvm.lv=fedora/root rhgb quiet',
      tuned_params: 'skew_tick=1',
      tuned_initrd: '/tuned.img',
      boot_success: '1',
    });
    const s = await scanGrub(t.ctx);
    expect(s.configs).toHaveLength(1);
    expect(s.entries.map((e) => e.sourceId)).toEqual([
      `${MID}-5.5.10-200.fc31.x86_64.conf`,
      `${MID}-5.3.7-301.fc31.x86_64.conf`,
      `${MID}-0-rescue.conf`,
    ]);
    const e = s.entries[1]!;
    expect(e.origin).toMatchObject({
      source: 'grub',
      fsId: 'sda:2',
      file: `/loader/entries/${MID}-5.3.7-301.fc31.x86_64.conf`,
    });
    expect(e.version).toBe('5.3.7-301.fc31.x86_64');
    expect(lin(e)).toEqual({
      kind: 'linux',
      kernel: { fsId: 'sda:2', path: '/vmlinuz-5.3.7-301.fc31.x86_64' },
      initrds: [
        { fsId: 'sda:2', path: '/initramfs-5.3.7-301.fc31.x86_64.img' },
        { fsId: 'sda:2', path: '/tuned.img' },
      ],
      cmdline: 'root=/dev/mapper/fedora-root ro rd.lvm.lv=fedora/root rhgb quiet skew_tick=1',
    });
    expect(s.settings?.defaultId).toBe(`${MID}-5.3.7-301.fc31.x86_64.conf`);
    expect(s.entries.every((x) => isBootable(x))).toBe(true);
  });

  it('without kernelopts in grubenv the grub.cfg fallback is used; undefined $tuned_* vanish', async () => {
    t = make({});
    const s = await scanGrub(t.ctx);
    expect(lin(s.entries[0]!).cmdline).toBe(
      'root=/dev/mapper/fedora-root ro resume=/dev/mapper/fedora-swap rd.lvm.lv=fedora/root rhgb quiet',
    );
    expect(lin(s.entries[0]!).initrds).toHaveLength(1);
    // saved_entry unset: default "" → entry 0 (the newest).
    expect(s.settings?.defaultId).toBe(s.entries[0]!.sourceId);
  });
});
