import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rewriteGrubenv } from '../../../src/discovery/config/grubenv';
import { scanGrub } from '../../../src/discovery/sources/grub';
import type { LinuxTarget } from '../../../src/discovery/model';
import { fixture, grubenv, kernels, makeCtx, type TestCtx } from './helpers';
import { isBootable, targetOf, type HasStatus } from '../../fixtures/status';

const UUID = '6b1d7f0e-2c4a-4e8b-9d1f-3a5c7e9b0d2f';
let t: TestCtx | undefined;
afterEach(() => t?.cleanup());

function debian(extra: Record<string, string> = {}): TestCtx {
  return makeCtx([
    { device: 'vda', partition: 1, type: 'vfat', uuid: '3A1F-9C2B', role: 'esp', files: { 'EFI/': '' } },
    {
      device: 'vda',
      partition: 2,
      uuid: UUID,
      label: 'debroot',
      files: {
        'boot/grub/grub.cfg': fixture('debian-bookworm.cfg'),
        'boot/grub/custom.cfg': fixture('debian-custom.cfg'),
        ...kernels('boot', ['6.1.0-17-amd64', '6.1.0-18-amd64']),
        ...extra,
      },
    },
  ]);
}

const lineOf = (needle: string): number =>
  fixture('debian-bookworm.cfg')
    .split('\n')
    .findIndex((l) => l.startsWith(needle)) + 1;
const lin = (e: HasStatus): LinuxTarget => targetOf(e) as LinuxTarget;

describe('Debian update-grub output', () => {
  it('lists the top entry, the Advanced submenu flattened and custom.cfg; not fwsetup', async () => {
    t = debian();
    const s = await scanGrub(t.ctx);
    expect(s.entries.map((e) => e.title)).toEqual([
      'Debian GNU/Linux',
      'Debian GNU/Linux, with Linux 6.1.0-18-amd64',
      'Debian GNU/Linux, with Linux 6.1.0-18-amd64 (recovery mode)',
      'Debian GNU/Linux, with Linux 6.1.0-17-amd64',
      'Debian GNU/Linux, with Linux 6.1.0-17-amd64 (recovery mode)',
      'Debian (custom, debug)',
    ]);
    const [top, adv18, rec18] = s.entries;
    expect(top!.sourceId).toBe(`grub:vda:2:/boot/grub/grub.cfg:gnulinux-simple-${UUID}`);
    expect(adv18!.sourceId).toBe(
      `grub:vda:2:/boot/grub/grub.cfg:gnulinux-advanced-${UUID}>gnulinux-6.1.0-18-amd64-advanced-${UUID}`,
    );
    expect(adv18!.group).toBe('Advanced options for Debian GNU/Linux');
    expect(top!.group).toBeUndefined();
    expect(lin(top!)).toEqual({
      kind: 'linux',
      kernel: { fsId: 'vda:2', path: '/boot/vmlinuz-6.1.0-18-amd64' },
      initrds: [{ fsId: 'vda:2', path: '/boot/initrd.img-6.1.0-18-amd64' }],
      cmdline: `root=UUID=${UUID} ro quiet`,
    });
    expect(lin(rec18!).cmdline).toBe(`root=UUID=${UUID} ro single`);
    expect(top!.origin).toMatchObject({
      source: 'grub',
      fsId: 'vda:2',
      file: '/boot/grub/grub.cfg',
      line: lineOf("menuentry 'Debian GNU/Linux' "),
      fsUuid: UUID,
    });
    expect(s.entries.every((e) => isBootable(e))).toBe(true);
    // Quoted argument with spaces: grub wraps it in double quotes (cmdline.c).
    expect(lin(s.entries[5]!).cmdline).toBe('root=LABEL=debroot ro "dyndbg=file drivers/* +p" systemd.log_level=debug');
    expect(s.settings).toMatchObject({ defaultId: top!.sourceId, timeout: { kind: 'seconds', seconds: 5 } });
    expect(
      s.diagnostics.some((d) => d.message.includes('UEFI Firmware Settings') && d.message.includes('fwsetup')),
    ).toBe(true);
  });

  it('next_entry from grubenv wins, once, and is recorded for clearing', async () => {
    t = debian({
      'boot/grub/grubenv': grubenv({
        next_entry: `gnulinux-advanced-${UUID}>gnulinux-6.1.0-17-amd64-recovery-${UUID}`,
        saved_entry: '0',
      }),
    });
    const s = await scanGrub(t.ctx);
    const c = s.configs[0]!;
    expect(s.entries.find((e) => e.sourceId === c.defaultId)?.title).toBe(
      'Debian GNU/Linux, with Linux 6.1.0-17-amd64 (recovery mode)',
    );
    expect(c.defaultReason).toContain('next_entry');
    expect(c.oneShot).toEqual({
      fsId: 'vda:2',
      path: '/boot/grub/grubenv',
      variable: 'next_entry',
      value: `gnulinux-advanced-${UUID}>gnulinux-6.1.0-17-amd64-recovery-${UUID}`,
      writeBack: '',
    });
    // The grub source proposes it, so discovery hands it to the boot path to consume.
    expect(s.settings).toMatchObject({ oneShot: c.oneShot });
    expect(c.saveEnv.map((x) => [...x.values])).toContainEqual([['next_entry', '']]);
  });

  it('next_entry is consumed exactly once: after the recorded save_env is applied, saved_entry rules again', async () => {
    const env = grubenv({
      saved_entry: `gnulinux-advanced-${UUID}>gnulinux-6.1.0-17-amd64-advanced-${UUID}`,
      next_entry: `gnulinux-simple-${UUID}`,
    });
    t = debian({ 'boot/grub/grubenv': env });
    const first = await scanGrub(t.ctx);
    expect(first.entries.find((e) => e.sourceId === first.settings?.defaultId)?.title).toBe('Debian GNU/Linux');
    // Apply what the config recorded (save_env next_entry with next_entry="") the way the boot
    // path will: an in-place rewrite of the 1024-byte block (here on the test tree).
    const intent = first.configs[0]!.saveEnv.find((x) => x.values.has('next_entry'))!;
    const file = path.join(t.root, 'vda-2', intent.path);
    const r = rewriteGrubenv(fs.readFileSync(file), new Map([['next_entry', intent.values.get('next_entry')!]]));
    if (!r.ok) throw new Error(r.error);
    fs.writeFileSync(file, r.block);
    // This config's header uses default="0" when next_entry is empty; saved_entry is not read.
    const second = await scanGrub(t.ctx);
    expect(second.configs[0]!.oneShot).toBeUndefined();
    expect(second.settings?.defaultId).toBe(second.entries[0]!.sourceId);
    expect(second.configs[0]!.defaultReason).toContain('default="0"');
  });

  it('recordfail in grubenv raises the timeout to 30 s (header logic runs)', async () => {
    t = debian({ 'boot/grub/grubenv': grubenv({ recordfail: '1' }) });
    const s = await scanGrub(t.ctx);
    expect(s.settings?.timeout).toEqual({ kind: 'seconds', seconds: 30 });
    expect(s.configs[0]!.oneShot).toBeUndefined();
  });
});
