// End-to-end, the boot issue's case 2, one disk per entry source: a Debian-style grub (ESP
// stub that searches /boot by fs UUID and configfile's its grub.cfg, default named by title,
// two initrds), sprout.toml (extractor finding the kernel partition, chainload with
// linux-initrd, default-entry sorting second), and real UKIs (loader.conf default names the
// one sorting second). The product initramfs boots each with tendril.mode=boot under QEMU
// TCG; the *target* kernel reports its cmdline and initrd pieces; every disk is unchanged.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostKernel } from '../../initramfs/host';
import {
  LOG_DIR,
  type QemuRun,
  privateCopy,
  productInitramfs,
  runQemu,
  sha256File,
  targetReport,
} from '../fixtures/boot';
import { grubDisk, sproutDisk, ukiDisk } from '../fixtures/boot-formats';

interface Booted {
  readonly run: QemuRun;
  readonly pristine: string;
  readonly before: string;
  readonly after: string;
}

const copies: string[] = [];
afterAll(() => {
  for (const c of copies) fs.rmSync(path.dirname(c), { recursive: true, force: true });
});

/** Boot a private copy of `img`, stopping QEMU as soon as the target finished reporting. */
async function boot(img: string, name: string): Promise<Booted> {
  const initramfs = productInitramfs();
  const pristine = sha256File(img);
  const disk = privateCopy(img);
  copies.push(disk);
  const before = sha256File(disk);
  const run = await runQemu({
    kernel: hostKernel().vmlinuz,
    initrd: initramfs,
    append: 'console=ttyS0 quiet tendril.mode=boot',
    disks: [disk],
    timeoutMs: 300_000,
    until: /TARGET-DONE/,
    logFile: path.join(LOG_DIR, `${name}.log`),
  });
  if (!/TARGET-DONE/.test(run.output)) console.error(`${name}:\n${run.output.slice(-6000)}`);
  return { run, pristine, before, after: sha256File(disk) };
}

function unchanged(b: Booted): void {
  expect(b.after).toBe(b.before);
  expect(b.before).toBe(b.pristine);
}

describe('each entry format boots its default through kexec', () => {
  it('grub: ESP stub -> search --fs-uuid -> configfile; default by title; both initrds', async () => {
    const b = await boot(grubDisk(), 'boot-formats-grub');
    const t = targetReport(b.run.output);
    expect(b.run.timedOut).toBe(false);
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain('tendril.test=grub');
    expect(t.cmdline).not.toContain('tendril.test=grub-decoy');
    expect(t.cmdline).toContain('ro');
    expect(t.files['/second-initrd-marker']).toBe('second-piece-arrived');
    unchanged(b);
  }, 600_000);

  it('sprout: extractor-located kernel, options and linux-initrd; default-entry sorting second', async () => {
    const b = await boot(sproutDisk(), 'boot-formats-sprout');
    const t = targetReport(b.run.output);
    expect(b.run.timedOut).toBe(false);
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain('tendril.test=sprout');
    expect(t.cmdline).toContain('sprout.extracted=yes');
    expect(t.cmdline).not.toContain('tendril.test=sprout-decoy');
    unchanged(b);
  }, 600_000);

  it('UKI: loader.conf default picks target.efi; its .cmdline, .ucode and .initrd arrive', async () => {
    const b = await boot(ukiDisk(), 'boot-formats-uki');
    const t = targetReport(b.run.output);
    expect(b.run.timedOut).toBe(false);
    expect(t.booted).toBe(true);
    expect(t.cmdline).toContain('tendril.test=uki');
    expect(t.cmdline).not.toContain('tendril.test=uki-decoy');
    expect(t.cmdline.filter((x) => x.startsWith('console='))).toEqual(['console=ttyS0']);
    expect(t.files['/kernel/x86/microcode/GenuineIntel.bin']).toBe('ucode-piece-arrived');
    unchanged(b);
  }, 600_000);
});
