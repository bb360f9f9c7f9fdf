// End-to-end, case 2 (grub): a Debian-style /boot partition with grub/grub.cfg; tendril
// evaluates it, boots its default menuentry by kexec, and the target reports what arrived.
import { beforeAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import { type E2eBoot, e2eBoot, targetInitrds, targetReport } from '../fixtures/boot';
import { buildGptDisk } from '../fixtures/images';

let r: E2eBoot;
beforeAll(async () => {
  const t = targetInitrds();
  const cfg = [
    'set default=1',
    'set timeout=1',
    "menuentry 'Grub first' {",
    '  linux /vmlinuz tendril.test=grub-first',
    '  initrd /initrd-main.img',
    '}',
    "menuentry 'Grub target' {",
    '  linux /vmlinuz tendril.test=grub-entry BOOT_IMAGE=/vmlinuz',
    '  initrd /initrd-main.img /initrd-second.img',
    '}',
    '',
  ].join('\n');
  const img = buildGptDisk([
    {
      type: 'linux',
      sizeMiB: 48,
      fs: {
        kind: 'ext4',
        label: 'boot',
        files: {
          'grub/grub.cfg': cfg,
          vmlinuz: { copyOf: hostKernel().vmlinuz },
          'initrd-main.img': t.main,
          'initrd-second.img': t.second,
        },
      },
    },
  ]);
  r = await e2eBoot(img, 'boot-grub');
}, 900_000);

describe('grub.cfg default entry boots through kexec', () => {
  it('boots menuentry 1 (set default=1) with both initrds, BOOT_IMAGE stripped', () => {
    const t = targetReport(r.run.output);
    if (!t.booted) console.error(r.run.output.slice(-6000));
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain('tendril.test=grub-entry');
    expect(t.cmdline.some((x) => x.startsWith('BOOT_IMAGE='))).toBe(false);
    expect(t.files['/second-initrd-marker']).toBe('second-piece-arrived');
  });
  it('the disk image is byte-for-byte unchanged', () => {
    expect(r.after).toBe(r.before);
    expect(r.before).toBe(r.pristine);
  });
});
